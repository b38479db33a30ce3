"""The ``actorkit`` command: a thin shell over the library.

Exit codes follow ruff and mypy: 0 clean, 1 problems found, 2 the command could not run
(a wrong argument prints the usage of the command it was given to); 141 when the output
was cut off by a closed pipe, as for any program SIGPIPE ends.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .parser import parser as _make_parser

__all__ = ["main"]


#: The exit code of a command whose output was cut off by a closed pipe (``| head``): what
#: the shell reports for a program SIGPIPE ends, as `yes | head` ends `yes`.
BROKEN_PIPE = 128 + 13


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The parsed arguments; on an unknown one, the usage of the command it was given to (not
    of ``actorkit`` as a whole) and exit code 2."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        commands = next(action.choices for action in parser._actions
                        if isinstance(action, argparse._SubParsersAction))
        command = commands.get(args.command, parser) if args.command else parser
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``actorkit`` command line; returns the exit code."""
    parser = _make_parser()
    try:
        args = _parse(parser, argv)  # --help and --version print too
        if getattr(args, "run", None) is None:
            parser.print_help()
            return 2
        code = int(args.run(args))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Whoever read the output has all they wanted: stop without a traceback, and point
        # stdout at nothing so that the interpreter's own flush at exit stays quiet too.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE

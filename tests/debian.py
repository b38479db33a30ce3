"""Debian packages some tests need (Graphviz's ``dot``, Chromium), installed on first use as
tests/js installs its npm packages: CI runs the README's test command alone, as root.

``ensure(program, *packages)`` returns the program's path, installing the packages with
apt-get when it is missing and this process may (root). Elsewhere the test is skipped with the
command that installs them, except in CI (``CI`` set), where a missing program fails it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

#: Seconds apt-get may take to update its lists, and to install (Chromium is large).
UPDATE_TIMEOUT = 300
INSTALL_TIMEOUT = 1200
#: Tries when another apt-get holds dpkg's lock (another test run installing at that moment).
TRIES = 4
_LOCKED = ("Could not get lock", "is locked", "Unable to lock", "Unable to acquire")

_failed: dict[str, str] = {}  # program -> why it could not be installed (tried once a run)


def ensure(program: str, *packages: str) -> str:
    """The path of ``program``, after installing the Debian ``packages`` that provide it if
    it is missing. Skips the test with the install command when this process cannot install
    them and ``CI`` is not set; fails it otherwise."""
    found = shutil.which(program)
    if found is not None:
        return found
    command = f"apt-get install -y --no-install-recommends {' '.join(packages)}"
    if program in _failed:
        pytest.fail(_failed[program])
    if os.geteuid() != 0:
        if not os.environ.get("CI"):
            pytest.skip(f"{program} is not installed: install it with `sudo {command}`")
        pytest.fail(f"{program} is not installed and CI does not run as root to install it: "
                    f"add `{command}` to the CI machine")
    why = _install(packages)
    found = shutil.which(program)
    if found is None:
        _failed[program] = f"{program} could not be installed with `{command}`: {why}"
        pytest.fail(_failed[program])
    return found


def _install(packages: tuple[str, ...]) -> str:
    """Run apt-get update and install, trying again while dpkg's lock is held; what went
    wrong, or "" when it went right."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # apt-get waits for the lock itself, this long, before it gives up on a try
    wait = ["-o", "DPkg::Lock::Timeout=120"]
    steps = [(["apt-get", *wait, "update", "-q"], UPDATE_TIMEOUT),
             (["apt-get", *wait, "install", "-y", "-q", "--no-install-recommends", *packages],
              INSTALL_TIMEOUT)]
    why = ""
    for attempt in range(TRIES):
        for argv, timeout in steps:
            try:
                done = subprocess.run(argv, env=env, capture_output=True, text=True,
                                      timeout=timeout, stdin=subprocess.DEVNULL, check=False)
            except subprocess.TimeoutExpired:
                return f"`{' '.join(argv)}` took more than {timeout} s"
            if done.returncode != 0:
                why = (done.stderr.strip() or done.stdout.strip())[-1000:]
                break
        else:
            return ""
        if not any(sign in why for sign in _LOCKED):
            return why
        time.sleep(5 * (attempt + 1))
    return why

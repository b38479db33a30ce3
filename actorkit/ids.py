"""Actor ids: what one may be.

An actor id is an opaque key, compared exactly (code point for code point, the way a token's
``jti`` claim is): 1 to :data:`MAX_ACTOR_ID_BYTES` bytes of UTF-8, with no control character
(C0, DEL, C1), no line or paragraph separator, no lone surrogate and no ``/``. Spaces and any
other printable character are allowed, and ids are not normalised: ``"é"`` written as one code
point and as ``e`` plus a combining accent are two ids. The library (:meth:`Actor.spawn`), the
tokens it mints and the server all hold ids to this one rule.
"""

from __future__ import annotations

import re

from .errors import ActorIdError

__all__ = ["ACTOR_ID_RULE", "MAX_ACTOR_ID_BYTES", "check_actor_id"]

#: The longest actor id, in bytes of UTF-8 (a UUID is 36).
MAX_ACTOR_ID_BYTES = 256

#: What an id may be, in the words every refusal ends with.
ACTOR_ID_RULE = (f"an actor id is 1 to {MAX_ACTOR_ID_BYTES} bytes of UTF-8 with no control "
                 f"characters and no '/' (letters, digits, spaces, '-', '_', '.', ':' and the "
                 f"like)")

# Control characters would end up in logs and headers (CRLF, NUL); U+2028/9 split log lines
# too; a lone surrogate cannot be stored as UTF-8; '/' separates the path's segments, and an
# id holding one (as %2F) would reach a different actor behind a proxy that decodes it.
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff/]")


def check_actor_id(actor_id: object) -> None:
    """Refuse an id that breaks the rule above with :class:`~actorkit.ActorIdError` (a
    ``ValueError``) saying what is wrong and what an id may be."""
    if not isinstance(actor_id, str) or not actor_id:
        raise ActorIdError(f"Invalid actor id: {ACTOR_ID_RULE}")
    size = len(actor_id)  # characters: never more than the bytes of UTF-8
    if size <= MAX_ACTOR_ID_BYTES and actor_id.isascii() and actor_id.isprintable() and \
            "/" not in actor_id:
        return  # the common case, without the regular expression: printable ASCII
    if size <= MAX_ACTOR_ID_BYTES:
        bad = _REFUSED.search(actor_id)
        if bad is not None:
            char = bad.group()
            what = "'/'" if char == "/" else f"U+{ord(char):04X}"
            raise ActorIdError(f"Invalid actor id: it holds {what} at character "
                               f"{bad.start() + 1}; {ACTOR_ID_RULE}")
        if size * 4 <= MAX_ACTOR_ID_BYTES:  # a code point is at most 4 bytes
            return
        size = len(actor_id.encode())
    if size > MAX_ACTOR_ID_BYTES:
        raise ActorIdError(f"Invalid actor id: it is longer than {MAX_ACTOR_ID_BYTES} bytes; "
                           f"{ACTOR_ID_RULE}")

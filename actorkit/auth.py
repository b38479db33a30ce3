"""Access tokens, compatible with Actor Kit's: HS256 JWTs that bind one caller to one actor.

A token's claims are ``jti`` (the actor id), ``aud`` (the actor type), ``sub``
(``"{caller_type}-{caller_id}"``, or ``"anonymous"``) and ``exp``; tokens minted here verify in
Actor Kit and the other way round. Verification pins HS256 and requires all four claims.
Needs the ``server`` extra (PyJWT).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import jwt

from .errors import AuthError
from .events import CALLER_TYPES, Caller
from .ids import check_actor_id

__all__ = ["DEFAULT_EXPIRY", "MIN_KEY_BYTES", "TokenVerifier", "check_signing_key",
           "create_access_token", "parse_access_token", "parse_subject"]

#: How long a token lives unless told otherwise: Actor Kit's 30 days.
DEFAULT_EXPIRY = timedelta(days=30)

#: RFC 7518 §3.2: an HS256 key must be at least as long as the hash, 256 bits.
MIN_KEY_BYTES = 32

_REQUIRED = ["exp", "jti", "sub", "aud"]


def check_signing_key(signing_key: str) -> None:
    """Refuse a key HS256 must not use: missing, or shorter than 32 bytes."""
    if not signing_key:
        raise ValueError("no signing key: set ACTOR_KIT_SECRET (generate one with "
                         "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    if len(signing_key.encode()) < MIN_KEY_BYTES:
        raise ValueError(f"the signing key is {len(signing_key.encode())} bytes; HS256 needs at "
                         f"least {MIN_KEY_BYTES} (RFC 7518): generate one with "
                         f"`python -c 'import secrets; print(secrets.token_urlsafe(32))'`")


def create_access_token(signing_key: str, actor_id: str, actor_type: str, caller_id: str,
                        caller_type: str, *, expires_in: timedelta | float = DEFAULT_EXPIRY,
                        now: float | None = None) -> str:
    """A token for caller ``caller_type``/``caller_id`` to reach ``actor_type``/``actor_id``,
    expiring after ``expires_in`` (a timedelta or seconds)."""
    check_signing_key(signing_key)
    check_actor_id(actor_id)  # a token for an id the server refuses would be of no use
    caller = Caller(caller_type, caller_id)  # type: ignore[arg-type]
    ttl = expires_in.total_seconds() if isinstance(expires_in, timedelta) else float(expires_in)
    issued = time.time() if now is None else now
    claims = {"jti": actor_id, "sub": f"{caller.type}-{caller.id}", "aud": actor_type,
              "exp": int(issued + ttl)}
    return jwt.encode(claims, signing_key, algorithm="HS256")


def parse_subject(subject: str) -> Caller:
    """The caller a token's ``sub`` names: ``"client-user-42"`` is client ``user-42`` (ids may
    contain hyphens) and ``"anonymous"`` is client ``anonymous``, as in Actor Kit."""
    if subject == "anonymous":
        return Caller.client("anonymous")
    kind, sep, ident = subject.partition("-")
    if not sep or kind not in CALLER_TYPES or not ident:
        raise AuthError(f"access token subject {subject!r} must look like "
                        f"'client-<id>' or 'service-<id>'")
    return Caller(kind, ident)


def parse_access_token(token: str, *, signing_key: str, actor_type: str,
                       actor_id: str) -> Caller:
    """The caller an access token speaks for, if it is valid for ``actor_type``/``actor_id``.

    Raises :class:`~actorkit.AuthError` with the reason otherwise.
    """
    return _verify(token, signing_key, actor_type, actor_id)[0]


def _verify(token: str, signing_key: str, actor_type: str,
            actor_id: str) -> tuple[Caller, float]:
    if not token:
        raise AuthError("no access token: send `Authorization: Bearer <token>` (HTTP) or "
                        "`?accessToken=<token>` (WebSocket)")
    try:
        claims = jwt.decode(token, signing_key, algorithms=["HS256"], audience=actor_type,
                            options={"require": _REQUIRED})
    except jwt.ExpiredSignatureError:
        raise AuthError("access token expired: ask for a new one") from None
    except jwt.InvalidAudienceError:
        raise AuthError(f"Expected accessToken audience to match actor type: {actor_type}"
                        ) from None
    except jwt.MissingRequiredClaimError as e:
        raise AuthError(f"access token has no `{e.claim}` claim") from None
    except jwt.InvalidAlgorithmError:
        raise AuthError("access token must be signed with HS256") from None
    except jwt.InvalidSignatureError:
        raise AuthError("access token signature does not verify: was it signed with this "
                        "server's ACTOR_KIT_SECRET?") from None
    except jwt.PyJWTError as e:
        raise AuthError(f"access token is not valid: {e}") from None
    if claims["jti"] != actor_id:
        raise AuthError(f"Expected JTI on accessToken to match actor id: {actor_id}")
    caller = parse_subject(str(claims["sub"]))
    if caller.type in ("system", "actor"):
        # the runtime itself, or an actor telling another: only the runtime speaks for them
        raise AuthError(f"{caller.type} callers are the runtime's own: a token cannot speak "
                        f"for one; use a client-<id> or service-<id> subject")
    return caller, float(claims["exp"])


class TokenVerifier:
    """:func:`parse_access_token` with a memory: a client sends the same token with every
    request, and checking an HS256 signature costs more than the rest of a small event. A
    remembered token is still refused the moment it expires."""

    def __init__(self, signing_key: str, *, size: int = 4096,
                 clock: Callable[[], float] = time.time) -> None:
        check_signing_key(signing_key)
        self._key = signing_key
        self._size = size
        self._clock = clock
        self._known: dict[tuple[str, str, str], tuple[Caller, float]] = {}

    def verify(self, token: str, actor_type: str, actor_id: str) -> Caller:
        """The caller ``token`` speaks for at ``actor_type``/``actor_id`` (or AuthError)."""
        return self.verify_until(token, actor_type, actor_id)[0]

    def verify_until(self, token: str, actor_type: str, actor_id: str) -> tuple[Caller, float]:
        """:meth:`verify`, and how many seconds from now the token expires (its ``exp``)."""
        now = self._clock()
        key = (token, actor_type, actor_id)
        known = self._known.get(key)
        if known is not None:
            if now < known[1]:
                return known[0], known[1] - now
            del self._known[key]
        caller, expires = _verify(token, self._key, actor_type, actor_id)
        if len(self._known) >= self._size:
            del self._known[next(iter(self._known))]
        self._known[key] = (caller, expires)
        return caller, expires - now

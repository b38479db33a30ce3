"""Access tokens: Actor Kit's claims, and every way a token can be wrong."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from actorkit import AuthError, Caller
from actorkit.auth import create_access_token, parse_access_token, parse_subject

KEY = "k" * 40


def claims(token: str) -> tuple[dict, dict]:
    head, body, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (json.loads(base64.urlsafe_b64decode(pad(head))),
            json.loads(base64.urlsafe_b64decode(pad(body))))


def test_tokens_carry_actor_kits_claims():
    token = create_access_token(KEY, "list-1", "todo", "user-42", "client", now=1000)
    header, body = claims(token)
    assert header["alg"] == "HS256"
    assert body == {"jti": "list-1", "sub": "client-user-42", "aud": "todo",
                    "exp": 1000 + 30 * 24 * 3600}


def test_a_token_names_its_caller():
    token = create_access_token(KEY, "list-1", "todo", "user-42", "service")
    assert parse_access_token(token, signing_key=KEY, actor_type="todo",
                              actor_id="list-1") == Caller.service("user-42")


@pytest.mark.parametrize(("subject", "caller"), [
    ("anonymous", Caller.client("anonymous")),
    ("client-a-b-c", Caller.client("a-b-c")),
    ("service-sync", Caller.service("sync")),
])
def test_subjects_parse_as_actor_kit_parses_them(subject, caller):
    assert parse_subject(subject) == caller


@pytest.mark.parametrize("subject", ["client", "client-", "user-1", "nobody", ""])
def test_malformed_subjects_are_refused(subject):
    with pytest.raises(AuthError, match="must look like"):
        parse_subject(subject)


def forge(**overrides) -> str:
    # Made when the tests are collected, which can be minutes before they run.
    body = {"jti": "list-1", "sub": "client-alice", "aud": "todo", "exp": time.time() + 3600}
    body.update(overrides)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, KEY, algorithm="HS256")


@pytest.mark.parametrize(("token", "words"), [
    ("", "no access token"),
    ("not.a.token", "not valid"),
    (jwt.encode({"jti": "list-1", "sub": "client-a", "aud": "todo", "exp": time.time() + 3600},
                "x" * 40, algorithm="HS256"), "signature does not verify"),
    (forge(exp=time.time() - 5), "expired"),
    (forge(aud="game"), "audience to match actor type: todo"),
    (forge(jti="list-2"), "JTI on accessToken to match actor id: list-1"),
    (forge(sub="admin-alice"), "must look like"),
    (forge(sub="system-list-1"), "system callers"),
    (forge(sub="actor-lobby/main"), "actor callers are the runtime's own"),
    (forge(exp=None), "no `exp` claim"),
    (forge(jti=None), "no `jti` claim"),
    (jwt.encode({"jti": "list-1", "sub": "client-a", "aud": "todo"}, None, algorithm="none"),
     "must be signed with HS256"),
    (jwt.encode({"jti": "list-1", "sub": "client-a", "aud": "todo", "exp": time.time() + 3600},
                KEY * 2, algorithm="HS512"), "must be signed with HS256"),
])
def test_bad_tokens_are_refused_with_the_reason(token, words):
    with pytest.raises(AuthError) as info:
        parse_access_token(token, signing_key=KEY, actor_type="todo", actor_id="list-1")
    assert words in str(info.value)


@pytest.mark.parametrize("key", ["", "short", "x" * 31])
def test_keys_hs256_must_not_use_are_refused(key):
    with pytest.raises(ValueError, match="signing key"):
        create_access_token(key, "a", "todo", "b", "client")


def test_a_remembered_token_still_expires():
    from actorkit.auth import TokenVerifier

    verifier = TokenVerifier(KEY)
    token = create_access_token(KEY, "list-1", "todo", "alice", "client", expires_in=1)
    assert verifier.verify(token, "todo", "list-1") == Caller.client("alice")
    assert verifier.verify(token, "todo", "list-1") == Caller.client("alice")  # remembered
    with pytest.raises(AuthError, match="JTI"):
        verifier.verify(token, "todo", "list-2")  # remembered per actor, not per token
    time.sleep(2.1)  # exp has whole seconds: 1 s from now, rounded down, is at most 1 s ahead
    with pytest.raises(AuthError, match="expired"):
        verifier.verify(token, "todo", "list-1")


def test_a_verifier_says_how_long_a_token_has_left():
    from actorkit.auth import TokenVerifier

    now = [1_000_000.0]
    verifier = TokenVerifier(KEY, clock=lambda: now[0])
    token = create_access_token(KEY, "list-1", "todo", "alice", "client", expires_in=3600,
                                now=time.time())
    exp = claims(token)[1]["exp"]
    now[0] = exp - 100.5
    assert verifier.verify_until(token, "todo", "list-1") == (Caller.client("alice"), 100.5)
    now[0] = exp - 10.0  # remembered: the same answer, from the clock of now
    assert verifier.verify_until(token, "todo", "list-1") == (Caller.client("alice"), 10.0)


@pytest.mark.parametrize("actor_id", ["", "a/b", "a\r\nb", "x" * 257])
def test_no_token_is_minted_for_an_id_the_server_refuses(actor_id):
    from actorkit import ActorIdError

    with pytest.raises(ActorIdError, match="an actor id is 1 to 256 bytes"):
        create_access_token(KEY, actor_id, "todo", "alice", "client")

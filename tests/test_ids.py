"""Actor ids: the one rule the library, its tokens and the server hold them to."""

from __future__ import annotations

import pytest

from actorkit import ActorIdError
from actorkit.ids import ACTOR_ID_RULE, MAX_ACTOR_ID_BYTES, check_actor_id


@pytest.mark.parametrize("actor_id", [
    "list-1", "7f0c3a52-8d4e-4b8e-9d7e-3f2a1b0c9d8e", "my list", " padded ", "café", "日本語",
    "🎈", "\ufffd", "a:b.c_d~e+f@g=h&i?j#k%l", "\\", "x" * MAX_ACTOR_ID_BYTES,
    "é" * (MAX_ACTOR_ID_BYTES // 2), "🎈" * (MAX_ACTOR_ID_BYTES // 4), "cafe\u0301",
])
def test_printable_ids_up_to_the_byte_limit_are_allowed(actor_id):
    check_actor_id(actor_id)


@pytest.mark.parametrize(("actor_id", "words"), [
    ("", "Invalid actor id: an actor id is"),
    (None, "Invalid actor id: an actor id is"),
    (42, "Invalid actor id: an actor id is"),
    ("a\x00b", "U+0000 at character 2"),
    ("a\r\nb", "U+000D at character 2"),
    ("\x1b[31mred", "U+001B at character 1"),
    ("del\x7f", "U+007F"),
    ("c1\x85", "U+0085"),
    ("c1\x9f", "U+009F"),
    ("a\u2028b", "U+2028"),
    ("a\u2029b", "U+2029"),
    ("lone\ud800", "U+D800"),
    ("a/b", "holds '/' at character 2"),
    ("x" * (MAX_ACTOR_ID_BYTES + 1), "longer than 256 bytes"),
    ("é" * (MAX_ACTOR_ID_BYTES // 2 + 1), "longer than 256 bytes"),  # 129 characters
    ("🎈" * (MAX_ACTOR_ID_BYTES // 4 + 1), "longer than 256 bytes"),  # 65 characters
    ("x" * 10_000 + "\x00", "longer than 256 bytes"),
])
def test_other_ids_are_refused_saying_what_is_wrong_and_what_an_id_may_be(actor_id, words):
    with pytest.raises(ActorIdError) as info:
        check_actor_id(actor_id)
    assert words in str(info.value)
    assert str(info.value).endswith(ACTOR_ID_RULE)
    assert isinstance(info.value, ValueError)  # what Actor.spawn raised before for ""

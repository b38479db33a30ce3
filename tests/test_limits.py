"""Limits: defaults, environment variables, and refusals that name what to set."""

from __future__ import annotations

import pytest

from actorkit.limits import Limits, LimitsError, parse_bytes


@pytest.mark.parametrize(("text", "size"), [
    ("1048576", 1048576), ("512KiB", 512 * 1024), ("4M", 4 * 1024**2), ("1 GiB", 1024**3),
    ("2mb", 2 * 1024**2), ("7b", 7)])
def test_sizes_read_with_or_without_units(text, size):
    assert parse_bytes(text) == size


@pytest.mark.parametrize("text", ["", "1.5M", "-1", "4 parsecs", "M"])
def test_a_size_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError):
        parse_bytes(text)


def test_the_environment_sets_limits_and_given_values_win():
    env = {"ACTORKIT_MAX_BODY": "4MiB", "ACTORKIT_STEP_DEADLINE": "0.5",
           "ACTORKIT_MAX_HEADERS": "50", "ACTORKIT_MAX_WAIT": "inf"}
    limits = Limits.from_env(env, max_headers=20)
    assert (limits.max_body, limits.step_deadline, limits.max_headers, limits.max_wait) == \
        (4 * 1024**2, 0.5, 20, float("inf"))
    assert Limits.from_env({}) == Limits()


@pytest.mark.parametrize(("env", "value", "says"), [
    ("ACTORKIT_STEP_DEADLINE", "0", "a number of seconds above 0"),
    ("ACTORKIT_STEP_DEADLINE", "nan", "a number of seconds above 0"),
    ("ACTORKIT_MAX_BODY", "lots", "a size in bytes, like 1048576, 512KiB or 4MiB"),
    ("ACTORKIT_MAX_BODY", "0", "a size in bytes"),
    ("ACTORKIT_MAX_HEADERS", "1.5", "a whole number of at least 1")])
def test_a_limit_set_wrong_is_refused_naming_the_variable(env, value, says):
    with pytest.raises(LimitsError, match=f"{env} is {says}"):
        Limits.from_env({env: value})


def test_limits_made_in_python_are_checked_too():
    with pytest.raises(LimitsError, match="limit max_body is bytes of at least 1"):
        Limits(max_body=0)
    with pytest.raises(LimitsError, match="limit keep_alive is a number of seconds"):
        Limits().replace(keep_alive=-1)

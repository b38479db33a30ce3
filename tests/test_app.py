"""create_app's settings from the environment: where the store is, how durable, when idle
actors leave memory, and the clear error for each bad value."""

from __future__ import annotations

import pytest
from support import ROOT

from actorkit.server import create_app
from actorkit.server.app import ServerConfigError
from actorkit.store import SqliteStore

SECRET = "s" * 40


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("ACTORKIT_DURABILITY", "ACTORKIT_IDLE_AFTER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ACTORKIT_DB", str(tmp_path / "here.db"))


def system(**options):
    return create_app(ROOT, secret=SECRET, **options).state.system


def test_the_store_is_sqlite_where_actorkit_db_says(tmp_path):
    store = system().store
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "here.db"
    assert store.durability == "process"


def test_power_durability(monkeypatch):
    monkeypatch.setenv("ACTORKIT_DURABILITY", "power")
    assert system().store.durability == "power"


def test_a_bad_durability_is_refused(monkeypatch):
    monkeypatch.setenv("ACTORKIT_DURABILITY", "max")
    with pytest.raises(ServerConfigError, match="ACTORKIT_DURABILITY is 'process' or 'power'"):
        system()


@pytest.mark.parametrize(("env", "given", "idle_after"), [
    (None, None, 300.0), ("60", None, 60.0), ("inf", None, None), ("60", 5.0, 5.0),
    (None, float("inf"), None)])
def test_idle_actors_leave_memory_after(monkeypatch, env, given, idle_after):
    if env is not None:
        monkeypatch.setenv("ACTORKIT_IDLE_AFTER", env)
    assert system(idle_after=given).idle_after == idle_after


@pytest.mark.parametrize("env", ["0", "-5", "soon", "nan"])
def test_a_bad_idle_after_is_refused(monkeypatch, env):
    monkeypatch.setenv("ACTORKIT_IDLE_AFTER", env)
    with pytest.raises(ServerConfigError, match="ACTORKIT_IDLE_AFTER is a number of seconds"):
        system()

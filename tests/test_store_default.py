"""Where a project's actors are when no store is given: the settings, in their order."""

from __future__ import annotations

from pathlib import Path

import pytest

from actorkit.store import PostgresStore, SqliteStore, StoreError
from actorkit.store.default import open_store, store_location, store_path

PG = "postgresql://app:secret@db.example/app"


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACTORKIT_STORE", "ACTORKIT_DB", "DATABASE_URL", "ACTORKIT_PROJECT"):
        monkeypatch.delenv(name, raising=False)


def test_the_default_is_a_sqlite_file_in_the_project(tmp_path):
    assert store_location(tmp_path) == tmp_path / ".actorkit" / "actors.db"
    store = open_store(tmp_path)
    assert isinstance(store, SqliteStore)
    assert (tmp_path / ".actorkit" / ".gitignore").read_text() == "*\n"


@pytest.mark.parametrize(("settings", "given", "found"), [
    ({"ACTORKIT_STORE": PG}, None, PG),
    ({"DATABASE_URL": PG}, None, PG),
    ({"DATABASE_URL": "mysql://u:p@h/db"}, None, "default"),  # another program's database
    ({"DATABASE_URL": PG, "ACTORKIT_DB": "/x/a.db"}, None, Path("/x/a.db")),
    ({"ACTORKIT_STORE": "/x/s.db", "ACTORKIT_DB": "/x/a.db"}, None, Path("/x/s.db")),
    ({"ACTORKIT_STORE": PG}, "/x/given.db", Path("/x/given.db")),
    ({"ACTORKIT_DB": "/x/a.db"}, PG, PG),
])
def test_the_store_given_comes_first_then_actorkit_store_actorkit_db_and_database_url(
        tmp_path, monkeypatch, settings, given, found):
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    expected = tmp_path / ".actorkit" / "actors.db" if found == "default" else found
    assert store_location(tmp_path, given) == expected


def test_a_postgresql_url_opens_a_postgresql_store_and_a_sqlite_path_is_refused_for_it(
        tmp_path, monkeypatch):
    monkeypatch.setenv("ACTORKIT_STORE", PG)
    store = open_store(tmp_path, wait=2.5)
    assert isinstance(store, PostgresStore) and store.wait == 2.5
    assert "secret" not in repr(store)
    with pytest.raises(StoreError, match="in PostgreSQL, not in a SQLite file"):
        store_path(tmp_path)

from __future__ import annotations

import pytest
from support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def postgres_url() -> str:
    """A new, empty database on a real PostgreSQL server started for this test session."""
    from postgres import new_database

    return new_database()

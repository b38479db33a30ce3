"""Stores: where actors' committed state and journals live.

A store keeps, per actor, its latest snapshot (canonical JSON) and the journal of every step it
committed: one :class:`Entry` per step, written in the same transaction as the snapshot it led
to. :class:`MemoryStore` keeps them in this process; :class:`SqliteStore` (the default for
persisted charts) in a SQLite file; :class:`PostgresStore` in a PostgreSQL database (with
the ``postgres`` extra).
"""

from __future__ import annotations

from .base import Entry, StepTaken, Store, Stored, StoreError
from .memory import MemoryStore
from .postgres import PostgresStore
from .sqlite import SqliteStore

__all__ = ["Entry", "MemoryStore", "PostgresStore", "SqliteStore", "StepTaken", "Store",
           "StoreError", "Stored"]

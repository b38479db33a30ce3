"""The PostgreSQL store's tables, how they are migrated, and the SQL the store runs on them.

A database holds the version of its actorkit tables in ``actorkit_schema``; a store brings it
to :data:`MIGRATIONS`' last version when it first connects (:func:`migrate`), under an
advisory lock, so servers starting together on an empty database make the tables once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import StoreError

if TYPE_CHECKING:
    import asyncpg

__all__ = ["CALLER_LOCK", "CHANNEL", "CLAIM", "COMMIT", "CONNECTIONS", "HOLD", "MIGRATIONS",
           "NOW", "UNHOLD", "migrate"]

#: The database schema, one step per version: a database at version n runs steps n+1 onward.
#: Never edit a step once released: add one.
MIGRATIONS: list[str] = [
    """
    -- ids sort by their bytes (collation "C") whatever the database's locale: as SQLite does,
    -- and as a client paging through actor_ids expects
    CREATE TABLE actorkit_actors (
        type text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        version integer NOT NULL,
        seq bigint NOT NULL,
        snapshot bytea NOT NULL,
        wake double precision,
        -- until when the server that last committed (or claimed) the wake-up has it armed:
        -- past that, any server may claim it (see claim_wakes)
        claimed_until double precision,
        PRIMARY KEY (type, id)
    );
    CREATE INDEX actorkit_actors_wakes ON actorkit_actors (wake, type, id)
        WHERE wake IS NOT NULL;
    CREATE TABLE actorkit_journal (
        type text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        time double precision NOT NULL,
        kind text NOT NULL,
        caller_type text NOT NULL,
        caller_id text NOT NULL,
        event text,
        data bytea,
        error text,
        PRIMARY KEY (type, id, seq)
    );
    -- The servers following the database, and when each last said it was alive (its clock
    -- is the database's).
    CREATE TABLE actorkit_nodes (
        node text PRIMARY KEY,
        beat double precision NOT NULL
    );
    -- Which server has a caller connected to an actor (a row per server: a caller is
    -- connected while it has a row, and CONNECT and DISCONNECT go with the first and last).
    CREATE TABLE actorkit_presence (
        type text COLLATE "C" NOT NULL,
        id text COLLATE "C" NOT NULL,
        caller_id text NOT NULL,
        node text NOT NULL,
        caller_type text NOT NULL,
        PRIMARY KEY (type, id, caller_id, node)
    );
    CREATE INDEX actorkit_presence_nodes ON actorkit_presence (node);
    -- One actor's commit. NULL when written; else the last step the journal has (-1: none),
    -- and nothing of it is written: a step it holds is already journaled, or (a commit
    -- without entries) the stored snapshot is newer; or -2: a server holds the actor for
    -- itself while it catches up (pg_advisory_lock on the actor's key), and only its own
    -- commits (p_exclusive) are written meanwhile.
    CREATE FUNCTION actorkit_commit(
        p_type text, p_id text, p_version integer, p_seq bigint, p_snapshot bytea,
        p_wake double precision, p_claimed_until double precision, j_seq bigint[],
        j_time double precision[], j_kind text[], j_caller_type text[], j_caller_id text[],
        j_event text[], j_data bytea[], j_error text[], p_exclusive boolean)
        RETURNS bigint LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT p_exclusive AND NOT pg_try_advisory_xact_lock_shared(
                hashtextextended(p_type || '/' || p_id, 1)) THEN
            RETURN -2;
        END IF;
        BEGIN
            INSERT INTO actorkit_journal
                SELECT p_type, p_id, e.* FROM unnest(j_seq, j_time, j_kind, j_caller_type,
                    j_caller_id, j_event, j_data, j_error) AS e;
            INSERT INTO actorkit_actors VALUES (p_type, p_id, p_version, p_seq, p_snapshot,
                                                p_wake, p_claimed_until)
                ON CONFLICT (type, id) DO UPDATE SET version = excluded.version,
                    seq = excluded.seq, snapshot = excluded.snapshot, wake = excluded.wake,
                    claimed_until = excluded.claimed_until
                WHERE actorkit_actors.seq <= excluded.seq;
            IF NOT FOUND THEN
                RAISE unique_violation;
            END IF;
            -- delivered to every listening server when (and if) the transaction commits
            PERFORM pg_notify('actorkit_commits', json_build_array(p_type, p_id, p_seq)::text);
        EXCEPTION WHEN unique_violation THEN
            RETURN coalesce((SELECT max(seq) FROM actorkit_journal
                             WHERE type = p_type AND id = p_id), -1);
        END;
        RETURN NULL;
    END $$;
    """,
]

#: The advisory lock migrations run under (any constant: "actorkit" in ASCII).
MIGRATION_LOCK = 0x6163746F726B6974

#: The channel commits are told on (the payload: ``[type, id, seq]``, under 300 bytes).
CHANNEL = "actorkit_commits"

NOW = "extract(epoch from clock_timestamp())"

# One caller's presence changes one at a time (whichever servers it connects through).
CALLER_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2 || '/' || $3, 0))"
CONNECTIONS = ("SELECT count(*) FROM actorkit_presence "
                "WHERE type = $1 AND id = $2 AND caller_id = $3")

COMMIT = ("SELECT actorkit_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
          "$14, $15, $16)")

#: A server's hold on one actor while it catches up (released with the connection).
HOLD = "SELECT pg_advisory_lock(hashtextextended($1 || '/' || $2, 1))"
UNHOLD = "SELECT pg_advisory_unlock(hashtextextended($1 || '/' || $2, 1))"

# Due (or soon due) wake-ups no server has armed, or whose server let its claim lapse: taken
# by this one until $3, skipping those another server is claiming at this moment.
CLAIM = """
UPDATE actorkit_actors AS a SET claimed_until = $3
FROM (SELECT type, id FROM actorkit_actors
      WHERE wake <= $1 AND (claimed_until IS NULL OR claimed_until <= $2)
      ORDER BY wake LIMIT $4 FOR UPDATE SKIP LOCKED) AS due
WHERE a.type = due.type AND a.id = due.id
RETURNING a.wake, a.type, a.id
"""


async def migrate(db: asyncpg.Connection) -> int:
    """Bring the database's actorkit tables to this version (:data:`MIGRATIONS`); return
    the version it was at. Safe to run from many servers at once."""
    async with db.transaction():
        await db.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await db.execute("CREATE TABLE IF NOT EXISTS actorkit_schema (version integer NOT NULL)")
        was = await db.fetchval("SELECT max(version) FROM actorkit_schema") or 0
        if was > len(MIGRATIONS):
            raise StoreError(f"the database's actorkit tables are at version {was}, newer "
                             f"than this actorkit knows ({len(MIGRATIONS)}): upgrade actorkit")
        for version in range(was + 1, len(MIGRATIONS) + 1):
            await db.execute(MIGRATIONS[version - 1])
            await db.execute("INSERT INTO actorkit_schema (version) VALUES ($1)", version)
    return int(was)

"""The Python client against a real server: fetch, send, and a live view that survives
dropped connections, checks every frame and converges with everyone else's."""

from __future__ import annotations

import asyncio
import random

import pytest
from servers import serve
from support import ROOT

from actorkit import Actor, Caller, load_chart
from actorkit.client import ActorClient, ClientError
from actorkit.sync import canonical, checksum

FAST = (0.05, 0.1)  # reconnect quickly in tests


@pytest.fixture(scope="module")
def server():
    with serve(ROOT) as running:
        yield running


def client(server, actor_id: str, caller: str = "client:alice", actor_type: str = "todo",
           **kw) -> ActorClient:
    return ActorClient(server.url, actor_type, actor_id,
                       server.token(actor_type, actor_id, caller), **kw)


def run(coro):
    return asyncio.run(coro)


def test_fetch_send_and_errors(server):
    async def go() -> None:
        async with client(server, "c-1") as alice:
            first = await alice.fetch()
            assert first.checksum == checksum(canonical(first.view))
            answer = await alice.send({"type": "ADD_TODO", "text": "milk"})
            assert answer["success"] and answer["outputs"][0]["type"] == "TODO_ADDED"
            assert (await alice.fetch()).checksum == answer["checksum"]
            with pytest.raises(ClientError) as info:
                await alice.send({"type": "ADD_TODO", "text": ""})
            assert info.value.status == 400 and "non-empty" in str(info.value)
            with pytest.raises(ClientError) as info:
                await alice.fetch(wait_for_state="Nowhere", timeout_ms=100)
            assert info.value.status == 408
        async with client(server, "c-1", caller="client:x", actor_type="nope") as wrong:
            with pytest.raises(ClientError, match="Unknown actor type"):
                await wrong.fetch()

    run(go())


def test_live_view_follows_changes_and_checks_each_frame(server):
    async def go() -> None:
        async with client(server, "c-2") as alice, client(server, "c-2", "client:bob") as bob:
            seen: list[int] = []
            async with alice.connect(await alice.fetch(), backoff=FAST) as live:
                live.subscribe(lambda view: seen.append(len(view["public"]["todos"])))
                await bob.send({"type": "ADD_TODO", "text": "from bob"})
                view = await live.wait_for(lambda v: len(v["public"]["todos"]) == 1)
                assert view["public"]["todos"][0]["text"] == "from bob"
                await live.send({"type": "ADD_TODO", "text": "from alice"})
                await live.wait_for(lambda v: len(v["public"]["todos"]) == 2)
                assert live.checksum == (await alice.fetch()).checksum
                assert seen == [1, 2]
                await live.send({"type": "NOPE"})
                for _ in range(50):
                    if live.errors:
                        break
                    await asyncio.sleep(0.02)
                assert live.errors[-1]["kind"] == "EventRejected"

    run(go())


def test_reconnect_resumes_from_the_last_checksum(server):
    async def go() -> None:
        async with client(server, "c-3") as alice, client(server, "c-3", "client:bob") as bob, \
                alice.connect(backoff=FAST) as live:
            await bob.send({"type": "ADD_TODO", "text": "one"})
            await live.wait_for(lambda v: len(v["public"]["todos"]) == 1)
            frames = live.frames
            await live._ws.close()  # the network drops the connection
            await bob.send({"type": "ADD_TODO", "text": "two"})
            await bob.send({"type": "ADD_TODO", "text": "three"})
            await live.send({"type": "ADD_TODO", "text": "queued while away"})
            view = await live.wait_for(lambda v: len(v["public"]["todos"]) == 4)
            assert [t["text"] for t in view["public"]["todos"]] == [
                "one", "two", "three", "queued while away"]
            assert view == (await alice.fetch()).view
            assert live.frames - frames <= 2  # a diff from its checksum, not the view again
            assert live.resyncs == 0

    run(go())


def test_a_view_out_of_step_is_fetched_whole_again(server):
    async def go() -> None:
        async with client(server, "c-4") as alice, alice.connect(backoff=FAST) as live:
            await live.send({"type": "ADD_TODO", "text": "a"})
            await live.wait_for(lambda v: len(v["public"]["todos"]) == 1)
            live.view["public"]["todos"][0]["text"] = "corrupted"  # type: ignore[index]
            await live.send({"type": "ADD_TODO", "text": "b"})
            view = await live.wait_for(
                lambda v: [t["text"] for t in v["public"]["todos"]] == ["a", "b"])
            assert live.resyncs == 1
            assert view == (await alice.fetch()).view

    run(go())


def test_a_refused_connection_fails_the_live_view(server):
    async def go() -> None:
        bad = ActorClient(server.url, "todo", "c-5", "not-a-token")
        with pytest.raises(ConnectionRefusedError):
            async with bad.connect(backoff=FAST):
                pass
        await bad.aclose()

    run(go())


def test_concurrent_clients_converge_on_a_serial_replay(server):
    """Several callers send at once; every live view ends on the server's view, and that view
    is exactly what running the committed events one by one, in commit order, gives."""
    names = ["ann", "ben", "cat", "dan"]

    async def go() -> None:
        clients = [client(server, "c-6", f"client:{n}") for n in names]
        lives = [c.connect(backoff=FAST) for c in clients]
        for live in lives:
            await live.__aenter__()
        committed: list[tuple[int, str, dict]] = []

        async def talk(name: str, c: ActorClient, seed: int) -> None:
            rng = random.Random(seed)
            for i in range(12):
                event = rng.choice([{"type": "ADD_TODO", "text": f"{name}-{i}"},
                                    {"type": "SET_FILTER", "filter": rng.choice(
                                        ["all", "active", "completed"])}])
                answer = await c.send(event)
                committed.append((answer["seq"], name, event))

        await asyncio.gather(*(talk(n, c, i) for i, (n, c) in enumerate(
            zip(names, clients, strict=True))))
        replay = Actor.spawn(load_chart(ROOT / "charts" / "todo.yaml"), "c-6",
                             caller=Caller.client("ann"))
        for seq, name, event in sorted(committed, key=lambda c: c[0]):
            assert replay.send(event, Caller.client(name)).seq == seq
        for name, c, live in zip(names, clients, lives, strict=True):
            final = await c.fetch()
            assert final.view == replay.view(Caller.client(name))
            view = await live.wait_for(
                lambda v, want=final.checksum: checksum(canonical(v)) == want, timeout=10)
            assert view == final.view
            await live.close()
            await c.aclose()

    run(go())


def test_the_readme_example_runs(server, capsys):
    readme = (ROOT / "README.md").read_text()
    code = readme.split("## The Python client", 1)[1].split("```python\n", 1)[1].split("```")[0]
    code = code.replace("http://127.0.0.1:8000", server.url)
    body = "\n".join("    " + line for line in code.splitlines())
    scope = {"token": server.token("todo", "list-1", "client:alice")}
    exec(compile(f"async def example():\n{body}\n", "README.md", "exec"), scope)
    run(scope["example"]())
    printed = capsys.readouterr().out
    assert "Walk the dog" in printed


def test_on_error_gets_what_the_readme_says(server):
    import re

    readme = (ROOT / "README.md").read_text().split("`connect(on_error=...)`", 1)[1]
    readme = readme.split("\n## ", 1)[0]
    # every kind of error the client itself reports is documented there, and no other
    made = set(re.findall(r'"kind": "(\w+)"', (ROOT / "actorkit" / "client.py").read_text()))
    assert set(re.findall(r'`\{"kind": "(\w+)"', readme)) == made

    async def go() -> tuple[list, list]:
        rejected: list = []
        async with client(server, "c-err") as alice, \
                alice.connect(backoff=FAST, on_error=rejected.append) as live:
            await live.send({"type": "ADD_TODO", "text": ""})
            for _ in range(100):  # at most 5 s
                if rejected:
                    break
                await asyncio.sleep(0.05)
            assert live.errors == rejected
        refused: list = []
        bad = ActorClient(server.url, "todo", "c-err", "not-a-token")
        with pytest.raises(ConnectionRefusedError):
            async with bad.connect(backoff=FAST, on_error=refused.append):
                pass
        await bad.aclose()
        return rejected, refused

    rejected, refused = run(go())
    [error] = rejected  # the server's error frame, as it came
    assert error["kind"] == "EventRejected" and error["type"] == "ADD_TODO"
    assert error["pointer"] == "/text" and "non-empty" in error["message"]
    assert [e["kind"] for e in refused] == ["Refused"] and "401" in refused[0]["message"]

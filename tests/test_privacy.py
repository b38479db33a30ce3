"""Private isolation: whatever many callers do, no frame and no snapshot a caller gets ever
carries another caller's private data."""

from __future__ import annotations

import asyncio
import json
import random

import hypothesis.strategies as st
import websockets
from hypothesis import HealthCheck, given, settings
from servers import serve
from support import CHARTS, ROOT, FakeClock

from actorkit import Caller, load_chart
from actorkit.runtime import ActorSystem
from actorkit.store import MemoryStore

NAMES = ["ann", "ben", "cat", "dan", "eve"]
NOTES = load_chart(CHARTS / "notes.yaml")


def secret(name: str, i: int) -> str:
    return f"secret-of-{name}-{i}"


def leaks(name: str, text: str) -> list[str]:
    """Secrets of other callers found in ``text``."""
    return [other for other in NAMES if other != name and f"secret-of-{other}-" in text]


steps = st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(["NOTE", "SHOUT", "FORGET",
                                                                    "CONNECT", "LEAVE"])),
                 min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=steps)
def test_no_caller_ever_receives_another_callers_bucket(script):
    async def go() -> None:
        system = ActorSystem({"notes": NOTES}, store=MemoryStore(), clock=FakeClock())
        received: dict[str, list[str]] = {n: [] for n in NAMES}
        conns: dict[str, list] = {n: [] for n in NAMES}
        for i, (name, action) in enumerate(script):
            caller = Caller.client(name)
            if action == "CONNECT":
                conns[name].append(await system.connect("notes", "n", caller,
                                                        received[name].append))
            elif action == "LEAVE" and conns[name]:
                await system.disconnect(conns[name].pop())
            elif action == "NOTE":
                await system.send("notes", "n", caller, {"type": "NOTE", "text": secret(name, i)})
            elif action == "SHOUT":
                await system.send("notes", "n", caller, {"type": "SHOUT", "text": f"hi {i}"})
            elif action == "FORGET":
                await system.send("notes", "n", caller, {"type": "FORGET"})
            view = await system.snapshot("notes", "n", caller)
            assert not leaks(name, view.json.decode())
        for name, frames in received.items():
            for frame in frames:
                assert not leaks(name, frame)

    asyncio.run(go())


def test_over_real_sockets_no_frame_leaks(tmp_path):
    """The same over uvicorn, several sockets per caller, everyone writing at once."""
    with serve(ROOT / "tests") as server:
        async def go() -> None:
            async def person(name: str) -> list[str]:
                token = server.token("notes", "live", f"client:{name}")
                url = f"{server.ws}/api/notes/live?accessToken={token}"
                got: list[str] = []
                async with websockets.connect(url) as one, websockets.connect(url) as two:
                    rng = random.Random(name)
                    for i in range(10):
                        kind = rng.choice(["NOTE", "NOTE", "SHOUT", "FORGET"])
                        event = {"type": kind}
                        if kind != "FORGET":
                            event["text"] = secret(name, i) if kind == "NOTE" else f"hi {i}"
                        await rng.choice([one, two]).send(json.dumps(event))
                        await asyncio.sleep(0.01)
                    await asyncio.sleep(0.5)
                    for ws in (one, two):
                        while True:
                            try:
                                got.append(await asyncio.wait_for(ws.recv(), 0.2))
                            except TimeoutError:
                                break
                return got

            results = await asyncio.gather(*(person(n) for n in NAMES))
            for name, frames in zip(NAMES, results, strict=True):
                assert frames, name
                for frame in frames:
                    assert not leaks(name, frame), (name, frame)
                    assert "error" not in json.loads(frame)

        asyncio.run(go())

"""The baseline server for bench/serve.py: bare FastAPI endpoints doing the transport part of
what actorkit's routes do and nothing else.

- ``POST /echo``: parse the JSON body, answer ``{"success": true}``.
- ``WebSocket /ws``: ``receive_text`` then ``send_text`` of the same text, forever.
- ``WebSocket /sub`` + ``POST /broadcast``: subscribers; a broadcast parses its JSON body and
  sends one message, shaped and sized like actorkit's frame for a TOGGLE_TODO, to every
  subscriber with ``await ws.send_text(msg)`` in a plain loop, then answers.

It is as lean as actorkit's own routes at the framework layer (orjson in and out, a plain
``Response``), so a ratio against it measures actorkit's work, not a slower baseline.
Served by uvicorn with the options actorkit gets (see ``serve.py``), on uvicorn's own
httptools protocol where actorkit has the one ``actorkit serve`` runs.
"""

from __future__ import annotations

import hashlib

import orjson
from fastapi import FastAPI, Request, Response, WebSocket, WebSocketDisconnect

app = FastAPI(title="actorkit-bench-bare")
subscribers: list[WebSocket] = []


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), status_code=200, media_type="application/json")


@app.post("/echo")
async def echo(request: Request) -> Response:
    orjson.loads(await request.body())
    return _json({"success": True})


@app.websocket("/ws")
async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


@app.websocket("/sub")
async def subscribe(websocket: WebSocket) -> None:
    await websocket.accept()
    subscribers.append(websocket)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    except WebSocketDisconnect:
        pass
    finally:
        subscribers.remove(websocket)


@app.post("/broadcast")
async def broadcast(request: Request) -> Response:
    body = await request.body()
    event = orjson.loads(body)
    # The same shape and size as actorkit's frame for a TOGGLE_TODO of the first todo.
    message = orjson.dumps({
        "operations": [{"op": "replace", "path": "/public/todos/0/completed",
                        "value": bool(event.get("flag"))}],
        "checksum": hashlib.sha256(body).hexdigest()}).decode()
    for websocket in list(subscribers):
        await websocket.send_text(message)
    return _json({"success": True, "subscribers": len(subscribers)})

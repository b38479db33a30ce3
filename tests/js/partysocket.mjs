// A PartySocket client (npm partysocket), set up as Actor Kit's README sets it up (host, party,
// room, id, query: { token }), against an actorkit server. Prints one JSON object with what it
// saw; tests/test_partysocket.py starts the server, runs this and checks the result.
import PartySocket from "partysocket";
import jsonpatch from "fast-json-patch";
import WS from "ws";

const host = process.env.AK_HOST;
const actorId = process.env.AK_ACTOR;
const token = process.env.AK_TOKEN;
const otherToken = process.env.AK_OTHER_TOKEN;
// Servers on one store: the other caller posts through AK_POST_HOST, and the socket comes
// back through AK_RESUME_HOST (both AK_HOST when not given).
const postHost = process.env.AK_POST_HOST ?? host;
const resumeHost = process.env.AK_RESUME_HOST ?? host;
const out = { urls: [], frames: [], errors: [] };

let state = {};
let checksum = null;
let listeners = [];
const seen = (frame) => {
  out.frames.push(frame);
  if (frame.error) out.errors.push(frame.error);
  state = jsonpatch.applyPatch(state, frame.operations, false, false).newDocument;
  checksum = frame.checksum;
  listeners = listeners.filter((l) => !l(frame));
};
const next = (test, what) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 5000);
  listeners.push((frame) => {
    if (!test(frame)) return false;
    clearTimeout(timer);
    resolve(frame);
    return true;
  });
});

const socket = new PartySocket({
  host,
  party: "todo",
  room: actorId,
  id: "connection-1",
  // asked again on each reconnect: from the last checksum on
  query: () => (checksum ? { token, checksum } : { token }),
  WebSocket: WS,
  minReconnectionDelay: 20,
  maxReconnectionDelay: 200,
  maxRetries: 10,
});
socket.addEventListener("open", () => out.urls.push(socket.url));
socket.addEventListener("message", (m) => seen(JSON.parse(m.data)));

try {
  await next((f) => f.operations.length > 0, "the first frame");
  out.first = state;

  socket.send(JSON.stringify({ type: "ADD_TODO", text: "from a PartySocket" }));
  await next((f) => state.public.todos.length === 1, "the todo it added");
  out.added = state;

  socket.send(JSON.stringify({ type: "ADD_TODO" }));
  out.refused = (await next((f) => f.error, "the refusal of an event without text")).error;

  // Away while another caller adds a todo; back with the checksum it had.
  const before = out.frames.length;
  const closed = new Promise((resolve) => socket.addEventListener("close", resolve, { once: true }));
  socket.close();
  await closed;
  const posted = await fetch(`http://${postHost}/api/todo/${actorId}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${otherToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ type: "ADD_TODO", text: "while it was away" }),
  });
  out.postStatus = posted.status;
  if (resumeHost !== host) socket.updateProperties({ host: resumeHost });
  socket.reconnect();
  await next((f) => state.public.todos.length === 2, "the todo added while it was away");
  out.resumedFrames = out.frames.slice(before);
  out.resumed = state;

  const got = await fetch(`http://${resumeHost}/api/todo/${actorId}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  out.server = (await got.json()).snapshot;
  out.ok = true;
} catch (e) {
  out.ok = false;
  out.failure = String(e.message ?? e);
} finally {
  socket.close();
}
console.log(JSON.stringify(out));

// The todo flow of Actor Kit's own example, driven by Actor Kit's own JavaScript client
// (npm actor-kit 0.47.0) against an actorkit server. Prints one JSON object with what it saw;
// tests/test_js_client.py starts the server, runs this and checks the result.
import { WebSocket } from "ws";
import {
  createAccessToken,
  createActorFetch,
  createActorKitClient,
} from "./build/actor-kit-node.mjs";

// Node 20 has no WebSocket of its own; the browser client uses the global one.
globalThis.WebSocket = WebSocket;

// AK_HOSTS: servers on one store, comma-separated: alice, bob and the service each go
// through the next one (one server: all through it).
const hosts = (process.env.AK_HOSTS ?? process.env.AK_HOST).split(",");
const hostOf = (n) => hosts[n % hosts.length];
const signingKey = process.env.AK_SECRET;
const actorId = process.env.AK_ACTOR;
const actorType = "todo";
// actor-kit 0.47 insists on UUID caller ids.
const uuid = (n) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const [ALICE, BOB, SYNC] = [uuid(1), uuid(2), uuid(3)];

const out = { errors: [] };
const token = (callerId, callerType = "client") =>
  createAccessToken({ signingKey, actorId, actorType, callerId, callerType });
const fetchTodo = createActorFetch({ actorType, host: hostOf(0) });

async function live(callerId, callerType = "client", n = 0) {
  const accessToken = await token(callerId, callerType);
  const host = hostOf(n);
  const first = await createActorFetch({ actorType, host })({ actorId, accessToken, input: {} });
  const client = createActorKitClient({
    host, actorType, actorId, accessToken,
    checksum: first.checksum,
    initialSnapshot: first.snapshot,
    onError: (e) => out.errors.push(`${callerId}: ${e.message ?? e}`),
  });
  await client.connect();
  return { client, accessToken, first };
}

const step = async (name, promise) => {
  try {
    return await promise;
  } catch (e) {
    throw new Error(`${name}: ${e.message ?? e}`);
  }
};

try {
  const alice = await live(ALICE);
  out.firstSnapshot = alice.first.snapshot;
  out.firstChecksum = alice.first.checksum;
  const bob = await live(BOB, "client", 1);

  alice.client.send({ type: "ADD_TODO", text: "Buy milk" });
  await step("bob sees alice's todo",
    bob.client.waitFor((s) => s.public.todos.length === 1, 5000));
  const id = bob.client.getState().public.todos[0].id;

  bob.client.send({ type: "TOGGLE_TODO", id });
  await step("alice sees bob's toggle",
    alice.client.waitFor((s) => s.public.todos[0]?.completed === true, 5000));

  bob.client.send({ type: "SET_FILTER", filter: "completed" });
  await step("bob's own filter",
    bob.client.waitFor((s) => s.private.filter === "completed", 5000));

  // A client may not send a service event: refused, nobody's state changes.
  alice.client.send({ type: "SYNC_TODOS", todos: [] });

  const sync = await live(SYNC, "service", 2);
  sync.client.send({ type: "SYNC_TODOS", todos: [
    { id: "a", text: "from the service", completed: false },
    { id: "b", text: "also synced", completed: true },
  ] });
  await step("alice sees the sync",
    alice.client.waitFor((s) => s.public.todos.length === 2 && s.public.todos[0].id === "a",
      5000));

  alice.client.send({ type: "REMOVE_TODO", id: "b" });
  await step("bob sees the removal",
    bob.client.waitFor((s) => s.public.todos.length === 1, 5000));

  // createActorFetch's waits: satisfied at once, and a timeout (a 408 upstream documents).
  const ready = await fetchTodo({ actorId, accessToken: alice.accessToken,
    waitForState: { Initialization: "Ready" }, timeout: 2000 });
  out.readyValue = ready.snapshot.value;
  try {
    await fetchTodo({ actorId, accessToken: alice.accessToken, waitForState: "Nowhere",
      timeout: 200 });
    out.timeout = "no error";
  } catch (e) {
    out.timeout = e.message;
  }
  try {
    await fetchTodo({ actorId, accessToken: "not-a-token" });
    out.unauthorized = "no error";
  } catch (e) {
    out.unauthorized = e.message;
  }

  // What each client ended with, and what the server says.
  const finalAlice = await fetchTodo({ actorId, accessToken: alice.accessToken });
  const finalBob = await createActorFetch({ actorType, host: hostOf(1) })(
    { actorId, accessToken: bob.accessToken });
  out.alice = alice.client.getState();
  out.bob = bob.client.getState();
  out.serverAlice = finalAlice.snapshot;
  out.serverBob = finalBob.snapshot;
  out.ok = true;
} catch (e) {
  out.ok = false;
  out.failure = String(e.message ?? e);
}
console.log(JSON.stringify(out));
// actor-kit 0.47's disconnect() still schedules reconnects: leave explicitly.
process.exit(out.ok ? 0 : 1);

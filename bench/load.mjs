// Load generator for bench/serve.py: one Node process, driven by JSON commands on stdin (one
// a line), answering one JSON line each on stdout. It only ever connects to 127.0.0.1, and
// every command is bounded in time and count; the process exits when stdin closes or after
// --max-seconds, whichever comes first.
//
// The same code runs against actorkit and against the bare baseline: only the paths differ.
//
//   http_open  {pool, port, conc}                       keep-alive connections (node:net)
//   http_run   {pool, path, token, seconds, max}        ADD/TOGGLE/REMOVE cycles, one request in
//                                                       flight per connection
//   http_run_many {runs: [{pool, path, token}], seconds, max}
//                                                       http_run on several pools at once
//                                                       (each up to max); the sums
//   ws_open    {group, port, paths, hello, deflate, timeoutMs}
//                                                       WebSockets (ws); `hello`: wait for the
//                                                       first frame the server sends on connect
//   ws_run     {group, seconds, max, expect}            ADD/TOGGLE/REMOVE cycles, one event in
//                                                       flight per socket; expect "frame"
//                                                       (actorkit patch) or "echo"
//   fanout     {group, pool, path, token, body, timeoutMs}
//                                                       one POST; time until every socket of
//                                                       the group has a new message
//   close      {pool} | {group}
//   exit       {}
import net from "node:net";
import readline from "node:readline";
import { performance } from "node:perf_hooks";
import { WebSocket } from "ws";

const HOST = "127.0.0.1";
const maxSeconds = Number(process.argv[process.argv.indexOf("--max-seconds") + 1]) || 600;
setTimeout(() => { process.stderr.write("load.mjs: --max-seconds reached\n"); process.exit(3); },
  maxSeconds * 1000).unref();

// An id of the length actorkit's todo ids have (UUIDs), for the baseline, which has none.
const FALLBACK_ID = "00000000-0000-5000-8000-000000000000";
const ADD = JSON.stringify({ type: "ADD_TODO", text: "milk" });
const toggle = (id) => JSON.stringify({ type: "TOGGLE_TODO", id });
const remove = (id) => JSON.stringify({ type: "REMOVE_TODO", id });

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 keep-alive client on a raw socket: cheap enough that the server, not the client,
// is what a round measures (wrk-like), and identical for both servers.

class HttpConn {
  constructor(port) {
    this.port = port;
    this.buf = Buffer.alloc(0);
    this.waiting = null;
    this.closed = false;
    this.lastUsed = performance.now();
  }

  open(timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("http connect timeout")), timeoutMs);
      this.sock = net.connect({ host: HOST, port: this.port }, () => {
        clearTimeout(timer);
        this.sock.setNoDelay(true);
        resolve();
      });
      this.sock.on("data", (chunk) => this.onData(chunk));
      this.sock.on("error", (e) => this.fail(e));
      this.sock.on("close", () => { this.closed = true; this.fail(new Error("connection closed")); });
    });
  }

  fail(err) {
    if (this.waiting) { const w = this.waiting; this.waiting = null; w.reject(err); }
  }

  request(path, token, body) {
    const payload = Buffer.from(body);
    const head = `POST ${path} HTTP/1.1\r\nHost: ${HOST}:${this.port}\r\n` +
      `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${payload.length}\r\n\r\n`;
    return new Promise((resolve, reject) => {
      if (this.closed) { reject(new Error("connection closed")); return; }
      this.lastUsed = performance.now();
      this.waiting = { resolve, reject };
      this.sock.write(Buffer.concat([Buffer.from(head), payload]));
    });
  }

  onData(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    if (!this.waiting) return;
    const end = this.buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    const head = this.buf.subarray(0, end).toString("latin1");
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!m) { this.fail(new Error(`no content-length in response: ${head.slice(0, 200)}`)); return; }
    const total = end + 4 + Number(m[1]);
    if (this.buf.length < total) return;
    const body = this.buf.subarray(end + 4, total);
    this.buf = this.buf.subarray(total);
    const w = this.waiting;
    this.waiting = null;
    w.resolve({ status, body });
  }

  close() { this.closed = true; this.sock?.destroy(); }
}

// ---------------------------------------------------------------------------------------------

const pools = new Map();   // name -> HttpConn[]
const groups = new Map();  // name -> {sockets, onmsg}

function stats(lat, n) {
  const a = Array.from(lat.subarray(0, n)).sort((x, y) => x - y);
  const q = (p) => (a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))] : null);
  return { p50_ms: q(0.5), p99_ms: q(0.99) };
}

function cpuSeconds(since) {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

async function httpOpen({ pool, port, conc }) {
  const conns = [];
  for (let i = 0; i < conc; i++) {
    const c = new HttpConn(port);
    await c.open();
    conns.push(c);
  }
  pools.set(pool, conns);
  return { opened: conns.length };
}

// uvicorn closes a keep-alive connection idle for 5 s (its default), which a pool can be while
// the other server's rounds run: replace those idle for 4 s or closed before a round starts.
async function reopen(conns) {
  let n = 0;
  for (let i = 0; i < conns.length; i++) {
    if (conns[i].closed || performance.now() - conns[i].lastUsed > 4000) {
      conns[i].close();
      conns[i] = new HttpConn(conns[i].port);
      await conns[i].open();
      n++;
    }
  }
  return n;
}

async function httpRun({ pool, path, token, seconds, max }) {
  const conns = pools.get(pool);
  const reopened = await reopen(conns);
  const lat = new Float64Array(max + 3 * conns.length);
  let n = 0, errors = 0, firstError = null;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const hard = t0 + seconds * 1000 + 10000;
  const one = async (conn, body) => {
    const s = performance.now();
    const { status, body: raw } = await conn.request(path, token, body);
    lat[n++] = performance.now() - s;
    let obj = null;
    try { obj = JSON.parse(raw); } catch { /* counted below */ }
    if (status !== 200 || !obj || obj.success !== true) {
      errors++;
      firstError ??= `${status} ${raw.toString().slice(0, 300)}`;
    }
    return obj;
  };
  // Cycles are never cut short, so the actor's list does not grow from round to round.
  const worker = async (conn) => {
    while (performance.now() < deadline && n < max) {
      const added = await one(conn, ADD);
      const id = added?.outputs?.[0]?.todo?.id ?? FALLBACK_ID;
      await one(conn, toggle(id));
      await one(conn, remove(id));
      if (performance.now() > hard) break;
    }
  };
  await Promise.all(conns.map(worker));
  const elapsed = (performance.now() - t0) / 1000;
  return { requests: n, errors, first_error: firstError, elapsed, client_cpu: cpuSeconds(cpu0),
           reopened, ...stats(lat, n) };
}

async function httpRunMany({ runs, seconds, max }) {
  const all = await Promise.all(runs.map((r) => httpRun({ ...r, seconds, max })));
  const sum = (k) => all.reduce((t, r) => t + r[k], 0);
  return { requests: sum("requests"), errors: sum("errors"),
           first_error: all.find((r) => r.first_error)?.first_error ?? null,
           elapsed: Math.max(...all.map((r) => r.elapsed)),
           client_cpu: Math.max(...all.map((r) => r.client_cpu)),  // the process's, in each
           reopened: sum("reopened") };
}

function openSocket(url, hello, deflate, timeoutMs) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: deflate });
    const timer = setTimeout(() => { ws.terminate(); reject(new Error(`ws open timeout: ${url}`)); },
      timeoutMs);
    ws.on("error", (e) => { clearTimeout(timer); reject(e); });
    ws.on("unexpected-response", (req, res) => {
      clearTimeout(timer);
      reject(new Error(`ws refused: HTTP ${res.statusCode}`));
    });
    const done = () => { clearTimeout(timer); ws.removeAllListeners("message"); resolve(ws); };
    if (hello) ws.once("message", done);
    ws.on("open", () => { if (!hello) done(); });
  });
}

async function wsOpen({ group, port, paths, hello, deflate, timeoutMs, batch = 50 }) {
  const t0 = performance.now();
  const sockets = new Array(paths.length);
  const g = { sockets, onmsg: null, closed: 0 };
  groups.set(group, g);
  for (let i = 0; i < paths.length; i += batch) {
    const left = timeoutMs - (performance.now() - t0);
    if (left <= 0) throw new Error(`ws_open: timeout after ${i} sockets`);
    await Promise.all(paths.slice(i, i + batch).map(async (p, k) => {
      const ws = await openSocket(`ws://${HOST}:${port}${p}`, hello, deflate, left);
      const idx = i + k;
      sockets[idx] = ws;
      ws.on("message", (data) => g.onmsg?.(idx, data));
      ws.on("close", () => { g.closed++; });
    }));
  }
  return { opened: sockets.length, seconds: (performance.now() - t0) / 1000 };
}

async function wsRun({ group, seconds, max, expect }) {
  const g = groups.get(group);
  const n = g.sockets.length;
  const lat = new Float64Array(max + 3 * n);
  let count = 0, errors = 0, firstError = null;
  const waiters = new Array(n).fill(null);
  g.onmsg = (i, data) => {
    const w = waiters[i];
    waiters[i] = null;
    if (w) w(data); else { errors++; firstError ??= `unexpected frame on socket ${i}`; }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const hard = deadline + 10000;
  const one = (i, text) => new Promise((resolve) => {
    const s = performance.now();
    waiters[i] = (data) => {
      lat[count++] = performance.now() - s;
      let obj = null;
      try { obj = JSON.parse(data); } catch { /* counted below */ }
      const ok = obj && !obj.error && (expect === "echo" ? data.toString() === text
        : Array.isArray(obj.operations) && obj.operations.length > 0);
      if (!ok) { errors++; firstError ??= data.toString().slice(0, 300); }
      resolve(obj);
    };
    g.sockets[i].send(text);
  });
  const timeout = new Promise((resolve) => setTimeout(resolve, hard - t0, "timeout"));
  const worker = async (i) => {
    while (performance.now() < deadline && count < max) {
      const frame = await one(i, ADD);
      const id = frame?.operations?.find((op) => op.op === "add" && op.value?.id)?.value.id
        ?? FALLBACK_ID;
      await one(i, toggle(id));
      await one(i, remove(id));
      if (performance.now() > hard) break;
    }
  };
  const outcome = await Promise.race([Promise.all(g.sockets.map((_, i) => worker(i))), timeout]);
  g.onmsg = null;
  if (outcome === "timeout") throw new Error("ws_run: no answer within 10 s of the deadline");
  const elapsed = (performance.now() - t0) / 1000;
  return { messages: count, errors, first_error: firstError, elapsed,
           client_cpu: cpuSeconds(cpu0), ...stats(lat, count) };
}

async function fanout({ group, pool, path, token, body, timeoutMs }) {
  const g = groups.get(group);
  const reopened = await reopen(pools.get(pool));
  const conn = pools.get(pool)[0];
  const n = g.sockets.length;
  const got = new Uint8Array(n);
  let count = 0, extra = 0, tLast = null, size = null, sample = null;
  let finish;
  const allIn = new Promise((resolve) => { finish = resolve; });
  const cpu0 = process.cpuUsage();
  g.onmsg = (i, data) => {
    if (got[i]) { extra++; return; }
    got[i] = 1;
    if (++count === n) { tLast = performance.now(); sample = data; finish(); }
  };
  const t0 = performance.now();
  const post = conn.request(path, token, body).then((r) => ({ ...r, t: performance.now() }));
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, timeoutMs, "timeout"); });
  const outcome = await Promise.race([Promise.all([allIn, post]), timeout]);
  clearTimeout(timer);
  if (outcome === "timeout") {
    g.onmsg = null;
    return { error: `timeout: ${count}/${n} sockets got the frame in ${timeoutMs} ms` };
  }
  const [, res] = outcome;
  // Anything else arriving in the next few ms would be a second frame for the same change.
  await new Promise((resolve) => setTimeout(resolve, 20));
  g.onmsg = null;
  let obj = null;
  try { obj = JSON.parse(sample); } catch { /* reported below */ }
  size = Buffer.byteLength(sample);
  const ok = obj && Array.isArray(obj.operations) && obj.operations.length > 0 && !obj.error;
  return { ms_last: tLast - t0, ms_post: res.t - t0, status: res.status,
           response: res.body.toString().slice(0, 300), received: count, extra,
           frame_bytes: size, frame_ok: Boolean(ok), client_cpu: cpuSeconds(cpu0), reopened };
}

async function close({ pool, group, timeoutMs = 10000 }) {
  if (pool) { for (const c of pools.get(pool) ?? []) c.close(); pools.delete(pool); }
  if (group) {
    const g = groups.get(group);
    if (!g) return {};
    for (const ws of g.sockets) ws?.close();
    const t0 = performance.now();
    while (g.closed < g.sockets.length && performance.now() - t0 < timeoutMs) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const ws of g.sockets) if (ws && ws.readyState !== WebSocket.CLOSED) ws.terminate();
    groups.delete(group);
    return { closed: g.closed };
  }
  return {};
}

const commands = { http_open: httpOpen, http_run: httpRun, http_run_many: httpRunMany,
                   ws_open: wsOpen, ws_run: wsRun, fanout, close };

const rl = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on("line", (line) => {
  queue = queue.then(async () => {
    let reply;
    try {
      const msg = JSON.parse(line);
      if (msg.cmd === "exit") process.exit(0);
      const fn = commands[msg.cmd];
      if (!fn) throw new Error(`unknown command ${msg.cmd}`);
      reply = { ok: true, ...(await fn(msg)) };
    } catch (e) {
      reply = { ok: false, error: String(e?.stack ?? e) };
    }
    process.stdout.write(JSON.stringify(reply) + "\n");
  });
});
rl.on("close", () => queue.then(() => process.exit(0)));

// The inspector page. It reads what only an operator may see from /_inspect/api (with the
// inspector token) and everything a client sees through the actor routes themselves: the
// WebSocket's JSON Patch frames for live updates, POST for events, /events for the journal,
// each with a token minted for that actor.
"use strict";
(function () {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const API = meta("actorkit-api"), INSPECT = meta("actorkit-inspect");
  const WATCHER = "service:actorkit-inspector";
  const $ = (id) => document.getElementById(id);
  let token = meta("actorkit-token") || sessionStorage.getItem("actorkit-inspector-token") || "";
  const state = {
    types: {}, type: null, id: null, after: "", diagram: null, socket: null, view: null,
    detail: null, journal: [], travel: null, viewShown: null, tokens: {}, retry: null, generation: 0,
  };

  function status(text) { $("status").textContent = text; }
  function show(el, on) { el.hidden = !on; }
  function pretty(v) { return JSON.stringify(v, null, 2); }
  function when(t) { return t ? new Date(t * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : ""; }

  async function inspect(path, options) {
    const r = await fetch(INSPECT + "/api" + path, Object.assign({}, options, {
      headers: Object.assign({ Authorization: "Bearer " + token }, (options || {}).headers),
    }));
    const body = await r.json().catch(() => ({ error: r.statusText }));
    if (r.status === 401 || r.status === 403) { askForToken(body.error); throw new Error(body.error); }
    if (!r.ok) { const e = new Error(body.error || r.statusText); e.status = r.status; throw e; }
    return body;
  }

  // A token for one caller of the open actor, minted by the inspector (kept for the page).
  async function tokenFor(caller) {
    const key = `${state.type}/${state.id}/${caller}`;
    if (!state.tokens[key]) {
      const body = await inspect(`/actors/${enc(state.type)}/${enc(state.id)}/token`, {
        method: "POST", body: JSON.stringify({ caller: caller }),
        headers: { "Content-Type": "application/json" },
      });
      state.tokens[key] = body.token;
    }
    return state.tokens[key];
  }
  function enc(s) { return encodeURIComponent(s); }

  function askForToken(message) {
    show($("app"), false); show($("login"), true);
    $("login-error").textContent = message || "";
    status("needs a token");
  }

  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    token = $("login-token").value.trim();
    sessionStorage.setItem("actorkit-inspector-token", token);
    start();
  });

  async function start() {
    if (!token) { askForToken(""); return; }
    const body = await inspect("/types");
    show($("login"), false); show($("app"), true);
    const select = $("types");
    select.replaceChildren();
    body.types.forEach((t) => {
      state.types[t.type] = t;
      const o = document.createElement("option"); o.value = o.textContent = t.type; select.appendChild(o);
    });
    status("connected");
    const wanted = new URLSearchParams(location.hash.slice(1));
    if (wanted.get("type") && state.types[wanted.get("type")]) select.value = wanted.get("type");
    await chooseType(select.value);
    if (wanted.get("id")) openActor(wanted.get("id"));
  }

  // -- the list of actors ------------------------------------------------------------------
  async function chooseType(type) {
    state.type = type; state.after = "";
    $("actor-list").replaceChildren();
    await loadIds(false);
  }
  async function loadIds(more) {
    const q = $("search").value.trim();
    const body = await inspect(`/actors/${enc(state.type)}?limit=50&q=${enc(q)}&after=${enc(more ? state.after : "")}`);
    if (!more) $("actor-list").replaceChildren();
    body.ids.forEach((id) => {
      const li = document.createElement("li");
      li.textContent = id; li.dataset.id = id;
      if (id === state.id) li.classList.add("selected");
      li.addEventListener("click", () => openActor(id));
      $("actor-list").appendChild(li);
    });
    state.after = body.next || "";
    show($("more"), !!body.next);
    $("list-note").textContent = !$("actor-list").children.length
      ? (q ? `no ${state.type} id holds “${q}”` : `no ${state.type} actor is stored yet`) : "";
  }
  $("types").addEventListener("change", (e) => chooseType(e.target.value));
  $("more").addEventListener("click", () => loadIds(true));
  let searchTimer = null;
  $("search").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(() => loadIds(false), 200); });

  // -- one actor ---------------------------------------------------------------------------
  async function openActor(id) {
    closeSocket();
    state.id = id; state.travel = null; state.view = null; state.journal = [];
    state.generation += 1;
    location.hash = `type=${enc(state.type)}&id=${enc(id)}`;
    document.querySelectorAll("#actor-list li").forEach((li) => li.classList.toggle("selected", li.dataset.id === id));
    show($("pick"), false); show($("actor"), true); show($("travel"), false);
    $("actor-title").textContent = `${state.type}/${id}`;
    $("changes").replaceChildren(); $("send-result").textContent = ""; $("send-error").textContent = "";
    state.diagram = ActorkitDiagram.draw($("diagram"), state.types[state.type].graph);
    buildSendForm();
    await refresh();
    connect();
  }

  // Everything that is not in the WebSocket's view: internal keys, timers, callers, journal.
  async function refresh() {
    const generation = state.generation;
    let detail;
    try {
      detail = await inspect(`/actors/${enc(state.type)}/${enc(state.id)}`);
    } catch (e) { $("seq").textContent = e.message; return; }
    if (generation !== state.generation) return;
    state.detail = detail;
    $("seq").textContent = `step ${detail.seq} · ${when(detail.time)}`;
    const q = $("quarantine");
    show(q, !!detail.quarantine);
    q.textContent = detail.quarantine ? `quarantined since ${when(detail.quarantine.since)}: ${detail.quarantine.reason}` : "";
    if (state.travel === null) showState(detail.value, detail.public, detail.internal);
    fillCallers(detail.callers);
    const conn = $("connected"); conn.replaceChildren();
    detail.connected.forEach((c) => { const li = document.createElement("li"); li.textContent = `${c.type}:${c.id}`; conn.appendChild(li); });
    if (!detail.connected.length) { const li = document.createElement("li"); li.className = "muted"; li.textContent = "nobody (the inspector watches unseen)"; conn.appendChild(li); }
    const tb = $("timers").tBodies[0]; tb.replaceChildren();
    detail.timers.forEach((t) => row(tb, [when(t.due), t.event || t.type || "", t.id || ""]));
    if (!detail.timers.length) row(tb, ["none", "", ""]);
    $("wakeup").textContent = detail.wakeup ? `next wake-up (after()/idle()): ${when(detail.wakeup)}` : "";
    await showCallerView();
    await loadJournal();
  }
  function row(tbody, cells) {
    const tr = document.createElement("tr");
    cells.forEach((c) => { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); });
    tbody.appendChild(tr); return tr;
  }

  function showState(value, pub, internal) {
    state.diagram.highlight(ActorkitDiagram.activeNames(value, state.diagram.root));
    $("state-value").textContent = JSON.stringify(value);
    $("public").textContent = pretty(pub);
    if (internal !== undefined) $("internal").textContent = pretty(internal);
  }

  // -- live: the WebSocket of the actor routes, as the inspector's watcher -------------------
  async function connect() {
    const generation = state.generation;
    const t = await tokenFor(WATCHER);
    if (generation !== state.generation) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}${API}/${enc(state.type)}/${enc(state.id)}?accessToken=${enc(t)}`);
    state.socket = ws; state.view = null;
    ws.onopen = () => { setLive(true); };
    ws.onmessage = (m) => {
      const frame = JSON.parse(m.data);
      if (!frame.operations) return;
      if (!frame.operations.length && frame.error) return;
      state.view = applyPatch(state.view || {}, frame.operations);
      if (state.travel === null && state.view.value !== undefined) showState(state.view.value, state.view.public);
      clearTimeout(state.retry);
      state.retry = setTimeout(refresh, 50);  // the rest (internal keys, journal) follows
    };
    ws.onclose = () => {
      if (state.socket !== ws) return;
      setLive(false);
      setTimeout(() => { if (state.socket === ws) connect(); }, 1000);
    };
  }
  function closeSocket() { const ws = state.socket; state.socket = null; if (ws) ws.close(); }
  function setLive(on) {
    const b = $("live");
    if (state.travel !== null) { b.className = "badge past"; b.textContent = "past"; return; }
    b.className = on ? "badge live" : "badge bad"; b.textContent = on ? "live" : "reconnecting";
  }

  // RFC 6902, the operations actorkit sends: add, remove, replace (and move, copy, test).
  function applyPatch(doc, ops) {
    let root = doc;
    const parse = (p) => p.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    const get = (keys) => keys.reduce((o, k) => o[k], root);
    for (const op of ops) {
      const keys = parse(op.path);
      if (!keys.length) { if (op.op !== "test") root = op.value; continue; }
      const parent = get(keys.slice(0, -1)), last = keys[keys.length - 1];
      if (op.op === "add" || op.op === "replace" || op.op === "copy" || op.op === "move") {
        let value = op.value;
        if (op.op === "copy" || op.op === "move") {
          const from = parse(op.from); value = get(from);
          if (op.op === "move") { const fp = get(from.slice(0, -1)); Array.isArray(fp) ? fp.splice(+from[from.length - 1], 1) : delete fp[from[from.length - 1]]; }
          value = JSON.parse(JSON.stringify(value));
        }
        if (Array.isArray(parent)) {
          if (op.op === "replace") parent[+last] = value;
          else parent.splice(last === "-" ? parent.length : +last, 0, value);
        } else parent[last] = value;
      } else if (op.op === "remove") {
        Array.isArray(parent) ? parent.splice(+last, 1) : delete parent[last];
      }
    }
    return root;
  }

  // -- each caller's view --------------------------------------------------------------------
  function fillCallers(callers) {
    const select = $("caller-select"), chosen = select.value;
    // who the actor knows of, then whoever sent it an event (as the journal says)
    const all = new Set(callers);
    state.journal.forEach((e) => { if (e.kind === "event") all.add(`${e.caller.type}:${e.caller.id}`); });
    Array.from(select.options).forEach((o) => { if (o.dataset.added) all.add(o.value); });
    select.replaceChildren();
    all.forEach((c) => {
      const o = document.createElement("option"); o.value = o.textContent = c;
      if (!callers.includes(c) && !state.journal.some((e) => `${e.caller.type}:${e.caller.id}` === c)) o.dataset.added = "1";
      select.appendChild(o);
    });
    if (chosen && all.has(chosen)) select.value = chosen;
  }
  async function showCallerView() {
    const caller = $("caller-select").value;
    $("view-error").textContent = "";
    if (!caller) { $("view").textContent = "(pick a caller, or name one: client:bob)"; return; }
    const generation = state.generation;
    // another caller's view never stays on screen while this one's is fetched
    const shown = `${state.id}/${caller}/${state.travel}`;
    if (state.viewShown !== shown) $("view").textContent = "";
    try {
      const body = state.travel !== null
        ? await inspect(`/actors/${enc(state.type)}/${enc(state.id)}/at?seq=${state.travel}&caller=${enc(caller)}`)
        : await inspect(`/actors/${enc(state.type)}/${enc(state.id)}/view?caller=${enc(caller)}`);
      if (generation !== state.generation || caller !== $("caller-select").value) return;
      $("view").textContent = pretty(body.view);
      state.viewShown = shown;
    } catch (e) { $("view-error").textContent = e.message; }
  }
  $("caller-select").addEventListener("change", showCallerView);
  $("caller-add").addEventListener("submit", (e) => {
    e.preventDefault();
    const c = $("caller-other").value.trim();
    if (!/^(client|service):.+/.test(c)) { $("view-error").textContent = "a caller is client:<id> or service:<id>"; return; }
    if (!Array.from($("caller-select").options).some((o) => o.value === c)) {
      const o = document.createElement("option"); o.value = o.textContent = c; o.dataset.added = "1"; $("caller-select").appendChild(o);
    }
    $("caller-select").value = c; showCallerView();
  });

  // -- the journal and time travel -------------------------------------------------------------
  async function loadJournal() {
    const generation = state.generation;
    const tb = $("journal").tBodies[0];
    if (!state.detail.journaled) {
      $("journal-note").textContent = `${state.type} is not persisted: it keeps no journal`;
      tb.replaceChildren(); return;
    }
    $("journal-note").textContent = "";
    const t = await tokenFor(WATCHER);
    let after = state.journal.length ? state.journal[state.journal.length - 1].seq : -1;
    for (;;) {
      const r = await fetch(`${API}/${enc(state.type)}/${enc(state.id)}/events?after=${after}&limit=500`, { headers: { Authorization: "Bearer " + t } });
      const body = await r.json();
      if (generation !== state.generation) return;
      if (!r.ok) { $("journal-note").textContent = body.error; return; }
      state.journal.push(...body.events);
      if (body.events.length < 500) break;
      after = body.next;
    }
    const before = $("caller-select").options.length;
    fillCallers(state.detail.callers);
    if (!before && $("caller-select").options.length) showCallerView();
    tb.replaceChildren();
    state.journal.slice().reverse().forEach((e) => {
      const tr = row(tb, [e.seq, when(e.time), e.kind, e.type || "", `${e.caller.type}:${e.caller.id}`]);
      tr.dataset.seq = e.seq;
      if (e.error) tr.title = e.error;
      if (state.travel === e.seq) tr.classList.add("selected");
      tr.addEventListener("click", () => travel(e.seq));
    });
  }

  async function travel(seq) {
    const generation = state.generation;
    state.travel = seq; setLive(false);
    document.querySelectorAll("#journal tbody tr").forEach((tr) => tr.classList.toggle("selected", +tr.dataset.seq === seq));
    const body = await inspect(`/actors/${enc(state.type)}/${enc(state.id)}/at?seq=${seq}`).catch((e) => ({ error: e.message }));
    if (generation !== state.generation || state.travel !== seq) return;
    show($("travel"), true);
    $("travel-seq").textContent = seq;
    if (body.error) { $("travel-what").textContent = body.error; return; }
    const e = body.entry;
    $("travel-what").textContent = `${e.kind}${e.type ? " " + e.type : ""} from ${e.caller.type}:${e.caller.id}`;
    showState(body.value, body.public, body.internal);
    const list = $("changes"); list.replaceChildren();
    (body.changes || []).forEach((op) => {
      const li = document.createElement("li");
      const b = document.createElement("span"); b.className = "op"; b.textContent = op.op + " ";
      li.appendChild(b);
      li.appendChild(document.createTextNode(op.path + (op.op === "remove" ? "" : " = " + short(JSON.stringify(op.value)))));
      list.appendChild(li);
    });
    if (!body.changes) list.innerHTML = "<li>the actor was made here</li>";
    else if (!body.changes.length) list.innerHTML = "<li>nothing changed</li>";
    const seqs = state.journal.map((j) => j.seq);
    $("travel-back").disabled = seqs.indexOf(seq) <= 0;
    $("travel-forward").disabled = seqs.indexOf(seq) >= seqs.length - 1;
    await showCallerView();
  }
  function short(s) { return s.length > 120 ? s.slice(0, 119) + "…" : s; }
  function stepBy(d) {
    const seqs = state.journal.map((j) => j.seq), i = seqs.indexOf(state.travel) + d;
    if (i >= 0 && i < seqs.length) travel(seqs[i]);
  }
  $("travel-back").addEventListener("click", () => stepBy(-1));
  $("travel-forward").addEventListener("click", () => stepBy(1));
  $("travel-live").addEventListener("click", () => {
    state.travel = null; show($("travel"), false); $("changes").replaceChildren();
    document.querySelectorAll("#journal tbody tr.selected").forEach((tr) => tr.classList.remove("selected"));
    setLive(!!state.socket && state.socket.readyState === 1);
    refresh();
  });

  // -- sending an event, from a form built from the caller type's JSON Schema -----------------
  function buildSendForm() {
    const kind = $("send-kind").value, events = state.types[state.type].events[kind] || {};
    const select = $("send-type"), chosen = select.value;
    select.replaceChildren();
    Object.keys(events).forEach((name) => { const o = document.createElement("option"); o.value = o.textContent = name; select.appendChild(o); });
    if (events[chosen]) select.value = chosen;
    $("send").disabled = !select.options.length;
    buildFields();
  }
  function buildFields() {
    const box = $("send-fields"); box.replaceChildren();
    const kind = $("send-kind").value, name = $("send-type").value;
    const schema = ((state.types[state.type].events[kind] || {})[name]) || {};
    const props = schema.properties || {}, required = new Set(schema.required || []);
    const defs = schema.definitions || {};
    Object.keys(props).forEach((key) => {
      let p = props[key];
      if (p.$ref && p.$ref.startsWith("#/definitions/")) p = defs[p.$ref.slice(14)] || p;
      const label = document.createElement("label");
      const span = document.createElement("span"); span.className = "field-name";
      span.textContent = key + (required.has(key) ? " *" : ""); label.appendChild(span);
      let input;
      const type = Array.isArray(p.type) ? p.type[0] : p.type;
      if (p.enum) {
        input = document.createElement("select");
        p.enum.forEach((v) => { const o = document.createElement("option"); o.value = JSON.stringify(v); o.textContent = String(v); input.appendChild(o); });
        input.dataset.kind = "json";
      } else if (type === "boolean") {
        input = document.createElement("input"); input.type = "checkbox"; input.dataset.kind = "boolean";
      } else if (type === "number" || type === "integer") {
        input = document.createElement("input"); input.type = "number"; input.step = type === "integer" ? "1" : "any"; input.dataset.kind = "number";
      } else if (type === "string") {
        input = document.createElement("input"); input.dataset.kind = "string";
      } else {
        input = document.createElement("input"); input.dataset.kind = "json"; input.placeholder = "JSON, e.g. " + (type === "array" ? "[]" : "{}");
      }
      input.name = key; input.dataset.required = required.has(key) ? "1" : "";
      label.appendChild(input); box.appendChild(label);
    });
    if (!Object.keys(props).length) box.innerHTML = '<p class="muted">no fields</p>';
  }
  function formEvent() {
    if ($("send-raw").checked) return JSON.parse($("send-json").value);
    const event = { type: $("send-type").value };
    $("send-fields").querySelectorAll("input, select").forEach((input) => {
      const k = input.dataset.kind;
      if (k === "boolean") { event[input.name] = input.checked; return; }
      if (input.value === "" && !input.dataset.required) return;
      if (k === "number") event[input.name] = input.value === "" ? null : Number(input.value);
      else if (k === "json") event[input.name] = input.value === "" ? null : JSON.parse(input.value);
      else event[input.name] = input.value;
    });
    return event;
  }
  $("send-kind").addEventListener("change", buildSendForm);
  $("send-type").addEventListener("change", buildFields);
  $("send-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("send-result").textContent = ""; $("send-error").textContent = "";
    let event;
    try { event = formEvent(); } catch (err) { $("send-error").textContent = "not JSON: " + err.message; return; }
    $("send-json").value = JSON.stringify(event);
    const caller = `${$("send-kind").value}:${$("send-id").value.trim() || "inspector"}`;
    try {
      const t = await tokenFor(caller);
      const r = await fetch(`${API}/${enc(state.type)}/${enc(state.id)}`, {
        method: "POST", body: JSON.stringify(event),
        headers: { Authorization: "Bearer " + t, "Content-Type": "application/json" },
      });
      const body = await r.json();
      if (!r.ok) {
        $("send-error").textContent = `${r.status}: ${body.error}` + (body.pointer ? ` (at ${body.pointer})` : "");
        return;
      }
      refresh();  // a step that changed no view (internal keys only) sends no frame
      $("send-result").textContent = body.handled === false
        ? `sent as ${caller}: no transition took it (step ${body.seq}, nothing changed)`
        : `sent as ${caller}: committed as step ${body.seq}`;
    } catch (err) { $("send-error").textContent = err.message; }
  });

  window.addEventListener("hashchange", () => {
    const wanted = new URLSearchParams(location.hash.slice(1));
    if (wanted.get("id") && wanted.get("id") !== state.id) openActor(wanted.get("id"));
  });
  // Frames come only when the view changes: internal keys, timers, who is connected and
  // the journal are read again every few seconds as well.
  setInterval(() => { if (state.id && !document.hidden) refresh(); }, 3000);
  start().catch((e) => { status(e.message); });
})();

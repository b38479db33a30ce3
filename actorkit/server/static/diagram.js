// Draws a chart model ({root, transitions}) as SVG: states as nested boxes (a parallel
// state's regions side by side, dashed), transitions as labelled arrows, internal ones
// (no target) as lines inside their state. Small on purpose: no layout library to ship.
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const CH = 7.3, LINE = 15, PAD = 12, GAP = 40, ROWGAP = 58, HEAD = 22;
  let ALL = [];

  function label(t) {
    let s = t.event || "";
    if (t.guard) s += (s ? " " : "") + "[" + t.guard + "]";
    if (t.action) s += " / " + t.action;
    return s || "(always)";
  }
  function el(name, attrs, parent) {
    const n = document.createElementNS(NS, name);
    for (const k in attrs) n.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(n);
    return n;
  }
  function history(node) { return node.kind.endsWith("history"); }
  function short(s, n) { return s.length > n ? s.slice(0, n - 1) + "…" : s; }

  // Sizes every box bottom-up; children of a compound state go in rows, a parallel
  // state's regions in one row.
  function measure(node, inner, isRegion) {
    node.inner = (inner[node.name] || []).map((t) => short(label(t), 44));
    node.region = !!isRegion;
    const head = HEAD + node.inner.length * LINE;
    const textW = Math.max(node.name.length * CH + 16, ...node.inner.map((s) => s.length * 6.6 + 8));
    const kids = node.children;
    if (!kids.length) {
      node.w = Math.max(textW + 2 * PAD, 90); node.h = head + (node.inner.length ? 8 : 10);
      return;
    }
    kids.forEach((c) => measure(c, inner, node.kind === "parallel"));
    const rows = node.kind === "parallel" ? [kids] : layers(node, kids);
    const gap = node.kind === "parallel" ? 14 : GAP;
    let y = head + 18, w = 0;
    const widths = rows.map((row) => row.reduce((a, c) => a + c.w, 0) + gap * (row.length - 1));
    const inside = Math.max(...widths);
    rows.forEach((row, r) => {
      // rows centred under each other, so arrows between them run mostly up and down
      let x = PAD + (node.kind === "parallel" ? 0 : 14) + (inside - widths[r]) / 2;
      const h = Math.max(...row.map((c) => c.h));
      row.forEach((c) => { c.x = x; c.y = y; x += c.w + gap; if (node.kind === "parallel") c.h = h; });
      w = Math.max(w, x - gap + PAD);
      y += h + (node.kind === "parallel" ? 14 : ROWGAP);
    });
    node.w = Math.max(w, textW + 2 * PAD);
    node.h = y - (node.kind === "parallel" ? 14 : ROWGAP) + PAD;
  }

  // The children of a compound state in rows by how many transitions away from the initial
  // child they are (the initial child on top); those no transition reaches go last.
  function layers(node, kids) {
    const owner = {};
    kids.forEach((k) => (function mark(n) { owner[n.name] = k.name; n.children.forEach(mark); })(k));
    const next = {};
    kids.forEach((k) => (next[k.name] = []));
    ALL.forEach((t) => {
      const a = owner[t.source], b = owner[t.target];
      if (a && b && a !== b) next[a].push(b);
    });
    const rank = {};
    const first = node.initial && owner[node.initial] ? node.initial : kids[0].name;
    rank[first] = 0;
    const queue = [first];
    while (queue.length) {
      const a = queue.shift();
      next[a].forEach((b) => { if (rank[b] === undefined) { rank[b] = rank[a] + 1; queue.push(b); } });
    }
    const deepest = Math.max(...Object.values(rank));
    const rows = [];
    kids.forEach((k) => {
      // a history state is a marker, not a step on the way: beside the initial child
      const r = history(k) ? 0 : (rank[k.name] === undefined ? deepest + 1 : rank[k.name]);
      (rows[r] = rows[r] || []).push(k);
    });
    return rows.filter(Boolean);
  }
  function place(node, ox, oy, boxes, parent) {
    node.ax = ox + (node.x || 0); node.ay = oy + (node.y || 0);
    boxes[node.name] = node;
    node.parent = parent;
    node.children.forEach((c) => place(c, node.ax, node.ay, boxes, node));
  }

  function drawState(node, g, top) {
    const kind = node.region ? "region" : (history(node) ? "history" : node.kind);
    const s = el("g", { class: "state " + kind + " " + node.kind, "data-state": node.name }, g);
    el("rect", { x: node.ax, y: node.ay, width: node.w, height: node.h, rx: history(node) ? 14 : 8 }, s);
    const name = el("text", { x: node.ax + 10, y: node.ay + 16, class: "name" }, s);
    name.textContent = history(node) ? (node.kind === "deep-history" ? "H* " : "H ") + node.name : node.name;
    node.inner.forEach((line, i) => {
      const t = el("text", { x: node.ax + 10, y: node.ay + 16 + (i + 1) * LINE, class: "inner" }, s);
      t.textContent = line;
    });
    node.children.forEach((c) => {
      if (node.kind !== "parallel" && node.initial === c.name) {  // the initial dot and arrow
        el("circle", { cx: c.ax - 10, cy: c.ay + 12, r: 4, class: "initial" }, s);
      }
    });
    node.children.forEach((c) => drawState(c, g, false));
    return s;
  }

  // The point where the line from a box's centre towards (tx, ty) leaves the box.
  function border(b, tx, ty) {
    const cx = b.ax + b.w / 2, cy = b.ay + b.h / 2;
    const dx = tx - cx, dy = ty - cy;
    if (!dx && !dy) return [cx, cy];
    const sx = dx ? (b.w / 2) / Math.abs(dx) : Infinity, sy = dy ? (b.h / 2) / Math.abs(dy) : Infinity;
    const s = Math.min(sx, sy);
    return [cx + dx * s, cy + dy * s];
  }
  function contains(a, b) { for (let p = b; p; p = p.parent) if (p === a) return true; return false; }

  function drawEdges(transitions, boxes, g) {
    const count = {}, total = {};
    // labels keep off the boxes of states without children, and off each other
    const placed = Object.values(boxes).filter((b) => !b.children.length).map((b) => [b.ax, b.ay, b.ax + b.w, b.ay + b.h]);
    const pair = (t) => [t.source, t.target].sort().join("\u0000");
    transitions.forEach((t) => { total[pair(t)] = (total[pair(t)] || 0) + 1; });
    transitions.forEach((t) => {
      const a = boxes[t.source], b = boxes[t.target];
      if (!a || !b) return;
      const kind = t.kind === "timer" ? "timer" : (t.event ? "event" : "eventless");
      const e = el("g", { class: "edge " + kind, "data-source": t.source, "data-target": t.target }, g);
      const key = pair(t);
      const k = (count[key] = (count[key] || 0) + 1) - 1, spread = k - (total[key] - 1) / 2;
      let d, lx, ly;
      if (a === b || contains(a, b) || contains(b, a)) {  // a loop on the right-hand edge
        const inner = contains(a, b) && a !== b ? b : a;
        const x = inner.ax + inner.w, y = inner.ay + 14 + k * 16;
        d = `M${x} ${y} C${x + 40} ${y - 12} ${x + 40} ${y + 28} ${x} ${y + 16}`;
        lx = x + 36; ly = y + 6;
      } else {
        const bc = [b.ax + b.w / 2, b.ay + b.h / 2], ac = [a.ax + a.w / 2, a.ay + a.h / 2];
        const [x1, y1] = border(a, bc[0], bc[1]);
        const [x2, y2] = border(b, ac[0], ac[1]);
        const off = spread * 40 * (t.source < t.target ? 1 : -1);
        const len = Math.hypot(x2 - x1, y2 - y1) || 1;
        const mx = (x1 + x2) / 2 - (y2 - y1) / len * off, my = (y1 + y2) / 2 + (x2 - x1) / len * off;
        d = `M${x1} ${y1} Q${mx} ${my} ${x2} ${y2}`;
        lx = (x1 + 2 * mx + x2) / 4; ly = (y1 + 2 * my + y2) / 4;
      }
      el("path", { d: d, "marker-end": "url(#arrow-" + kind + ")" }, e);
      const text = (t.kind === "timer" ? "\u23F1 " : "") + short(label(t), 40);
      // a label that would cover one drawn already moves down until it is clear
      const half = text.length * 3.3 + 3;
      const covers = (r) => lx - half < r[2] && lx + half > r[0] && ly - 12 < r[3] && ly + 4 > r[1];
      for (let tries = 0; tries < 16 && placed.some(covers); tries++) ly += 8;
      placed.push([lx - half, ly - 12, lx + half, ly + 4]);
      el("rect", { x: lx - text.length * 3.3 - 3, y: ly - 11, width: text.length * 6.6 + 6, height: 15, class: "label-bg" }, e);
      const tx = el("text", { x: lx, y: ly, "text-anchor": "middle" }, e);
      tx.textContent = text;
    });
  }

  function marker(defs, id, color) {
    const m = el("marker", { id: id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, defs);
    el("path", { d: "M0 0 L10 5 L0 10 z", fill: color }, m);
  }

  // Draw `model` into `container`; returns an object whose highlight(names) marks the
  // active states.
  function draw(container, model) {
    const inner = {}, outer = [];
    model.transitions.forEach((t) => {
      if (t.target === null || t.target === undefined) (inner[t.source] = inner[t.source] || []).push(t);
      else outer.push(t);
    });
    ALL = model.transitions;
    const root = JSON.parse(JSON.stringify(model.root));
    measure(root, inner, false);
    const boxes = {};
    place(root, 10, 10, boxes, null);
    const svg = el("svg", { class: "chart", width: root.w + 80, height: root.h + 30, role: "img", "aria-label": "statechart " + root.name });
    const defs = el("defs", {}, svg);
    marker(defs, "arrow-event", "#2f5fd0"); marker(defs, "arrow-eventless", "#7c3aed"); marker(defs, "arrow-timer", "#c2410c");
    const states = el("g", {}, svg);
    drawState(root, states, true);
    drawEdges(outer, boxes, el("g", {}, svg));
    container.replaceChildren(svg);
    return {
      highlight(names) {
        svg.querySelectorAll("g.state").forEach((g) => {
          g.classList.toggle("active", names.has(g.getAttribute("data-state")));
        });
      },
      root: root.name,
    };
  }

  // The state names a state value ("A", {"A": "B"}, {"P": {"R1": "X", "R2": "Y"}}) holds.
  function activeNames(value, rootName) {
    const names = new Set(rootName ? [rootName] : []);
    (function walk(v) {
      if (typeof v === "string") names.add(v);
      else if (v && typeof v === "object") for (const k in v) { names.add(k); walk(v[k]); }
    })(value);
    return names;
  }

  window.ActorkitDiagram = { draw: draw, activeNames: activeNames };
})();

// yoi dashboard: plain JS, no build step, no external resources. Talks to the node's /api with the bearer token
// kept in sessionStorage (never in a URL). The Worker page follows /api/workers/{name}/events with fetch (EventSource
// cannot send an Authorization header) and resumes with Last-Event-ID after a disconnect.
"use strict";

const TOKEN_KEY = "yoi-token";
const app = document.getElementById("app");
let stopPage = () => {};

// ------------------------------------------------------------------ helpers

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) el.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

// One prompt for every request that got a 401 meanwhile (the overview asks three endpoints at once).
let pendingToken = null;
function askToken() {
  if (pendingToken) return pendingToken;
  pendingToken = new Promise(resolve => {
    const dialog = document.getElementById("token-dialog");
    const form = document.getElementById("token-form");
    form.onsubmit = ev => {
      ev.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, document.getElementById("token-input").value);
      dialog.close();
      pendingToken = null;
      resolve();
    };
    if (!dialog.open) dialog.showModal();
  });
  return pendingToken;
}

async function api(method, path, body, contentType = "application/json") {
  for (;;) {
    const headers = {};
    if (token()) headers.Authorization = "Bearer " + token();
    if (body !== undefined) headers["Content-Type"] = contentType;
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : (typeof body === "string" ? body : JSON.stringify(body)) });
    if (r.status === 401) { sessionStorage.removeItem(TOKEN_KEY); await askToken(); continue; }
    const text = await r.text();
    const json = text ? JSON.parse(text) : {};
    if (!r.ok) throw new Error(`${json.code || r.status}: ${json.detail || text}`);
    return json;
  }
}

function flash(msg) { const f = document.getElementById("flash"); if (f) f.textContent = msg || ""; }

function statusSpan(s) { return h("span", { class: "status-" + s, "data-status": s }, s); }

// ------------------------------------------------------------------ overview

async function overview() {
  const cluster = h("section", { id: "cluster" }, h("h2", {}, "Cluster"));
  const shards = h("section", { id: "shards" }, h("h2", {}, "Shards"));
  const workers = h("section", { id: "workers" }, h("h2", {}, "Workers"));
  app.replaceChildren(h("div", { id: "flash" }), cluster, shards, workers);
  let alive = true;
  stopPage = () => { alive = false; };
  async function refresh() {
    try {
      const [c, s, w] = await Promise.all([api("GET", "/api/cluster"), api("GET", "/api/shards"), api("GET", "/api/workers")]);
      document.getElementById("node-label").textContent = c.self_address;
      cluster.replaceChildren(h("h2", {}, "Cluster"), h("table", {},
        h("tr", {}, h("th", {}, "member"), h("th", {}, "status"), h("th", {}, "leader"), h("th", {}, "reachable"), h("th", {}, "roles")),
        c.members.map(m => h("tr", { class: "member" }, h("td", {}, m.address, m.self ? h("span", { class: "muted" }, " (this node)") : null),
          h("td", {}, m.status), h("td", {}, m.leader ? "leader" : ""), h("td", {}, m.reachable ? "yes" : "UNREACHABLE"), h("td", {}, m.roles.join(", "))))));
      shards.replaceChildren(h("h2", {}, "Shards"), h("table", {},
        h("tr", {}, h("th", {}, "region"), h("th", {}, "node"), h("th", {}, "shards"), h("th", {}, "entities")),
        s.regions.flatMap(r => r.nodes.map(n => h("tr", {}, h("td", {}, r.region), h("td", {}, n.address), h("td", {}, n.shards),
          h("td", {}, n.entities, n.error ? h("span", { class: "muted" }, " " + n.error) : null))))));
      workers.replaceChildren(h("h2", {}, "Workers"), h("table", {},
        h("tr", {}, h("th", {}, "name"), h("th", {}, "status"), h("th", {}, "node"), h("th", {}, "entries"), h("th", {}, "children")),
        w.workers.map(x => h("tr", { class: "worker", "data-name": x.name },
          h("td", {}, h("a", { href: "#/w/" + encodeURIComponent(x.name) }, x.name)), h("td", {}, statusSpan(x.status)),
          h("td", {}, x.node || ""), h("td", {}, x.entries ?? ""), h("td", {}, (x.children || []).join(", "))))));
      flash("");
    } catch (e) { flash(e.message); }
    if (alive) setTimeout(refresh, 2000);
  }
  refresh();
}

// ------------------------------------------------------------------ transcript model

function segmentsText(segs) {
  return (segs || []).map(s => s.kind === "file_ref" ? "@" + s.path : s.kind === "flow" ? `[Flow: ${s.selector}]` : (s.content ?? "")).join("");
}

function renderEntry(e) {
  switch (e.kind) {
    case "user_input": return h("div", { class: "msg user" }, h("span", { class: "label" }, "user"), segmentsText(e.segments));
    case "assistant_item": {
      const it = e.item;
      if (it.type === "message" || it.kind === "message" || it.content) {
        const text = (it.content || []).map(p => p.text ?? p.refusal ?? "").join("");
        return h("div", { class: "msg assistant" }, h("span", { class: "label" }, "assistant"), text);
      }
      if (it.text !== undefined && it.call_id === undefined)
        return h("details", { class: "msg system" }, h("summary", {}, "thinking"), it.text || (it.summary || []).join("\n"));
      if (it.call_id !== undefined)
        return h("div", { class: "msg tool" }, h("span", { class: "label" }, "tool call " + it.name), it.arguments);
      return h("div", { class: "msg system" }, JSON.stringify(it));
    }
    case "tool_result": {
      const it = e.item;
      return h("details", { class: "msg tool" + (it.is_error ? " error" : "") }, h("summary", {}, "result: " + it.summary), it.content ?? "");
    }
    case "system_item": return h("div", { class: "msg system" }, h("span", { class: "label" }, "system · " + e.item.kind), e.item.body ?? e.item.message ?? "");
    case "run_errored": return h("div", { class: "msg error" }, "run error: " + e.message);
    case "llm_usage": return h("div", { class: "msg system usage" }, `usage: in ${e.input_total_tokens} · out ${e.output_tokens}`);
    default: return null;
  }
}

// ------------------------------------------------------------------ worker page

async function workerPage(name) {
  const state = { entries: [], inflight: [], lastId: null, status: "?", alive: true, abort: null };
  stopPage = () => { state.alive = false; state.abort?.abort(); };

  const statusEl = h("span", { id: "worker-status" });
  const transcript = h("div", { id: "transcript" });
  const input = h("textarea", { id: "input", placeholder: "Message (Enter to send, Shift+Enter for a new line)" });
  const rewindList = h("div", { id: "rewind-list" });
  const side = h("div", { id: "side" });
  const cmd = (label, path, body) => h("button", { id: "btn-" + label, onclick: async () => {
    try { flash(""); await api("POST", `/api/workers/${encodeURIComponent(name)}/${path}`, body?.()); } catch (e) { flash(e.message); }
  } }, label);
  const send = async () => {
    const text = input.value;
    if (!text.trim()) return;
    try { flash(""); await api("POST", `/api/workers/${encodeURIComponent(name)}/runs`, { input: [{ kind: "text", content: text }] }); input.value = ""; }
    catch (e) { flash(e.message); }
  };
  input.addEventListener("keydown", ev => { if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); send(); } });

  app.replaceChildren(
    h("section", {}, h("h2", {}, h("a", { href: "#/" }, "workers"), " / ", h("span", { id: "worker-name" }, name), " ", statusEl),
      h("div", { id: "flash" }),
      h("div", { class: "controls" }, cmd("pause", "pause"), cmd("resume", "resume"), cmd("cancel", "cancel"), cmd("compact", "compact"),
        cmd("notify", "notify", () => ({ message: prompt("Notification for the Worker") || "", auto_run: true })),
        h("button", { id: "btn-rewind-list", onclick: () => loadRewind() }, "rewind…"))),
    h("div", { class: "grid2" },
      h("section", {}, h("h2", {}, "Transcript"), transcript,
        h("div", { id: "composer" }, input, h("button", { id: "send", onclick: send }, "Send"))),
      h("div", {}, h("section", {}, h("h2", {}, "Rewind"), rewindList), side)));

  async function loadRewind() {
    try {
      const r = await api("GET", `/api/workers/${encodeURIComponent(name)}/rewind-targets`);
      rewindList.replaceChildren(r.targets.length ? h("table", {}, r.targets.map(t => h("tr", { class: "rewind-target" },
        h("td", {}, "#" + t.turn_index), h("td", {}, t.preview, t.warning ? h("div", { class: "muted" }, t.warning) : null),
        h("td", {}, h("button", { class: "rewind-apply", onclick: async () => {
          try {
            const applied = await api("POST", `/api/workers/${encodeURIComponent(name)}/rewind`, { target: t.id, expected_head_entries: t.expected_head_entries });
            input.value = segmentsText(applied.input);
            rewindList.replaceChildren(h("span", { class: "muted" }, `rewound: ${applied.summary.discarded_entries} entries discarded`));
          } catch (e) { flash(e.message); }
        } }, "rewind here"))))) : h("span", { class: "muted" }, "no user inputs in this segment"));
    } catch (e) { flash(e.message); }
  }

  async function loadSide() {
    try {
      const w = await api("GET", `/api/workers/${encodeURIComponent(name)}`);
      const tree = h("ul", { class: "tree", id: "children" }, (w.children || []).map(c => h("li", {}, h("a", { href: "#/w/" + encodeURIComponent(c) }, c))));
      side.replaceChildren(
        h("section", { id: "info" }, h("h2", {}, "Worker"), h("table", {},
          [["node", w.node], ["session", w.session_id], ["segment", w.segment_id], ["entries", w.entries], ["turns", w.turn_count],
           ["notify pending", w.notify_pending], ["clients", w.clients]].map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))))),
        h("section", { id: "delegation" }, h("h2", {}, "Delegation"), (w.children || []).length ? tree : h("span", { class: "muted" }, "no children"),
          (w.loans || []).length ? h("div", {}, h("h3", {}, "loans"), h("ul", { class: "tree" }, w.loans.map(l => h("li", {}, JSON.stringify(l))))) : null),
        h("section", { id: "segments" }, h("h2", {}, "Previous segments"), (w.previous_segments || []).length
          ? h("table", {}, (w.previous_segments).map(p => h("tr", {}, h("td", {}, p.segment_id), h("td", {}, p.entries + " entries"),
              h("td", {}, new Date(p.rotated_at).toLocaleString()))))
          : h("span", { class: "muted" }, "none")));
    } catch (e) { flash(e.message); }
  }

  function render() {
    statusEl.replaceChildren(statusSpan(state.status));
    const nodes = state.entries.map(renderEntry).filter(Boolean);
    for (const b of state.inflight) {
      if (b.kind === "text" && b.text) nodes.push(h("div", { class: "msg inflight", "data-inflight": "text" }, b.text));
      else if (b.kind === "thinking") nodes.push(h("details", { class: "msg system" }, h("summary", {}, "thinking…"), b.text || ""));
      else if (b.kind === "tool_call") nodes.push(h("div", { class: "msg tool" }, h("span", { class: "label" }, "tool call " + b.name + " (" + (b.state || "pending") + ")"), b.args || ""));
      else if (b.kind === "note") nodes.push(h("div", { class: "msg " + b.cls }, b.text));
    }
    const atBottom = transcript.scrollTop + transcript.clientHeight >= transcript.scrollHeight - 20;
    transcript.replaceChildren(...nodes);
    if (atBottom) transcript.scrollTop = transcript.scrollHeight;
  }

  // Committed records (journal events) change the entries; in-flight blocks only show until their item commits.
  function applyRecord(rec) {
    if (rec.kind === "segment_rotated") state.entries = [];
    else if (rec.kind === "entries_discarded") state.entries.splice(rec.record.keep_entries);
    else if (rec.kind === "entry") {
      const e = rec.record;
      state.entries.push(e);
      if (e.kind === "assistant_item") {
        const text = (e.item.content || []).map(p => p.text ?? "").join("");
        const i = state.inflight.findIndex(b => b.kind === "text" && b.text === text);
        if (i >= 0) state.inflight.splice(i, 1);
        else if (e.item.call_id !== undefined) state.inflight = state.inflight.filter(b => !(b.kind === "tool_call" && b.id === e.item.call_id));
        else if (e.item.text !== undefined) state.inflight = state.inflight.filter(b => b.kind !== "thinking");
      }
    }
  }

  function lastText() {
    let b = state.inflight[state.inflight.length - 1];
    if (!b || b.kind !== "text" || b.finished) { b = { kind: "text", text: "" }; state.inflight.push(b); }
    return b;
  }

  function applyEvent(name, ev) {
    const d = ev.data || {};
    switch (name) {
      case "snapshot":
        state.entries = d.entries || []; state.status = d.status || "idle"; state.inflight = (d.in_flight && d.in_flight.blocks) || []; break;
      case "journal": applyRecord(d); break;
      case "in_flight": state.inflight = d.blocks || []; break;
      case "status": state.status = d.status; if (d.status !== "running") state.inflight = state.inflight.filter(b => b.kind === "note"); loadSide(); break;
      case "text_delta": lastText().text += d.text; break;
      case "text_done": { const b = lastText(); if (!b.text) b.text = d.text; b.finished = true; break; }
      case "thinking_start": state.inflight.push({ kind: "thinking", text: "" }); break;
      case "thinking_delta": { const b = state.inflight.findLast(x => x.kind === "thinking"); if (b) b.text += d.text; break; }
      case "tool_call_start": state.inflight.push({ kind: "tool_call", id: d.id, name: d.name, args: "" }); break;
      case "tool_call_args_delta": { const b = state.inflight.find(x => x.kind === "tool_call" && x.id === d.id); if (b) { b.args += d.json; b.state = "streaming_args"; } break; }
      case "tool_call_done": { const b = state.inflight.find(x => x.kind === "tool_call" && x.id === d.id); if (b) { b.args = d.arguments; b.state = "done"; } break; }
      case "llm_retry": state.inflight.push({ kind: "note", cls: "alert", text: `retry ${d.failed_attempt}/${d.max_attempts} in ${d.wait_ms} ms: ${d.error}` }); break;
      case "alert": state.inflight.push({ kind: "note", cls: "alert", text: `${d.level} (${d.source}): ${d.message}` }); break;
      case "error": state.inflight.push({ kind: "note", cls: "error", text: `${d.code}: ${d.message}` }); break;
      case "run_end": state.inflight.push({ kind: "note", cls: "system run-end", text: "run ended: " + d.result }); break;
      case "overflow": flash(d.message); break;
      default: return;
    }
    render();
  }

  // SSE over fetch: parse `id:` / `event:` / `data:` lines; reconnect with the last id after any disconnect.
  async function follow() {
    let backoff = 500;
    while (state.alive) {
      state.abort = new AbortController();
      try {
        const headers = { Accept: "text/event-stream" };
        if (token()) headers.Authorization = "Bearer " + token();
        if (state.lastId !== null) headers["Last-Event-ID"] = state.lastId;
        const r = await fetch(`/api/workers/${encodeURIComponent(name)}/events`, { headers, signal: state.abort.signal });
        if (r.status === 401) { sessionStorage.removeItem(TOKEN_KEY); await askToken(); continue; }
        if (!r.ok) { flash((await r.json()).detail || r.statusText); await new Promise(res => setTimeout(res, 3000)); continue; }
        document.getElementById("conn").textContent = "live";
        backoff = 500;
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "", id = null, ev = null, data = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let nl;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).replace(/\r$/, ""); buf = buf.slice(nl + 1);
            if (line === "") {
              if (data) { if (id !== null) state.lastId = id; applyEvent(ev || "message", JSON.parse(data)); }
              id = null; ev = null; data = "";
            } else if (!line.startsWith(":")) {
              const c = line.indexOf(":"); const f = c < 0 ? line : line.slice(0, c); const v = c < 0 ? "" : line.slice(c + 1).replace(/^ /, "");
              if (f === "id") id = v; else if (f === "event") ev = v; else if (f === "data") data += v;
            }
          }
        }
      } catch (e) { if (!state.alive) return; }
      document.getElementById("conn").textContent = "reconnecting";
      await new Promise(res => setTimeout(res, backoff));
      backoff = Math.min(backoff * 2, 5000);
    }
  }

  loadSide();
  follow();
}

// ------------------------------------------------------------------ routing

function route() {
  stopPage();
  const m = location.hash.match(/^#\/w\/(.+)$/);
  if (m) workerPage(decodeURIComponent(m[1])); else overview();
}
window.addEventListener("hashchange", route);
route();

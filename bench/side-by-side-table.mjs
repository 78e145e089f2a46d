// Prints the side-by-side table (markdown) from the three parts' JSON: yoi.json af.json langgraph.json.
import fs from "node:fs";
import os from "node:os";
import { execSync } from "node:child_process";

const [yoi, af, lg] = process.argv.slice(2, 5).map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
const all = [yoi, af, lg];
const f = (x, d = 2) => (x === undefined || x === null ? "–" : Number(x).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
const i = (x) => f(x, 0);
const kb = (x) => (x === undefined ? "–" : (x / 1024).toLocaleString("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 1 }) + " KiB");
const ratio = (peer, ours) => (ours > 0 ? f(peer / ours, 1) + "×" : "–");
const tp = (r, agents) => r.throughput.find((t) => t.agents === agents);

const rows = [];
const row = (label, fn) => rows.push(`| ${label} | ${all.map(fn).join(" | ")} |`);
rows.push(`| figure | ${all.map((r) => r.runtime).join(" | ")} |`);
rows.push("|---|---:|---:|---:|");
row(`per-turn overhead, median (ms; ${yoi.per_turn.turns} turns, 1 agent)`, (r) => f(r.per_turn.median_ms));
row("per-turn overhead, p99 (ms)", (r) => f(r.per_turn.p99_ms));
row("JSON streamed to the consumer per turn (bytes)", (r) => i(r.streamed_json_bytes_per_turn));
for (const w of yoi.bytes_per_turn.filter((w) => w.median_ms !== undefined))
  row(`per-turn median at history ≈ ${w.history_turns} turns (ms)`, (r) => f(r.bytes_per_turn.find((x) => x.history_turns === w.history_turns)?.median_ms));
for (const t of yoi.throughput)
  row(`throughput, ${t.agents} concurrent agent${t.agents > 1 ? "s" : ""} × ${t.turns_per_agent} turns (turns/s)`, (r) => i(tp(r, t.agents)?.turns_per_s));
for (const t of yoi.throughput)
  row(`CPU per turn at ${t.agents} concurrent agent${t.agents > 1 ? "s" : ""} (ms, whole process)`, (r) => f(tp(r, t.agents)?.cpu_ms_per_turn));
row(`recovery of a ${i(yoi.recovery.entries)}-entry Yoi session = ${yoi.recovery.turns} turns (ms, median)`, (r) => `${f(r.recovery.median_ms)} (${i(r.recovery.entries)} ${r.recovery.entry_unit})`);
row(`recovery of the same session on a warm node / in a warm process (ms, median)`, (r) => f(r.recovery.warm_node_median_ms ?? r.recovery.median_ms));
row(`resident memory per idle agent (RSS delta, ${yoi.memory.agents} agents)`, (r) => kb(r.memory.rss_bytes_per_agent));
row("managed/JS heap per idle agent", (r) => kb(r.memory.heap_bytes_per_agent));
for (const w of yoi.bytes_per_turn)
  row(`bytes written per turn at history ≈ ${w.history_turns} turns`, (r) => i(r.bytes_per_turn.find((x) => x.history_turns === w.history_turns)?.bytes_per_turn));
if (yoi.bytes_per_turn[0]?.journal_bytes_per_turn !== undefined)
  rows.push(`| of which Yoi journal (append-only delta) | ${yoi.bytes_per_turn.map((w) => i(w.journal_bytes_per_turn)).join(" / ")} | | |`);

const ratios = [
  `| figure | AF ÷ Yoi | LangGraph ÷ Yoi |`,
  `|---|---:|---:|`,
  `| per-turn median | ${ratio(af.per_turn.median_ms, yoi.per_turn.median_ms)} | ${ratio(lg.per_turn.median_ms, yoi.per_turn.median_ms)} |`,
  `| per-turn p99 | ${ratio(af.per_turn.p99_ms, yoi.per_turn.p99_ms)} | ${ratio(lg.per_turn.p99_ms, yoi.per_turn.p99_ms)} |`,
  ...yoi.bytes_per_turn.filter((w) => w.median_ms !== undefined).map((w) => {
    const at = (r) => r.bytes_per_turn.find((x) => x.history_turns === w.history_turns)?.median_ms;
    return `| per-turn median at history ≈ ${w.history_turns} turns | ${ratio(at(af), w.median_ms)} | ${ratio(at(lg), w.median_ms)} |`;
  }),
  ...yoi.throughput.map((t) => `| throughput ${t.agents} agents (Yoi ÷ peer) | ${ratio(t.turns_per_s, tp(af, t.agents).turns_per_s)} | ${ratio(t.turns_per_s, tp(lg, t.agents).turns_per_s)} |`),
  `| recovery | ${ratio(af.recovery.median_ms, yoi.recovery.median_ms)} | ${ratio(lg.recovery.median_ms, yoi.recovery.median_ms)} |`,
  ...yoi.bytes_per_turn.map((w) => `| bytes/turn at ≈ ${w.history_turns} turns | ${ratio(af.bytes_per_turn.find((x) => x.history_turns === w.history_turns).bytes_per_turn, w.bytes_per_turn)} | ${ratio(lg.bytes_per_turn.find((x) => x.history_turns === w.history_turns).bytes_per_turn, w.bytes_per_turn)} |`),
];

const sh = (c) => { try { return execSync(c, { encoding: "utf8" }).trim(); } catch { return "?"; } };
const osName = sh(". /etc/os-release && echo $PRETTY_NAME");
console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${osName}, kernel ${os.release()}`);
console.log(`runtimes: ${all.map((r) => `${r.runtime}: ${r.version}`).join("; ")}`);
console.log(`JIT warm-up before the figures (same plan in every part: fresh agents of 50 turns, 200 ms idle after each, ≤ 30 s): ${all.map((r) => `${r.runtime} ${i(r.warm_up_turns)} turns`).join(", ")}`);
console.log("");
console.log(rows.join("\n"));
console.log("");
console.log(ratios.join("\n"));
console.log("");
for (const r of all) console.log(`- ${r.runtime}: durability: ${r.durability}. Streaming: ${r.streaming ?? "–"}. Memory: ${r.memory.note}. Recovery: ${r.recovery.note}. Bytes: ${r.bytes_note}.`);
if (lg.recovery.real_turns_thread)
  console.log(`- LangGraph.js recovery of its real-turn thread (${lg.recovery.real_turns_thread.turns} turns, ${lg.recovery.real_turns_thread.entries} messages): ${f(lg.recovery.real_turns_thread.median_ms)} ms.`);
const y = yoi.bytes_per_turn.map((w) => w.journal_bytes_per_turn);
const spread = (Math.max(...y) - Math.min(...y)) / Math.min(...y);
console.log("");
console.log(`targets: per-turn median ≥ 10× lower than both peers: ${af.per_turn.median_ms / yoi.per_turn.median_ms >= 10 && lg.per_turn.median_ms / yoi.per_turn.median_ms >= 10 ? "MET" : "NOT MET"} ` +
  `(AF ${ratio(af.per_turn.median_ms, yoi.per_turn.median_ms)}, LangGraph ${ratio(lg.per_turn.median_ms, yoi.per_turn.median_ms)}); ` +
  `journal bytes per turn constant in history length: ${spread < 0.05 ? "MET" : "NOT MET"} (spread ${(spread * 100).toFixed(1)}%); ` +
  `with snapshots amortized: ${yoi.bytes_per_turn.map((w) => i(w.bytes_per_turn)).join(" → ")} bytes/turn.`);

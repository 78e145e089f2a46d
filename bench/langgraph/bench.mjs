// The LangGraph.js part of bench/run-side-by-side.sh: the same workload as Yoi's part — a zero-latency model
// stub answering each user turn with one tool call, then (after the tool result) text; the tool returns at once;
// durable state after every turn: the @langchain/langgraph-checkpoint-sqlite SqliteSaver (WAL) writes its
// checkpoints (one per superstep) as the prebuilt ReAct agent loop runs. Prints one JSON object with the same
// keys as the other parts (stdout, or --out FILE). Run with `node --expose-gc bench.mjs`.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { createRequire } from "node:module";
import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3");

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const quick = args.includes("--quick");
const latencyTurns = +arg("--latency-turns", quick ? 100 : 300);
const throughputPlan = arg("--throughput", quick ? "1:50,100:2,1000:1" : "1:200,100:5,1000:2")
  .split(",").map((p) => p.split(":").map(Number)).map(([agents, turns]) => ({ agents, turns }));
const recoveryTurns = +arg("--recovery-turns", quick ? 300 : 1400);
const recoverySamples = +arg("--recovery-samples", 5);
// Recoveries before the timed ones (the read path tiers up, as every part warms its turn path): 10 in every part.
const recoveryWarmUp = +arg("--recovery-warm-up", 10);
const windows = arg("--windows", quick ? "0,100,200" : "0,500,1000").split(",").map(Number);
const windowSize = +arg("--window-size", quick ? 50 : 100);
const outFile = arg("--out", null);
const warmUpTurns = +arg("--warm-up", quick ? 1000 : 3000);
const sync = arg("--sync", "normal").toUpperCase();

/** A zero-latency model: the user's turn gets one Echo tool call, anything after the tool result gets text. */
class PingPongModel extends BaseChatModel {
  _llmType() { return "ping-pong"; }
  bindTools() { return this; }
  async _generate(messages) {
    const last = messages[messages.length - 1];
    const message = HumanMessage.isInstance(last)
      ? new AIMessage({ content: "", tool_calls: [{ id: "c" + messages.length, name: "Echo", args: { text: "ping" }, type: "tool_call" }],
          usage_metadata: { input_tokens: 100, output_tokens: 10, total_tokens: 110 } })
      : new AIMessage({ content: "done", usage_metadata: { input_tokens: 120, output_tokens: 2, total_tokens: 122 } });
    return { generations: [{ text: typeof message.content === "string" ? message.content : "", message }] };
  }
}

const echo = tool(async ({ text }) => "echo: " + text, {
  name: "Echo",
  description: "Echoes its input",
  schema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
});

const root = fs.mkdtempSync(path.join(os.tmpdir(), "langgraph-sbs-"));
const file = path.join(root, "checkpoints.db");
const llm = new PingPongModel({});
// SqliteSaver.fromConnString with the synchronous level the other parts use (better-sqlite3 builds with
// SQLITE_DEFAULT_WAL_SYNCHRONOUS=1, i.e. NORMAL, unless told otherwise).
function openSaver() {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${sync}`);
  return new SqliteSaver(db);
}
const saver = openSaver();
const agent = createReactAgent({ llm, tools: [echo], checkpointer: saver });

// Each turn streams (stream mode "messages") and every chunk is serialized to JSON for a consumer, as Yoi streams
// every event to its attached client as the protocol's JSON: equal streaming work (issue 20, item 3).
let streamedBytes = 0;
async function turn(thread, text) {
  // "values" only to check the answer in the final state; only the "messages" chunks are serialized.
  const stream = await agent.stream({ messages: [new HumanMessage(text)] },
    { configurable: { thread_id: thread }, streamMode: ["messages", "values"] });
  let state = null;
  for await (const [mode, chunk] of stream) {
    if (mode === "messages") streamedBytes += Buffer.byteLength(JSON.stringify({ message: chunk[0], metadata: chunk[1] }));
    else state = chunk;
  }
  const last = state?.messages[state.messages.length - 1];
  if (last?.content !== "done") throw new Error("unexpected answer: " + JSON.stringify(last?.content));
}

function percentiles(times) {
  const s = [...times].sort((a, b) => a - b);
  return { turns: s.length, median_ms: s[Math.floor(s.length / 2)], p99_ms: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] };
}

function memory() {
  for (let i = 0; i < 3; i++) global.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

const reader = new Database(file, { readonly: true, fileMustExist: false });
function storedBytes(thread) {
  const a = reader.prepare("SELECT COALESCE(SUM(LENGTH(checkpoint) + LENGTH(metadata)), 0) AS n FROM checkpoints WHERE thread_id = ?").get(thread).n;
  const b = reader.prepare("SELECT COALESCE(SUM(LENGTH(value)), 0) AS n FROM writes WHERE thread_id = ?").get(thread).n;
  return a + b;
}

const pkg = (name) => JSON.parse(fs.readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;
const result = {
  runtime: "LangGraph.js",
  version: `@langchain/langgraph ${pkg("@langchain/langgraph")}, checkpoint-sqlite ${pkg("@langchain/langgraph-checkpoint-sqlite")}, better-sqlite3 ${pkg("better-sqlite3")} / Node ${process.versions.node}`,
  streaming: 'agent.stream, streamMode "messages"; every [message, metadata] chunk JSON.stringify-ed',
  durability: `prebuilt createReactAgent with SqliteSaver (WAL, synchronous=${sync}): a full checkpoint per superstep + pending writes`,
};

try {
  // JIT warm-up, the same plan in every part: fresh threads of 50 turns, 200 ms idle after each, until --warm-up
  // turns or 30 s.
  const warm0 = performance.now();
  let warmDone = 0;
  while (warmDone < warmUpTurns && performance.now() - warm0 < 30_000) {
    for (let i = 0; i < 50 && warmDone < warmUpTurns; i++, warmDone++) await turn("warm-up-" + Math.floor(warmDone / 50), "warm-up " + i);
    await new Promise((r) => setTimeout(r, 200));
  }
  result.warm_up_turns = warmDone;

  // Per-turn overhead: one agent, turns one after another.
  for (let i = 0; i < 20; i++) await turn("latency", "warm-up " + i);
  const times = [];
  const streamedBefore = streamedBytes;
  for (let i = 0; i < latencyTurns; i++) {
    const t0 = performance.now();
    await turn("latency", "turn " + i);
    times.push(performance.now() - t0);
  }
  result.per_turn = percentiles(times);
  result.streamed_json_bytes_per_turn = (streamedBytes - streamedBefore) / times.length;

  // Throughput with A agents at once (threads); memory of the largest batch once idle.
  result.throughput = [];
  const largest = Math.max(...throughputPlan.map((t) => t.agents));
  for (const { agents, turns } of throughputPlan) {
    const before = agents === largest ? memory() : null;
    const ids = Array.from({ length: agents }, (_, i) => `tp${agents}-${i}`);
    await Promise.all(ids.map((id) => turn(id, "warm-up")));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(ids.map(async (id) => { for (let t = 0; t < turns; t++) await turn(id, "turn " + t); }));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    result.throughput.push({ agents, turns_per_agent: turns, seconds, turns_per_s: (agents * turns) / seconds,
      cpu_ms_per_turn: (cpu.user + cpu.system) / 1000 / (agents * turns) });
    if (before) {
      await new Promise((r) => setTimeout(r, 500));
      const after = memory();
      result.memory = {
        agents, turns_each: turns + 1,
        rss_bytes_per_agent: Math.round((after.rss - before.rss) / agents),
        heap_bytes_per_agent: Math.round((after.heap - before.heap) / agents),
        note: "an idle thread holds nothing in memory: its state lives only in the checkpointer",
      };
    }
  }

  // Stored bytes per turn as history grows. Every turn writes ~4 full checkpoints, so running the whole
  // recovery-sized history for real is quadratic (minutes, GBs); this thread runs only up to the last window.
  result.bytes_per_turn = [];
  const totalTurns = Math.max(...windows) + windowSize;
  let windowStart = 0;
  const fill0 = performance.now();
  let windowTimes = [];
  for (let t = 0; t < totalTurns; t++) {
    if (windows.includes(t)) { windowStart = storedBytes("big"); windowTimes = []; }
    const t0 = performance.now();
    await turn("big", "fill " + t);
    windowTimes.push(performance.now() - t0);
    if (windows.includes(t + 1 - windowSize))
      result.bytes_per_turn.push({ history_turns: t + 1 - windowSize, bytes_per_turn: (storedBytes("big") - windowStart) / windowSize,
        median_ms: percentiles(windowTimes.slice(-windowSize)).median_ms });
  }
  result.fill_seconds = (performance.now() - fill0) / 1000;
  result.bytes_note = "checkpoint + metadata + pending-write bytes appended per turn (every checkpoint is kept)";

  // Recovery: a fresh SqliteSaver (new connection) on the file; time getState of a thread. The recovery-sized
  // thread is written with one updateState carrying the same messages its turns would have produced (its latest
  // checkpoint, the only one getState reads, has the same shape); the real-turn thread is timed too, for reference.
  const messages = [];
  for (let t = 0; t < recoveryTurns; t++) {
    const id = "c" + (4 * t + 1);
    messages.push(new HumanMessage("fill " + t),
      new AIMessage({ content: "", tool_calls: [{ id, name: "Echo", args: { text: "ping" }, type: "tool_call" }], usage_metadata: { input_tokens: 100, output_tokens: 10, total_tokens: 110 } }),
      new ToolMessage({ content: "echo: ping", tool_call_id: id, name: "Echo" }),
      new AIMessage({ content: "done", usage_metadata: { input_tokens: 120, output_tokens: 2, total_tokens: 122 } }));
  }
  await agent.updateState({ configurable: { thread_id: "rec" } }, { messages });
  async function recover(thread) {
    const samples = [];
    let entries = 0;
    for (let i = 0; i < recoveryWarmUp + recoverySamples; i++) {
      const fresh = openSaver();
      const g = createReactAgent({ llm, tools: [echo], checkpointer: fresh });
      const t0 = performance.now();
      const state = await g.getState({ configurable: { thread_id: thread } });
      const ms = performance.now() - t0;
      entries = state.values.messages.length;
      if (i >= recoveryWarmUp) samples.push(ms);
    }
    samples.sort((a, b) => a - b);
    return { entries, median_ms: samples[Math.floor(samples.length / 2)] };
  }
  const rec = await recover("rec");
  const real = await recover("big");
  result.recovery = {
    turns: recoveryTurns, entries: rec.entries, entry_unit: "messages", median_ms: rec.median_ms,
    note: `fresh SqliteSaver (new connection) + getState; warm process, after ${recoveryWarmUp} warm-up recoveries; history written by one updateState`,
    real_turns_thread: { turns: totalTurns, entries: real.entries, median_ms: real.median_ms },
  };
} finally {
  reader.close();
  fs.rmSync(root, { recursive: true, force: true });
}

const text = JSON.stringify(result, null, 2);
if (outFile) fs.writeFileSync(outFile, text);
else console.log(text);

#!/usr/bin/env bash
# Side by side (issue 9): the same agent workload on Yoi.Actors, Microsoft Agent Framework and LangGraph.js,
# in one invocation on this machine, then the table. Usage: bash bench/run-side-by-side.sh [--quick] [--sync normal|full]
# Workload: a zero-latency model stub answers each user turn with one tool call, then text; the tool returns
# at once; durable state after every turn (Yoi: its SQLite journal; AF: the session serialized to SQLite;
# LangGraph: SqliteSaver checkpoints). Figures in bench/RESULTS.md "## Side by side".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${SIDE_BY_SIDE_OUT:-$(mktemp -d /tmp/side-by-side.XXXXXX)}"
mkdir -p "$out"

quick=""; sync=normal
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --sync) sync="$2"; shift 2 ;;   # SQLite synchronous level for all three stores (normal: the reference's guarantee)
    *) echo "usage: $0 [--quick] [--sync normal|full]" >&2; exit 2 ;;
  esac
done
if [[ -n "$quick" ]]; then
  common=(--latency-turns 100 --throughput 1:50,100:2,1000:1 --windows 0,100,200 --window-size 50 --warm-up 1000)
  entries=2000
else
  common=(--latency-turns 300 --throughput 1:200,100:5,1000:2 --windows 0,250,500 --window-size 50 --warm-up 3000)
  entries=10000
fi
common+=(--sync "$sync")

if [[ -z "${SIDE_BY_SIDE_NO_BUILD:-}" ]]; then   # set it to reuse the last Release builds
  echo "== build" >&2
  dotnet build -c Release "$here/Yoi.Bench/Yoi.Bench.csproj" -nologo -v q >&2
  dotnet build -c Release "$here/AgentFramework/AgentFramework.Bench.csproj" -nologo -v q >&2
fi
if [[ ! -d "$here/langgraph/node_modules/@langchain/langgraph-checkpoint-sqlite" ]]; then
  (cd "$here/langgraph" && npm ci --no-audit --no-fund >&2)
fi

echo "== Yoi.Actors" >&2
dotnet "$here/Yoi.Bench/bin/Release/net10.0/Yoi.Bench.dll" --side-by-side-part yoi "${common[@]}" \
  --recovery-entries "$entries" --out "$out/yoi.json" > "$out/yoi.log" 2>&1 || { tail -50 "$out/yoi.log" >&2; exit 1; }
# The peers recover the same conversation: as many turns as Yoi needed for a $entries-entry journal.
turns="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).recovery.turns)' "$out/yoi.json")"

echo "== Microsoft Agent Framework" >&2
dotnet "$here/AgentFramework/bin/Release/net10.0/AgentFramework.Bench.dll" "${common[@]}" \
  --recovery-turns "$turns" --out "$out/af.json" > "$out/af.log" 2>&1 || { tail -50 "$out/af.log" >&2; exit 1; }

echo "== LangGraph.js" >&2
(cd "$here/langgraph" && node --expose-gc bench.mjs "${common[@]}" --recovery-turns "$turns" --out "$out/langgraph.json") \
  > "$out/langgraph.log" 2>&1 || { tail -50 "$out/langgraph.log" >&2; exit 1; }

node "$here/side-by-side-table.mjs" "$out/yoi.json" "$out/af.json" "$out/langgraph.json"
echo "(raw JSON and logs: $out)" >&2

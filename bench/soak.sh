#!/usr/bin/env bash
# Soak bench of the node's trust boundary (issue 14): floods a real `yoi serve` on 127.0.0.1 with malformed input
# while another client runs turns; prints Markdown tables (per-class replies, RSS, the other client's latency).
# Bounded: fixed counts, a few minutes at most. Usage: bash bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build -c Release -v q bench/Yoi.Soak/Yoi.Soak.csproj >/dev/null
ulimit -n 20000 2>/dev/null || true
exec timeout 600 dotnet bench/Yoi.Soak/bin/Release/net10.0/Yoi.Soak.dll src/Yoi.Actors.Host/bin/Release/net10.0/yoi.dll

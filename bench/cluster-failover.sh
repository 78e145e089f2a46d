#!/usr/bin/env bash
# Failover figures: from a fault (freeze, link cut, partition, kill) to the Worker answering a run on a
# survivor, on 3 real `yoi serve` processes in separate network namespaces over PostgreSQL (hocon/cluster.hocon).
# The scenario tests measure it and print "failover after <fault>: N s"; this script runs them and collects the
# lines. Needs root (network namespaces), $YOI_TEST_PG (bash .ci/postgres.sh) and a build of tests/Yoi.Host.Tests.
set -uo pipefail
cd "$(dirname "$0")/.."
export YOI_TEST_PG=${YOI_TEST_PG:-$(bash .ci/postgres.sh)}
runner=tests/Yoi.Host.Tests/bin/Debug/net10.0/Yoi.Host.Tests
log=$(mktemp)
for round in $(seq 1 "${ROUNDS:-1}"); do
  # One -class filter only: the xUnit v3 runner ANDs filters of different kinds (-class with -method matched nothing).
  timeout -k 10 1500 "$runner" -class Yoi.Host.Tests.Cluster.ClusterFaultTests -showLiveOutput >>"$log" 2>&1
done
grep -hoE "failover after [a-z ]+: [0-9.]+ s|serving again after: .*" "$log" | sed 's/\x1b\[[0-9;]*m//g'
echo "(full log: $log)"

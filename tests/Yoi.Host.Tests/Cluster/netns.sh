#!/usr/bin/env bash
# Test hosts on separate networks: one network namespace per node, joined by veth pairs to a bridge in the root
# namespace, each node with its own address in a private /24 that exists only on this bridge and in these namespaces.
# Used by NetnsCluster.cs; every command is idempotent and bounded, `down` removes everything `up` created.
#
#   netns.sh up    ID N OCTET     namespaces yoi-ID-n1..nN, bridge ybID = 10.231.OCTET.1/24, node i = 10.231.OCTET.(10+i)
#   netns.sh down  ID N
#   netns.sh cut   ID N OCTET i j       drop all traffic between nodes i and j (both directions; the database stays reachable)
#   netns.sh heal  ID N OCTET i j
#   netns.sh isolate ID N OCTET i       cut node i from every other node
#   netns.sh rejoin  ID N OCTET i
#   netns.sh delay ID N OCTET i MS      netem delay (+/- MS/4 jitter) on node i's link; MS=0 removes it
#   netns.sh check                exit 0 when namespaces, veth, bridges and iptables work here
# Names stay under the kernel's 15-character limit for interfaces: ID is 6 hex digits.
set -euo pipefail
cmd=${1:?command}; shift || true

ns() { echo "yoi-$1-n$2"; }
ip_of() { echo "10.231.$1.$((10 + $2))"; }

case "$cmd" in
  check)
    [ "$(id -u)" = 0 ] || { echo "not root"; exit 1; }
    command -v ip >/dev/null && command -v iptables >/dev/null && command -v tc >/dev/null || { echo "ip/iptables/tc missing"; exit 1; }
    probe="yoi-probe-$$"
    ip netns add "$probe" || { echo "ip netns add failed"; exit 1; }
    trap 'ip netns del "$probe" 2>/dev/null || true' EXIT
    ip netns exec "$probe" iptables -L -n >/dev/null || { echo "iptables unusable in a namespace"; exit 1; }
    ip link add "yc$$" type veth peer name "yd$$" || { echo "veth unsupported"; exit 1; }
    ip link del "yc$$"
    ;;
  up)
    id=$1 n=$2 octet=$3
    br="yb$id"
    ip link add "$br" type bridge
    ip addr add "10.231.$octet.1/24" dev "$br"
    ip link set "$br" up
    # Bridged frames must not be filtered by the host's FORWARD chain (Docker sets its policy to DROP).
    sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
    for i in $(seq 1 "$n"); do
      name=$(ns "$id" "$i")
      ip netns add "$name"
      ip link add "yh$id$i" type veth peer name "yn$id$i"
      ip link set "yn$id$i" netns "$name"
      ip link set "yh$id$i" master "$br"
      ip link set "yh$id$i" up
      ip netns exec "$name" ip link set lo up
      ip netns exec "$name" ip addr add "$(ip_of "$octet" "$i")/24" dev "yn$id$i"
      ip netns exec "$name" ip link set "yn$id$i" up
      ip netns exec "$name" ip route add default via "10.231.$octet.1"
    done
    ;;
  down)
    id=$1 n=$2
    for i in $(seq 1 "$n"); do
      name=$(ns "$id" "$i")
      # Processes still inside would keep the namespace alive: kill them first.
      for pid in $(ip netns pids "$name" 2>/dev/null); do kill -CONT "$pid" 2>/dev/null || true; kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$name" 2>/dev/null || true
      ip link del "yh$id$i" 2>/dev/null || true
    done
    ip link del "yb$id" 2>/dev/null || true
    ;;
  cut|heal)
    id=$1 octet=$3 i=$4 j=$5
    op=$([ "$cmd" = cut ] && echo -I || echo -D)
    for pair in "$i $j" "$j $i"; do
      set -- $pair
      peer=$(ip_of "$octet" "$2")
      ip netns exec "$(ns "$id" "$1")" iptables "$op" INPUT -s "$peer" -j DROP 2>/dev/null || [ "$cmd" = heal ]
      ip netns exec "$(ns "$id" "$1")" iptables "$op" OUTPUT -d "$peer" -j DROP 2>/dev/null || [ "$cmd" = heal ]
    done
    ;;
  isolate|rejoin)
    id=$1 n=$2 octet=$3 i=$4
    sub=$([ "$cmd" = isolate ] && echo cut || echo heal)
    for j in $(seq 1 "$n"); do [ "$j" = "$i" ] || "$0" "$sub" "$id" "$n" "$octet" "$i" "$j"; done
    ;;
  delay)
    id=$1 i=$4 ms=$5
    dev="yn$id$i"
    ip netns exec "$(ns "$id" "$i")" tc qdisc del dev "$dev" root 2>/dev/null || true
    [ "$ms" = 0 ] || ip netns exec "$(ns "$id" "$i")" tc qdisc add dev "$dev" root netem delay "${ms}ms" "$((ms / 4))ms"
    ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac

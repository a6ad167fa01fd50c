#!/usr/bin/env bash
# RSTP benchmark (not a test): rings of 4 and 8 bridges in network
# namespaces, dsas-node's RSTP role vs Linux kernel STP (802.1D) on the
# same topology, plus the simulator scale run (1000 bridges).
#
# Per ring: bridge 0 is the root (priority 4096), host A hangs on bridge 0,
# host B on bridge 1; `ping -i 0.001 -D` from A to B is the 1 ms probe
# stream (static ARP, so no broadcast is needed). Figures:
#   initial  : all links up -> first reply
#   cut      : link 0-1 carrier down -> traffic flowing again (largest gap
#              between replies; traffic has to go the long way round)
#   restore  : link 0-1 up again -> largest gap in the stream afterwards
# Timers everywhere: hello 1 s, max age 10 s, forward delay 6 s (MaxAge
# bounds the diameter: each hop adds 1 s of message age, and the long way
# round a ring of 8 is 7 hops; with max age 6 the far bridges would discard
# the information and the cut would not heal).
#
# Usage (root): bench/rstp/run.sh            # builds dsas-node (release)
#               SIZES="4" IMPLS="dsas" bench/rstp/run.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/rstpnode}
SIZES=${SIZES:-"4 8"}
IMPLS=${IMPLS:-"dsas kernel"}
PHASE_DSAS=${PHASE_DSAS:-3}      # seconds observed after a cut/restore
PHASE_KERNEL=${PHASE_KERNEL:-45}
SIM=${SIM:-1}
HELLO=${HELLO:-1}
MAX_AGE=${MAX_AGE:-10}
FWD_DELAY=${FWD_DELAY:-6}

[ "$(id -u)" = 0 ] || { echo "bench/rstp: needs root" >&2; exit 1; }
(cd "$ROOT" && cargo build -q --release -p dsas-node)
NODE=$CARGO_TARGET_DIR/release/dsas-node
WORK=$(mktemp -d /tmp/rstp-bench.XXXXXX)
PFX=rb$$
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    for ns in $(ip netns list | awk '{print $1}' | grep "^$PFX-" || true); do
        ip netns del "$ns" 2>/dev/null || true
    done
}
trap 'cleanup; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT

now() { date +%s.%N; }

# largest gap (ms) between consecutive replies after epoch $2 in ping log $1,
# counting from $2 itself.
gap_after() {
    awk -v t0="$2" 'match($0, /^\[[0-9.]+\]/) && /bytes from/ {
        t = substr($0, 2, RLENGTH - 2) + 0
        if (t < t0) { last = t; next }
        if (last < t0) last = t0
        g = t - last; if (g > max) max = g; last = t
    } END { printf "%.1f", max * 1000 }' "$1"
}

first_after() {
    awk -v t0="$2" 'match($0, /^\[[0-9.]+\]/) && /bytes from/ {
        t = substr($0, 2, RLENGTH - 2) + 0
        if (t >= t0) { printf "%.1f", (t - t0) * 1000; found = 1; exit }
    } END { if (!found) printf "n/a" }' "$1"
}

# ring IMPL N -> prints "initial cut restore" in ms
ring() {
    local impl=$1 n=$2 i j
    cleanup
    PIDS=()
    rm -f "$WORK"/b*.sock
    for ((i = 0; i < n; i++)); do
        local ns=$PFX-b$i prio=32768
        [ $i = 0 ] && prio=4096
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        local mac; mac=$(printf '02:00:00:00:01:%02x' $((i + 1)))
        if [ "$impl" = kernel ]; then
            ip -n "$ns" link add br0 address "$mac" type bridge stp_state 1 \
                forward_delay $((FWD_DELAY * 100)) hello_time $((HELLO * 100)) max_age $((MAX_AGE * 100)) priority $prio mcast_snooping 0
        else
            ip -n "$ns" link add br0 address "$mac" type bridge stp_state 0 mcast_snooping 0
        fi
        ip -n "$ns" link set br0 up
    done
    for ((i = 0; i < n; i++)); do
        j=$(((i + 1) % n))
        ip link add "r$i" netns "$PFX-b$i" type veth peer name "l$j" netns "$PFX-b$j"
        ip -n "$PFX-b$i" link set "r$i" master br0
        ip -n "$PFX-b$j" link set "l$j" master br0
    done
    for h in 0 1; do
        ip netns add "$PFX-h$h"
        ip -n "$PFX-h$h" link set lo up
        ip link add eth0 netns "$PFX-h$h" address "02:00:00:00:02:0$h" type veth peer name "h$h" netns "$PFX-b$h"
        ip -n "$PFX-h$h" addr add "10.9.0.$((h + 1))/24" dev eth0
        ip -n "$PFX-b$h" link set "h$h" master br0
        ip -n "$PFX-b$h" link set "h$h" up
        ip -n "$PFX-h$h" link set eth0 up
    done
    ip -n "$PFX-h0" neigh add 10.9.0.2 lladdr 02:00:00:00:02:01 dev eth0 nud permanent
    ip -n "$PFX-h1" neigh add 10.9.0.1 lladdr 02:00:00:00:02:00 dev eth0 nud permanent
    if [ "$impl" = dsas ]; then
        for ((i = 0; i < n; i++)); do
            local prio=32768
            [ $i = 0 ] && prio=4096
            local ports="r$i l$i"
            [ $i -le 1 ] && ports="$ports h$i"
            {
                printf '[node]\ncontrol_socket = "%s/b%d.sock"\nlog_level = "%s"\n' "$WORK" "$i" "${NODE_LOG:-warn}"
                printf '[rstp]\nbridge = "br0"\npriority = %d\nhello_time = %d\nmax_age = %d\nforward_delay = %d\n' "$prio" "$HELLO" "$MAX_AGE" "$FWD_DELAY"
                for p in $ports; do
                    printf '[[rstp.port]]\nname = "%s"\n' "$p"
                    # host ports: admin edge (no 3 s auto-edge wait)
                    case $p in h*) printf 'admin_edge = true\n' ;; esac
                done
            } > "$WORK/b$i.toml"
            ip netns exec "$PFX-b$i" "$NODE" run --config "$WORK/b$i.toml" 2> "$WORK/b$i.log" &
            PIDS+=($!)
        done
        for ((i = 0; i < n; i++)); do
            for _ in $(seq 100); do [ -S "$WORK/b$i.sock" ] && break; sleep 0.05; done
        done
        sleep 0.3
    fi
    local log=$WORK/ping-$impl-$n.log phase=$PHASE_DSAS
    [ "$impl" = kernel ] && phase=$PHASE_KERNEL
    local total=$((phase * 3 + 45))
    ip netns exec "$PFX-h0" ping -D -i 0.001 -W 0.5 -w "$total" 10.9.0.2 > "$log" 2>&1 &
    local ping=$!
    PIDS+=($ping)
    sleep 0.2
    local t_up; t_up=$(now)
    for ((i = 0; i < n; i++)); do
        ip -n "$PFX-b$i" link set "r$i" up
        j=$(((i + 1) % n))
        ip -n "$PFX-b$j" link set "l$j" up
    done
    # wait for the first reply, then let the tree settle
    for _ in $(seq 400); do grep -q "bytes from" "$log" && break; sleep 0.1; done
    sleep "$phase"
    local t_cut; t_cut=$(now)
    ip -n "$PFX-b0" link set r0 down
    sleep "$phase"
    local t_restore; t_restore=$(now)
    ip -n "$PFX-b0" link set r0 up
    sleep "$phase"
    kill -INT "$ping" 2>/dev/null || true
    wait "$ping" 2>/dev/null || true
    local initial cut restore
    initial=$(first_after "$log" "$t_up")
    cut=$(gap_after "$log" "$t_cut")
    restore=$(gap_after "$log" "$t_restore")
    echo "$initial $cut $restore"
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}

declare -A R
for n in $SIZES; do
    for impl in $IMPLS; do
        echo "ring of $n, $impl ..." >&2
        R[$impl-$n]=$(ring "$impl" "$n")
    done
done

echo
echo "RSTP ring benchmark (ms; probe: ping -i 0.001, host A on the root, host B on its neighbour;"
echo "hello $HELLO s, max age $MAX_AGE s, forward delay $FWD_DELAY s; a cut figure close to the phase"
echo "length ($PHASE_DSAS s dsas, $PHASE_KERNEL s kernel) or above means no recovery before the restore)"
printf '%-6s %-8s %12s %12s %12s\n' ring impl initial cut restore
for n in $SIZES; do
    for impl in $IMPLS; do
        read -r a b c <<< "${R[$impl-$n]}"
        printf '%-6s %-8s %12s %12s %12s\n' "$n" "$impl" "$a" "$b" "$c"
    done
done

if [ "$SIM" = 1 ]; then
    echo
    echo "simulator scale run (rstp/tests/sim_scale.rs, 1000 bridges, release):"
    (cd "$ROOT" && cargo test -q --release -p rstp --test sim_scale --no-run 2>/dev/null)
    (cd "$ROOT" && /usr/bin/time -f "  cpu user %Us sys %Ss, wall %es, max rss %MkB" \
        cargo test -q --release -p rstp --test sim_scale -- --ignored --nocapture 2>&1 |
        grep -v '^$' | grep -iv "running\|test result\|^test " || true)
fi

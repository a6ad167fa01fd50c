#!/usr/bin/env bash
# RSTP benchmark (not a test): rings of 4 and 8 bridges in network
# namespaces, dsas-node's RSTP role vs Linux kernel STP (802.1D) on the
# same topology, plus the simulator scale run (1000 bridges).
#
# Per ring: bridge 0 is the root (priority 4096), host A hangs on bridge 0,
# host B on bridge 1; A sends B a UDP datagram every 1 ms on a fixed
# schedule (bench/probe.py; static ARP, so no broadcast is needed) and B
# logs each arrival. Figures (ms):
#   initial  : all ring links up -> first datagram through
#   cut      : link 0-1 cut (b0 sets r0 admin down: b0 sees its port go
#              down, b1 sees carrier loss on l1) -> the gap between arrivals
#              spanning the cut; traffic has to go the long way round
#   restore  : link 0-1 up again -> the outage it causes (largest gap
#              starting within 2 x hello + 1 s of the restore)
#   noise    : largest gap between arrivals in the quiet second before the
#              cut: the resolution of the probe on this machine
# The sender never waits for an answer (iputils ping pauses ~10 ms after an
# unanswered probe, which hid outages under 11 ms), so a gap of g ms means
# about g - 1 ms without forwarding. NODE_LOG=debug gives dsas-node's own
# timestamps (link event, BPDUs, port states) for the protocol's share.
# Each phase lasts until the stream has been flowing again for a while
# (at least SETTLE s after the event), or until the phase limit
# (LIMIT_S, default max age + 2 x forward delay + 60 s: 802.1D needs
# max age + 2 x forward delay in the worst case, an aged-out root port and a
# blocked port going through Listening and Learning, plus FDB ageing);
# a figure at the limit means no recovery ("-" = no reply).
#
# Timer profiles (same settings for both implementations):
#   fast    hello 1 s, max age 8 s, forward delay 5 s. RSTP adds 1 s of
#           message age per hop (802.1D-2004 17.21.25) and the long way
#           round a ring of 8 is 7 hops, so max age must be >= 8; 5 s is
#           the smallest forward delay with 2 x (FwdDelay - 1) >= MaxAge
#           (17.14), which dsas-node enforces. The kernel itself accepts
#           down to max age 6 s / forward delay 2 s, but not with a ring
#           of 8 under RSTP semantics.
#   default hello 2 s, max age 20 s, forward delay 15 s (802.1D defaults).
# Kernel STP heals a cut in (max age - message age) + 2 x forward delay:
# the bridge beyond the cut keeps its stored root information until it
# ages out, then its formerly blocked port listens and learns.
#
# Usage (root): bench/rstp/run.sh                     # fast profile, 3 runs
#               PROFILES="fast default" RUNS=5 bench/rstp/run.sh
#               SIZES="4" IMPLS="dsas" SIM=0 bench/rstp/run.sh
#               NODE_LOG=debug KEEP=1 ...   # keep dsas-node logs (timestamps)
#               NO_BUILD=1 ...              # use the dsas-node already built
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/rstpnode}
SIZES=${SIZES:-"4 8"}
IMPLS=${IMPLS:-"dsas kernel"}
PROFILES=${PROFILES:-"fast"}
RUNS=${RUNS:-3}
SIM=${SIM:-1}

[ "$(id -u)" = 0 ] || { echo "bench/rstp: needs root" >&2; exit 1; }
if [[ " $IMPLS " == *" dsas "* ]] && [ -z "${NO_BUILD:-}" ]; then
    (cd "$ROOT" && cargo build -q --release -p dsas-node)
fi
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

now() { echo "$EPOCHREALTIME"; }

# outage (ms) caused by an event at $2 in probe log $1: the largest gap
# between consecutive replies that starts in [$2, $2 + $3] (the gap that
# spans $2 starts at the last reply before it); a stream that has not
# resumed by $4 counts to $4. Gaps starting later are scheduling noise on
# a loaded machine, not the event (see `noise`).
outage() {
    awk -v t0="$2" -v w="$3" -v t1="$4" 'BEGIN { last = 0 }
        match($0, /^\[[0-9.]+\]/) && /bytes from/ {
        t = substr($0, 2, RLENGTH - 2) + 0
        if (t < t0) { last = t; next }
        if (t >= t1) exit
        if (last == 0) last = t0
        if (last <= t0 + w) { g = t - last; if (g > max) max = g }
        last = t
    } END { if (last == 0) last = t0
        if (last <= t0 + w) { g = t1 - last; if (g > max) max = g }
        printf "%.1f", max * 1000 }' "$1"
}

# noise (ms): the largest gap between replies in the second before $2
# (a quiet, converged stream; what a 1 ms probe can resolve here).
noise() {
    awk -v t0="$2" 'BEGIN { last = 0 }
        match($0, /^\[[0-9.]+\]/) && /bytes from/ {
        t = substr($0, 2, RLENGTH - 2) + 0
        if (t < t0 - 1) next
        if (t >= t0) exit
        if (last) { g = t - last; if (g > max) max = g }
        last = t
    } END { printf "%.1f", max * 1000 }' "$1"
}

first_after() {
    awk -v t0="$2" 'match($0, /^\[[0-9.]+\]/) && /bytes from/ {
        t = substr($0, 2, RLENGTH - 2) + 0
        if (t >= t0) { printf "%.1f", (t - t0) * 1000; found = 1; exit }
    } END { if (!found) printf "-" }' "$1"
}

last_reply() {
    tail -n 20 "$1" | awk 'match($0, /^\[[0-9.]+\]/) && /bytes from/ {
        t = substr($0, 2, RLENGTH - 2) } END { print (t == "" ? 0 : t) }'
}

# wait_phase LOG T0 LIMIT: returns once replies have been flowing for 1 s
# and at least SETTLE s have passed since T0, or at T0 + LIMIT.
wait_phase() {
    local log=$1 t0=$2 limit=$3 t last flowing_since=""
    while :; do
        sleep 0.1
        t=$(now)
        awk -v t="$t" -v t0="$t0" -v l="$limit" 'BEGIN { exit !(t - t0 >= l) }' && return
        last=$(last_reply "$log")
        if awk -v t="$t" -v l="$last" 'BEGIN { exit !(t - l < 0.05) }'; then
            [ -n "$flowing_since" ] || flowing_since=$t
            awk -v t="$t" -v t0="$t0" -v f="$flowing_since" -v s="$SETTLE" \
                'BEGIN { exit !(t - t0 >= s && t - f >= 1) }' && return
        else
            flowing_since=""
        fi
    done
}

# ring IMPL N -> prints "initial cut restore noise" in ms
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
            # iproute2 takes bridge times in centiseconds
            ip -n "$ns" link add br0 address "$mac" type bridge stp_state 1 \
                forward_delay $((FWD_DELAY * 100)) hello_time $((HELLO * 100)) \
                max_age $((MAX_AGE * 100)) priority $prio mcast_snooping 0
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
            ip netns exec "$PFX-b$i" "$NODE" run --config "$WORK/b$i.toml" 2> "$WORK/$TAG-b$i.log" &
            PIDS+=($!)
        done
        for ((i = 0; i < n; i++)); do
            for _ in $(seq 100); do [ -S "$WORK/b$i.sock" ] && break; sleep 0.05; done
        done
        sleep 0.3
    fi
    local log=$WORK/probe-$TAG.log
    ip netns exec "$PFX-h1" python3 "$ROOT/bench/probe.py" recv 9999 > "$log" 2>&1 &
    local recv=$!
    PIDS+=($recv)
    ip netns exec "$PFX-h0" python3 "$ROOT/bench/probe.py" send 10.9.0.2 9999 1 2>/dev/null &
    local send=$!
    PIDS+=($send)
    sleep 0.2
    local t_up; t_up=$(now)
    for ((i = 0; i < n; i++)); do
        ip -n "$PFX-b$i" link set "r$i" up
        j=$(((i + 1) % n))
        ip -n "$PFX-b$j" link set "l$j" up
    done
    wait_phase "$log" "$t_up" "$LIMIT"
    local t_cut; t_cut=$(now)
    ip -n "$PFX-b0" link set r0 down
    wait_phase "$log" "$t_cut" "$LIMIT"
    local t_restore; t_restore=$(now)
    ip -n "$PFX-b0" link set r0 up
    wait_phase "$log" "$t_restore" "$LIMIT"
    local t_end; t_end=$(now)
    kill "$send" "$recv" 2>/dev/null || true
    wait "$send" "$recv" 2>/dev/null || true
    local initial cut restore quiet
    initial=$(first_after "$log" "$t_up")
    # the cut acts at once; a restore acts when BPDUs cross the new link
    # (within a hello time)
    cut=$(outage "$log" "$t_cut" 0.1 "$t_restore")
    restore=$(outage "$log" "$t_restore" $((2 * HELLO + 1)) "$t_end")
    quiet=$(noise "$log" "$t_cut")
    echo "$initial $cut $restore $quiet"
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}

median() {
    tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "-"; exit }
        if (v[1] == "-") { print "-"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A R
for profile in $PROFILES; do
    case $profile in
        fast) HELLO=1 MAX_AGE=8 FWD_DELAY=5 ;;
        default) HELLO=2 MAX_AGE=20 FWD_DELAY=15 ;;
        *) echo "unknown profile $profile" >&2; exit 2 ;;
    esac
    # at least TxHoldCount (6) s: a port that sent its 6 BPDUs in the last
    # event holds the next one until a tick (802.1D-2004 17.19.44)
    SETTLE=$((3 * HELLO + 1 > 8 ? 3 * HELLO + 1 : 8))
    LIMIT=${LIMIT_S:-$((MAX_AGE + 2 * FWD_DELAY + 60))}
    for n in $SIZES; do
        for impl in $IMPLS; do
            for ((run = 1; run <= RUNS; run++)); do
                TAG=$profile-$impl-$n-$run
                echo "$profile: ring of $n, $impl, run $run ..." >&2
                R[$TAG]=$(ring "$impl" "$n")
                echo "  initial cut restore noise (ms): ${R[$TAG]}" >&2
            done
        done
    done
    echo
    echo "RSTP ring benchmark, profile $profile: hello $HELLO s, max age $MAX_AGE s, forward delay $FWD_DELAY s"
    echo "(ms, median of $RUNS runs [min-max]; probe: a UDP datagram every 1 ms from a host on the root to a host on its"
    echo "neighbour; phase limit $LIMIT s; 2-core machine shared with compiles: figures are noisy)"
    printf '%-5s %-7s %24s %24s %24s %20s\n' ring impl initial cut restore noise
    for n in $SIZES; do
        for impl in $IMPLS; do
            cols=()
            for k in 1 2 3 4; do
                vals=""
                for ((run = 1; run <= RUNS; run++)); do
                    vals="$vals $(echo "${R[$profile-$impl-$n-$run]}" | cut -d' ' -f$k)"
                done
                med=$(echo "$vals" | median)
                range=$(echo "$vals" | tr ' ' '\n' | grep -v '^$' | sort -g | sed -n '1p;$p' | paste -sd-)
                cols+=("$med [$range]")
            done
            printf '%-5s %-7s %24s %24s %24s %20s\n' "$n" "$impl" "${cols[0]}" "${cols[1]}" "${cols[2]}" "${cols[3]}"
        done
    done
done

if [ "$SIM" = 1 ]; then
    echo
    echo "simulator scale run (rstp/tests/sim_scale.rs: 1000-bridge random mesh, 30 simulated s, then"
    echo "checked to be a spanning tree; release build):"
    (cd "$ROOT" && cargo test -q --release -p rstp --test sim_scale --no-run 2>/dev/null)
    (cd "$ROOT" && /usr/bin/time -f "  cpu user %Us sys %Ss, wall %es, max rss %MkB" \
        cargo test -q --release -p rstp --test sim_scale -- --ignored --nocapture 2>&1 |
        grep -v '^$' | grep -iv "running\|test result\|^test " || true)
fi

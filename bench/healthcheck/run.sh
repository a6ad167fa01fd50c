#!/usr/bin/env bash
# Health-check load benchmark (not a test): dsas-node vs keepalived vs
# HAProxy 2.6 checking the same targets, side by side.
#
#   sudo bench/healthcheck/run.sh            # full: 10,000 TCP + 1,000 HTTP targets
#   N_TCP=2000 MEASURE=10 bench/healthcheck/run.sh   # shortened
#   TOOLS=dsas-node KINDS=http bench/healthcheck/run.sh  # one tool, one workload
#   RUNS=3 KINDS=tcp bench/healthcheck/run.sh  # 3 interleaved rounds + median
#
# Everything runs in one network namespace (`hcbench`, removed at exit):
# nginx listens on 0.0.0.0:8080 and the targets are 127.1.X.Y:8080 (the
# whole 127/8 is local on lo), so one listener serves every target.
# Per tool and workload (TCP connect checks, then HTTP GET checks), all at
# a 1 s interval, 1 s timeout, HAProxy thresholds rise 2 / fall 3:
#   * CPU: utime+stime of all the tool's processes over MEASURE seconds
#     after WARM seconds of warm-up, as % of one core; RSS: sum of VmRSS.
#   * Detection latency: then KILL targets are black-holed (nft drop in
#     the namespace) and each tool's "DOWN" log lines are timestamped on
#     arrival; latency = log time − drop time, median and p99.
#   * RUNS rounds (default 1), each running every tool once, one after the
#     other (CPU figures on a shared host drift by a few points between
#     runs: compare tools within a round, or the medians). With RUNS > 1
#     a row per round, then a median row (median CPU, RSS and detection
#     median; worst p99).
# keepalived's checker needs IPVS (it exits at start without it): where
# the kernel has no ip_vs module its column reads "n/a" (lab.sh measures it
# inside the kernel lab instead; see README.md).
set -euo pipefail

N_TCP=${N_TCP:-10000}
N_HTTP=${N_HTTP:-1000}
KILL=${KILL:-100}
WARM=${WARM:-8}
MEASURE=${MEASURE:-15}
DETECT=${DETECT:-9}
TOOLS=${TOOLS:-"dsas-node haproxy keepalived"}
KINDS=${KINDS:-"tcp http"}
RUNS=${RUNS:-1}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${DSAS_NODE:-$ROOT/target/release/dsas-node}
NS=hcbench
WORK=$(mktemp -d /tmp/hcbench.XXXXXX)
PY=${PYTHON:-python3}

[ "$(id -u)" -eq 0 ] || { echo "run as root (network namespace)" >&2; exit 1; }
for t in nginx haproxy keepalived nft "$PY"; do
    command -v "$t" >/dev/null || { echo "missing $t (scripts/install-deps)" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "build first: cargo build --release -p dsas-node (or set DSAS_NODE)" >&2; exit 1; }

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    ip netns del "$NS" 2>/dev/null || true
    [ -n "${KEEP:-}" ] && echo "logs kept in $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
ip netns exec "$NS" sysctl -qw net.core.somaxconn=8192
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cat > "$WORK/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log crit;
worker_rlimit_nofile 19000;
events { worker_connections 18000; }
http {
    access_log off;
    client_body_temp_path $WORK/b; proxy_temp_path $WORK/p; fastcgi_temp_path $WORK/f;
    uwsgi_temp_path $WORK/u; scgi_temp_path $WORK/s;
    server { listen 8080 backlog=8192 reuseport; location / { return 200 "ok\n"; } }
}
EOF
ip netns exec "$NS" nginx -c "$WORK/nginx.conf" &
pids+=($!)
sleep 0.5

target() { echo "127.1.$(( $1 / 250 )).$(( $1 % 250 + 1 ))"; }

# Timestamps each line of stdin (epoch seconds, µs) into $1.
stamp() {
    "$PY" -u -c '
import sys, time
out = open(sys.argv[1], "w", buffering=1)
for line in sys.stdin:
    out.write("%.6f %s" % (time.time(), line))
' "$1"
}

gen_dsas() { # kind n
    local kind=$1 n=$2 i check
    if [ "$kind" = tcp ]; then check='TCP_CHECK = { connect_timeout = 1 }'
    else check='HTTP_GET = { connect_timeout = 1, url = [{ path = "/" }] }'; fi
    {
        printf '[node]\nname = "bench"\ncontrol_socket = "%s/ctl/sock"\nlog_level = "info"\n' "$WORK"
        printf '[health]\nmax_concurrent_probes = 4096\n'
        for ((i = 0; i < n; i++)); do
            if (( i % 100 == 0 )); then
                printf '[[health.virtual_server]]\nip = "10.0.0.1"\nport = %d\ndelay_loop = 1\nwarmup = 1\nrise = 2\nfall = 3\n' $(( i / 100 + 1 ))
            fi
            printf '[[health.virtual_server.real_server]]\nip = "%s"\nport = 8080\n%s\n' "$(target "$i")" "$check"
        done
    } > "$WORK/dsas.toml"
}

gen_haproxy() { # kind n
    local kind=$1 n=$2 i
    {
        printf 'global\n  maxconn 4000\n  log stdout format raw local0\n'
        printf 'defaults\n  mode %s\n  log global\n  timeout connect 1s\n  timeout check 1s\n  timeout client 10s\n  timeout server 10s\n' \
            "$( [ "$kind" = tcp ] && echo tcp || echo http )"
        printf 'frontend fe\n  bind 127.0.0.1:9999\n  default_backend be\n'
        printf 'backend be\n  balance roundrobin\n'
        [ "$kind" = http ] && printf '  option httpchk GET /\n'
        for ((i = 0; i < n; i++)); do
            printf '  server s%d %s:8080 check inter 1s rise 2 fall 3\n' "$i" "$(target "$i")"
        done
    } > "$WORK/haproxy.cfg"
}

gen_keepalived() { # kind n
    local kind=$1 n=$2 i check
    if [ "$kind" = tcp ]; then check='TCP_CHECK { connect_timeout 1 retry 2 delay_before_retry 1 }'
    else check='HTTP_GET { url { path / status_code 200 } connect_timeout 1 retry 2 delay_before_retry 1 }'; fi
    {
        printf 'global_defs { router_id bench }\n'
        for ((i = 0; i < n; i++)); do
            (( i % 100 == 0 )) && { (( i > 0 )) && printf '}\n'; printf 'virtual_server 10.0.0.1 %d {\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n' $(( i / 100 + 1 )); }
            printf ' real_server %s 8080 { %s }\n' "$(target "$i")" "$check"
        done
        printf '}\n'
    } > "$WORK/keepalived.conf"
}

# Sum of utime+stime ticks and of VmRSS (kB) over the given pids.
ticks() { local t=0 p; for p in "$@"; do [ -r /proc/$p/stat ] && t=$(( t + $(awk '{print $14 + $15}' /proc/$p/stat) )); done; echo $t; }
rss() { local r=0 p; for p in "$@"; do [ -r /proc/$p/status ] && r=$(( r + $(awk '/^VmRSS/ {print $2}' /proc/$p/status) )); done; echo $r; }
tree() { local p=$1; echo "$p"; for c in $(pgrep -P "$p"); do tree "$c"; done; }

HZ=$(getconf CLK_TCK)

# The oldest process named $1 in the namespace (other copies may run elsewhere).
in_ns() {
    local p
    for p in $(ip netns pids "$NS" | sort -n); do
        [ "$(cat /proc/$p/comm 2>/dev/null)" = "$1" ] && { echo "$p"; return; }
    done
    true
}
declare -A RESULT

run_one() { # tool kind n
    local tool=$1 kind=$2 n=$3 log=$WORK/$1-$2-$round.log pid bg
    case $tool in
        dsas-node) gen_dsas "$kind" "$n"
            ip netns exec "$NS" "$BIN" run -c "$WORK/dsas.toml" 2>&1 | stamp "$log" & bg=$! ;;
        haproxy) gen_haproxy "$kind" "$n"
            ip netns exec "$NS" haproxy -db -f "$WORK/haproxy.cfg" 2>&1 | stamp "$log" & bg=$! ;;
        keepalived) gen_keepalived "$kind" "$n"
            ip netns exec "$NS" keepalived -n -l -D -C -f "$WORK/keepalived.conf" \
                -p "$WORK/ka.pid" -c "$WORK/kac.pid" 2>&1 | stamp "$log" & bg=$! ;;
    esac
    # Under load (2 cores shared with compilers) start-up can take seconds.
    for _ in $(seq 40); do
        sleep 0.5
        pid=$(in_ns "$tool")
        [ -n "$pid" ] && break
    done
    if [ -z "$pid" ]; then
        RESULT[$tool-$kind-$round]="n/a|n/a|n/a|n/a|n/a|$(grep -m1 -iE 'error|can.t|fatal' "$log" | cut -c19-90 || true)"
        # Not found (or still starting): stop the log reader too, so that
        # whatever was started dies of SIGPIPE and the wait returns.
        kill "$bg" 2>/dev/null || true
        wait "$bg" || true
        return
    fi
    pids+=("$pid")
    sleep "$WARM"
    local procs t0 t1 r
    procs=$(tree "$pid")
    t0=$(ticks $procs)
    sleep "$MEASURE"
    procs=$(tree "$pid")
    t1=$(ticks $procs)
    r=$(rss $procs)
    if grep -q "Can't initialize ipvs" "$log"; then
        RESULT[$tool-$kind-$round]="n/a|n/a|n/a|n/a|n/a|checker needs IPVS (no ip_vs here)"
        kill "$pid" 2>/dev/null || true
        wait "$bg" || true
        return
    fi
    if [ -z "$procs" ] || ! kill -0 "$pid" 2>/dev/null; then
        RESULT[$tool-$kind-$round]="n/a|n/a|n/a|n/a|n/a|exited: $(grep -m1 -iE 'error|can.t|fatal' "$log" | cut -c19-90 || true)"
        wait "$bg" || true
        return
    fi
    local drop_at
    # The empty table and chain first: only the rule (one nft run, about
    # 4 ms) lies between the drop time and the drop. The time is bash's own
    # clock: a python run to read it would add its exit (tens of ms) to
    # every tool's detection latency.
    ip netns exec "$NS" nft add table ip bh
    ip netns exec "$NS" nft add chain ip bh out '{ type filter hook output priority 0; }'
    drop_at=$EPOCHREALTIME
    ip netns exec "$NS" nft add rule ip bh out ip daddr 127.1.0.1-127.1.0.$KILL tcp dport 8080 drop
    sleep "$DETECT"
    kill "$pid" 2>/dev/null || true
    wait "$bg" || true
    ip netns exec "$NS" nft delete table ip bh
    local lat
    lat=$("$PY" - "$log" "$drop_at" "$tool" "$KILL" <<'EOF'
import re, sys, statistics
log, t0, tool, kill = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ansi = re.compile(r"\x1b\[[0-9;]*m")
seen = {}
for line in open(log, errors="replace"):
    ts, _, msg = line.partition(" ")
    msg = ansi.sub("", msg)
    t = float(ts)
    if t < t0:
        continue
    key = None
    if tool == "dsas-node":
        m = re.search(r"real server DOWN .*target=127\.1\.0\.(\d+):8080", msg)
        key = m and int(m.group(1))
    elif tool == "haproxy":
        m = re.search(r"Server be/s(\d+) is DOWN", msg)
        key = m and int(m.group(1)) + 1
    else:
        m = re.search(r"Removing service \[127\.1\.0\.(\d+)\]:tcp:8080", msg)
        key = m and int(m.group(1))
    if key and key <= kill and key not in seen:
        seen[key] = t - t0
v = sorted(seen.values())
if not v:
    print("n/a|n/a|0")
else:
    p99 = v[min(len(v) - 1, int(round(0.99 * (len(v) - 1))))]
    print("%.0f|%.0f|%d" % (statistics.median(v) * 1000, p99 * 1000, len(v)))
EOF
)
    local cpu
    cpu=$(awk -v d=$(( t1 - t0 )) -v hz="$HZ" -v s="$MEASURE" 'BEGIN { printf "%.1f", 100 * d / hz / s }')
    RESULT[$tool-$kind-$round]="$cpu|$(( r / 1024 ))|$lat"
}

for kind in $KINDS; do
    n=$N_TCP; [ "$kind" = http ] && n=$N_HTTP
    for round in $(seq "$RUNS"); do
        for tool in $TOOLS; do
            echo "== round $round/$RUNS, $tool: $n $kind checks at 1 s" >&2
            run_one "$tool" "$kind" "$n"
        done
    done
done

# The median row over the rounds of one tool and workload: median CPU,
# RSS and detection median, worst p99, fewest detected.
median_of() { # tool kind
    local r
    for r in $(seq "$RUNS"); do echo "${RESULT[$1-$2-$r]:-n/a}"; done | "$PY" -c '
import statistics, sys
rows = [l.strip().split("|") for l in sys.stdin if not l.startswith("n/a")]
if not rows:
    print("n/a|n/a|n/a|n/a|n/a|failed")
    sys.exit()
col = lambda i: [float(r[i]) for r in rows if r[i] != "n/a"]
med = lambda i: "%.1f" % statistics.median(col(i)) if col(i) else "n/a"
whole = lambda x: x if x == "n/a" else "%.0f" % float(x)
print("|".join([med(0), whole(med(1)), whole(med(2)),
      "%.0f" % max(col(3)) if col(3) else "n/a", "%.0f" % min(col(4)) if col(4) else "n/a"]))
'
}

printf '\n%-11s %-6s %7s | %-38s | %-38s | %-38s\n' "workload" "targets" "" "dsas-node" "haproxy $(haproxy -v | awk 'NR==1 {print $3}')" "keepalived $(keepalived --version 2>&1 | awk 'NR==1 {print $2}')"
printf '%-11s %-6s %7s | %-38s | %-38s | %-38s\n' "" "" "" "CPU%  RSS-MiB  det-ms(med/p99)" "CPU%  RSS-MiB  det-ms(med/p99)" "CPU%  RSS-MiB  det-ms(med/p99)"
for kind in $KINDS; do
    n=$N_TCP; [ "$kind" = http ] && n=$N_HTTP
    rounds=$(seq "$RUNS"); [ "$RUNS" -gt 1 ] && rounds+=" median"
    for round in $rounds; do
        row=""
        for tool in dsas-node haproxy keepalived; do
            if [ "$round" = median ]; then res=$(median_of "$tool" "$kind")
            else res=${RESULT[$tool-$kind-$round]:-n/a|n/a|n/a|n/a|n/a}; fi
            IFS='|' read -r cpu mem med p99 cnt note <<< "$res"
            if [ "$cpu" = n/a ]; then cell="n/a (${note:-failed})"
            else cell="$(printf '%5s %7s  %5s/%-5s (%s/%s)' "$cpu" "$mem" "$med" "$p99" "$cnt" "$KILL")"; fi
            row+=$(printf ' | %-38.38s' "$cell")
        done
        label=$kind; [ "$RUNS" -gt 1 ] && label="$kind #$round"; [ "$round" = median ] && label="$kind median"
        printf '%-11s %-6s %7s%s\n' "$label" "$n" "" "$row"
    done
done
echo
echo "CPU: % of one core over ${MEASURE}s after ${WARM}s warm-up; detection: ${KILL} targets black-holed, ms from the drop to the DOWN log line (detected/killed)."
echo "Target (issue 6): detection within inter x fall + timeout + 10 ms = 4010 ms. dsas-node runs checks at a fixed rate (each inter counted from when the previous check was due, never overlapping it), so 3 timed-out checks end (fall - 1) x inter + timeout after the first began; HAProxy 2.6 and keepalived count inter from the end of a check (about fall x (timeout + inter))."

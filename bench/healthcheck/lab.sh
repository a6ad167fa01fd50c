#!/usr/bin/env bash
# keepalived side by side (not a test): keepalived's checker process needs
# IPVS, which the host kernel lacks, so this runs keepalived 2.2.7 and
# dsas-node, one after the other, inside the kernel lab (Debian 12's own
# kernel with ip_vs, under qemu/TCG, 1 vCPU; see lab/README.md), checking
# the same N loopback targets (127.1.X.Y:8080, one nginx) at 1 s.
#
#   sudo bench/healthcheck/lab.sh             # N_TCP=500 N_HTTP=100
#
# Figures are CPU (% of the guest's one vCPU, utime+stime over MEASURE s
# after WARM s) and RSS of each tool, measured in the same VM: TCG emulation
# is many times slower than the host, so only the ratio between the two
# tools means anything, not the absolute numbers, and N is scaled down.
set -euo pipefail

N_TCP=${N_TCP:-500}
N_HTTP=${N_HTTP:-100}
WARM=${WARM:-6}
MEASURE=${MEASURE:-12}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${DSAS_NODE:-$ROOT/target/release/dsas-node}
LAB=${DSAS_LAB:-}
WORK=$(mktemp -d /tmp/hclab.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

[ "$(id -u)" -eq 0 ] || { echo "run as root (the kernel lab)" >&2; exit 1; }
for t in nginx keepalived; do
    command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "build first: cargo build --release -p dsas-node (or set DSAS_NODE)" >&2; exit 1; }
if [ -z "$LAB" ]; then
    (cd "$ROOT" && cargo build -q --release -p testkit --bin dsas-lab)
    LAB=${CARGO_TARGET_DIR:-$ROOT/target}/release/dsas-lab
fi

target() { echo "127.1.$(( $1 / 250 )).$(( $1 % 250 + 1 ))"; }

for kind in tcp http; do
    n=$N_TCP; [ "$kind" = http ] && n=$N_HTTP
    if [ "$kind" = tcp ]; then
        d='TCP_CHECK = { connect_timeout = 1, retry = 2, delay_before_retry = 1 }'
        k='TCP_CHECK { connect_timeout 1 retry 2 delay_before_retry 1 }'
    else
        d='HTTP_GET = { connect_timeout = 1, retry = 2, delay_before_retry = 1, url = [{ path = "/" }] }'
        k='HTTP_GET { url { path / status_code 200 } connect_timeout 1 retry 2 delay_before_retry 1 }'
    fi
    {
        printf '[node]\nname = "bench"\ncontrol_socket = "/tmp/w/ctl/sock"\nlog_level = "info"\n'
        printf '[health]\nmax_concurrent_probes = 4096\n'
        for ((i = 0; i < n; i++)); do
            (( i % 100 == 0 )) && printf '[[health.virtual_server]]\nip = "10.0.0.1"\nport = %d\ndelay_loop = 1\nwarmup = 1\n' $(( i / 100 + 1 ))
            printf '[[health.virtual_server.real_server]]\nip = "%s"\nport = 8080\n%s\n' "$(target "$i")" "$d"
        done
    } > "$WORK/dsas-$kind.toml"
    {
        printf 'global_defs { router_id bench }\n'
        for ((i = 0; i < n; i++)); do
            (( i % 100 == 0 )) && { (( i > 0 )) && printf '}\n'; printf 'virtual_server 10.0.0.1 %d {\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n' $(( i / 100 + 1 )); }
            printf ' real_server %s 8080 { %s }\n' "$(target "$i")" "$k"
        done
        printf '}\n'
    } > "$WORK/ka-$kind.conf"
done

cat > "$WORK/nginx.conf" <<'NGX'
daemon off;
master_process off;
user root root;
worker_processes 1;
pid /tmp/w/nginx.pid;
error_log /tmp/w/nginx-error.log crit;
events { worker_connections 4000; }
http {
    access_log off;
    client_body_temp_path /tmp/w/b; proxy_temp_path /tmp/w/p; fastcgi_temp_path /tmp/w/f;
    uwsgi_temp_path /tmp/w/u; scgi_temp_path /tmp/w/s;
    server { listen 8080 backlog=4096; location / { return 200 "ok\n"; } }
}
NGX

cat > "$WORK/guest.sh" <<GUEST
set -u
WARM=$WARM; MEASURE=$MEASURE
mkdir -p /tmp/w /var/run /var/log /var/lib/nginx
grep -q '^root:' /etc/passwd 2>/dev/null || echo 'root:x:0:0:root:/root:/bin/sh' >> /etc/passwd
grep -q '^root:' /etc/group 2>/dev/null || echo 'root:x:0:' >> /etc/group
HZ=100
ticks() { awk '{print \$14 + \$15}' /proc/\$1/stat; }
rss() { awk '/^VmRSS/ {print \$2}' /proc/\$1/status; }
nginx -e /tmp/w/nginx-error.log -c /root/nginx.conf >/tmp/w/nginx.out 2>&1 &
sleep 1
cat /proc/net/ip_vs >/dev/null || { echo "no ip_vs"; exit 1; }
measure() { # label pid
    sleep \$WARM
    kill -0 \$2 2>/dev/null || { echo "\$1 exited"; return; }
    # keepalived -C forks: the checker is the child of the parent.
    pids="\$2 \$(cat /proc/\$2/task/*/children 2>/dev/null)"
    t0=0; for p in \$pids; do t0=\$((t0 + \$(ticks \$p))); done
    sleep \$MEASURE
    t1=0; r=0; for p in \$pids; do t1=\$((t1 + \$(ticks \$p))); r=\$((r + \$(rss \$p))); done
    echo "RESULT \$1 cpu=\$(awk -v d=\$((t1 - t0)) -v s=\$MEASURE 'BEGIN { printf "%.1f", d / 100 / s * 100 }')% rss=\$((r / 1024))MiB pids=\$pids"
}
for kind in tcp http; do
    keepalived -n -l -D -C -f /root/ka-\$kind.conf -p /tmp/w/ka.pid -c /tmp/w/kac.pid >/tmp/w/ka-\$kind.log 2>&1 &
    pid=\$!
    measure "keepalived-\$kind" \$pid
    echo "ipvs real servers: \$(ipvsadm -Ln | grep -c -- '->  *127' || true) (\$(ipvsadm -Ln | grep -c '127.1' || true) lines)"
    kill \$pid; sleep 2; kill -9 \$pid 2>/dev/null; ipvsadm -C
    grep -m3 -iE 'error|fail' /tmp/w/ka-\$kind.log || true
    dsas-node run -c /root/dsas-\$kind.toml >/tmp/w/dsas-\$kind.log 2>&1 &
    pid=\$!
    measure "dsas-node-\$kind" \$pid
    echo "dsas-node DOWN lines: \$(grep -c 'real server DOWN' /tmp/w/dsas-\$kind.log)"
    kill \$pid; sleep 1
done
GUEST

files=(--file "$(command -v keepalived):/usr/sbin/keepalived" --file "$(command -v nginx):/usr/sbin/nginx"
       --file "$BIN:/usr/bin/dsas-node" --file "$WORK/nginx.conf:/root/nginx.conf" --file "$WORK/guest.sh:/root/guest.sh")
for kind in tcp http; do
    files+=(--file "$WORK/dsas-$kind.toml:/root/dsas-$kind.toml" --file "$WORK/ka-$kind.conf:/root/ka-$kind.conf")
done
echo "== kernel lab: keepalived vs dsas-node, $N_TCP TCP / $N_HTTP HTTP targets at 1 s, 1 vCPU under TCG" >&2
"$LAB" run --mem 1024 --cmd-timeout 600 "${files[@]}" -- 'sh /root/guest.sh' | tee "$WORK/out.txt"

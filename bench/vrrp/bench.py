#!/usr/bin/env python3
"""VRRP benchmark: dsas-node vs keepalived 2.2.7 in network namespaces.

Part 1 (outage): a client probes the virtual IP every 1 ms; the Master
(priority 150) is SIGKILLed or stopped gracefully (SIGTERM -> priority 0);
the Backup (priority 100) takes over. VRRPv3, adverts 1 s and 10 cs.

Part 2 (scale): N instances at 10 cs on one node, alone on the LAN (all
Master): CPU used over a fixed window and adverts sent late, seen by a
capture on the switch.

Timers (RFC 5798 §6.1, reference vrrp-arp.md §4): Skew_Time =
(256 - p) * MAI / 256, Master_Down_Interval = 3 * MAI + Skew_Time.

Needs root, iproute2, keepalived, dumpcap. See README.md.
"""

import argparse
import atexit
import json
import os
import random
import re
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

TAG = f"vb{os.getpid() % 100000}"
VIP = "10.0.0.100"
CLIENT = "10.0.0.200"
IFNAME = "eth0"
CLK_TCK = os.sysconf("SC_CLK_TCK")

_namespaces = []
WORK = [None]
_procs = []


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(args, check=True):
    p = subprocess.run(args, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: rc {p.returncode}: {p.stderr.strip()}")
    return p


def nsx(ns, *args):
    return ["ip", "netns", "exec", ns, *args]


def ip(ns, *args, check=True):
    return run(["ip", "-n", ns, *args], check=check)


def netns_add(name):
    run(["ip", "netns", "add", name])
    _namespaces.append(name)
    ip(name, "link", "set", "lo", "up")
    return name


def sysctl(ns, key, value):
    run(nsx(ns, "sysctl", "-qw", f"{key}={value}"))


def cleanup():
    for p in _procs:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=3)
            except (OSError, subprocess.TimeoutExpired):
                pass
    for ns in reversed(_namespaces):
        # Processes left in the namespace (keepalived's VRRP child).
        pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        run(["ip", "netns", "del", ns], check=False)
    _namespaces.clear()


def spawn(args, out_path):
    f = open(out_path, "wb")
    p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    f.close()
    _procs.append(p)
    return p


def wait_for(pred, timeout, step=0.005):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def signal_pid(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError:
        pass


# ------------------------------------------------------------------ timers


def skew_time(priority, interval):
    return (256 - priority) * interval / 256


def mdi(priority, interval):
    return 3 * interval + skew_time(priority, interval)


# ------------------------------------------------------------------ LAN


class Lan:
    """Switch namespace with a bridge (snooping off), routers, a client."""

    def __init__(self, n_routers):
        self.sw = netns_add(f"{TAG}-sw")
        ip(self.sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        ip(self.sw, "link", "set", "br0", "up")
        # A switch forwards frames; it does not pass them through the host
        # firewall (br_netfilter), whose cost the sender's softirq would pay.
        for fam in ("iptables", "ip6tables", "arptables"):
            sysctl(self.sw, f"net.bridge.bridge-nf-call-{fam}", "0")
        self.routers = []
        self.port = 0
        for i in range(n_routers):
            ns = netns_add(f"{TAG}-r{i + 1}")
            self.attach(ns, IFNAME)
            sysctl(ns, "net.ipv4.conf.all.arp_ignore", "1")
            ip(ns, "addr", "add", f"10.0.0.{i + 1}/24", "dev", IFNAME)
            self.routers.append(ns)
        self.client = netns_add(f"{TAG}-c")
        self.attach(self.client, IFNAME)
        ip(self.client, "addr", "add", f"{CLIENT}/24", "dev", IFNAME)
        # A gratuitous ARP must replace the entry even right after an update
        # (neigh locktime, default 1 s): we measure VRRP, not the client cache.
        sysctl(self.client, f"net.ipv4.neigh.{IFNAME}.locktime", "0")

    def attach(self, ns, ifname, bridge="br0", isolated=False):
        self.port += 1
        port = f"p{self.port}"
        ip(self.sw, "link", "add", port, "type", "veth", "peer", "name", ifname, "netns", ns)
        ip(self.sw, "link", "set", port, "master", bridge)
        if isolated:
            # The scale node's interfaces stand for separate segments: its
            # adverts on one must not come back to it on the others.
            run(nsx(self.sw, "bridge", "link", "set", "dev", port, "isolated", "on"))
        ip(self.sw, "link", "set", port, "up")
        ip(ns, "link", "set", ifname, "up")

    def flush_vip(self, ns, prefix=None):
        """Removes virtual addresses left by a SIGKILLed daemon (a dead host
        would not answer for them)."""
        out = ip(ns, "-o", "-4", "addr", "show").stdout
        for line in out.splitlines():
            w = line.split()
            addr = w[3]
            if (prefix is None and addr.split("/")[0] == VIP) or (
                prefix is not None and addr.startswith(prefix)
            ):
                ip(ns, "addr", "del", addr, "dev", w[1].split("@")[0], check=False)


# ------------------------------------------------------------------ daemons


def write_notify(d):
    logf = os.path.join(d, "notify.log")
    script = os.path.join(d, "notify.sh")
    with open(script, "w") as f:
        f.write(f'#!/bin/sh\necho "$(date +%s.%N) $3 $4" >> {logf}\n')
    os.chmod(script, 0o755)
    return script, logf


class Daemon:
    def __init__(self, ns, label):
        self.ns = ns
        self.label = label
        self.dir = tempfile.mkdtemp(prefix="daemon-", dir=WORK[0])
        self.proc = None
        self.notify_log = None

    def state(self):
        try:
            with open(self.notify_log) as f:
                lines = [l.split() for l in f if l.strip()]
        except OSError:
            return None
        return lines[-1][1].upper() if lines and len(lines[-1]) > 1 else None

    def wait_state(self, st, timeout):
        if not wait_for(lambda: self.state() == st, timeout):
            raise RuntimeError(f"{self.label}: not {st} within {timeout}s (is {self.state()}):\n{self.output()[-2000:]}")

    def output(self):
        try:
            with open(os.path.join(self.dir, "out.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def pids(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []

    def cpu_ticks(self):
        """(utime, stime) of the daemon's processes, in clock ticks."""
        user = system = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                user += int(fields[11])
                system += int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
        return user, system

    def kill(self):
        signal_pid(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=5)

    def stop(self, timeout=10):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return False
        return True

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.kill()


class Keepalived(Daemon):
    """keepalived 2.2.7, VRRP only (`-n -l -D -P`)."""

    def __init__(self, ns, label):
        super().__init__(ns, label)
        self.vrrp_pid_file = os.path.join(self.dir, "vrrp.pid")

    @staticmethod
    def instance(name, iface, vrid, priority, interval, vips, notify=None):
        c = f"vrrp_instance {name} {{\n    state BACKUP\n    interface {iface}\n"
        c += f"    virtual_router_id {vrid}\n    priority {priority}\n    advert_int {interval}\n"
        if notify:
            c += f"    notify {notify}\n"
        c += "    virtual_ipaddress {\n"
        for v in vips:
            c += f"        {v}\n"
        return c + "    }\n}\n"

    def start(self, instances_text, router_id):
        conf = os.path.join(self.dir, "keepalived.conf")
        with open(conf, "w") as f:
            f.write(
                f"global_defs {{\n    router_id {router_id}\n    vrrp_version 3\n"
                "    enable_script_security\n    script_user root\n}\n" + instances_text
            )
        self.proc = spawn(
            nsx(self.ns, "keepalived", "-n", "-l", "-D", "-P", "-f", conf,
                "-p", os.path.join(self.dir, "keepalived.pid"), "-r", self.vrrp_pid_file),
            os.path.join(self.dir, "out.log"),
        )

    def vrrp_pid(self):
        try:
            with open(self.vrrp_pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def pids(self):
        p = super().pids()
        v = self.vrrp_pid()
        if v and os.path.exists(f"/proc/{v}"):
            p.append(v)
        return p

    def kill(self):
        # The VRRP child first: it gets SIGTERM as its parent-death signal and
        # would send priority 0; then the parent, which would restart it.
        v = self.vrrp_pid()
        if v:
            signal_pid(v, signal.SIGKILL)
        signal_pid(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=5)

    def close(self):
        super().close()
        v = self.vrrp_pid()
        if v:
            signal_pid(v, signal.SIGKILL)


class DsasNode(Daemon):
    """dsas-node run --config."""

    def __init__(self, ns, label, binary):
        super().__init__(ns, label)
        self.binary = binary

    @staticmethod
    def instance(name, iface, vrid, priority, interval, vips, notify=None):
        c = f'[[vrrp.instance]]\nname = "{name}"\ninterface = "{iface}"\n'
        c += f"virtual_router_id = {vrid}\npriority = {priority}\nadvert_int = {interval}\nversion = 3\n"
        if notify:
            c += f'notify = "{notify}"\n'
        c += "virtual_ipaddress = [" + ", ".join(f'"{v}"' for v in vips) + "]\n"
        return c

    def start(self, instances_text, router_id):
        conf = os.path.join(self.dir, "node.toml")
        with open(conf, "w") as f:
            f.write(
                f'[node]\nname = "{router_id}"\ncontrol_socket = "{self.dir}/control.sock"\n'
                f'log_level = "info"\n\n' + instances_text
            )
        self.proc = spawn(nsx(self.ns, self.binary, "run", "--config", conf), os.path.join(self.dir, "out.log"))


def make(impl, ns, label, args):
    return DsasNode(ns, label, args.node_bin) if impl == "dsas-node" else Keepalived(ns, label)


# ------------------------------------------------------------------ prober


SO_TIMESTAMPNS = 35


def icmp_checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def probe_main(dst, out, duration, interval):
    """ICMP echo to `dst` every `interval` s, on schedule whether or not
    replies come (ping(8) slows down without replies); reply times are the
    kernel receive timestamps (SO_TIMESTAMPNS, CLOCK_REALTIME)."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.setblocking(False)
    ident = os.getpid() & 0xFFFF
    payload = b"vrrp-bench" + b"\0" * 22
    replies = []
    sent = 0
    send_errors = 0
    seq = 0
    end = time.time() + duration
    next_t = time.time()
    while not stop:
        now = time.time()
        if now >= end:
            break
        if now >= next_t:
            seq = (seq + 1) & 0xFFFF
            hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            ck = icmp_checksum(hdr + payload)
            try:
                s.sendto(struct.pack("!BBHHH", 8, 0, ck, ident, seq) + payload, (dst, 0))
                sent += 1
            except OSError:
                send_errors += 1
            next_t += interval
            if next_t < now:
                next_t = now + interval
        try:
            r, _, _ = select.select([s], [], [], max(0.0, next_t - time.time()))
        except InterruptedError:
            continue
        if not r:
            continue
        while True:
            try:
                data, anc, _, _ = s.recvmsg(2048, 64)
            except (BlockingIOError, InterruptedError):
                break
            ihl = (data[0] & 0xF) * 4
            if len(data) < ihl + 8:
                continue
            typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if typ != 0 or rid != ident:
                continue
            t = None
            for lvl, ty, val in anc:
                if lvl == socket.SOL_SOCKET and ty == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", val[:16])
                    t = sec + nsec / 1e9
            replies.append(t if t is not None else time.time())
    with open(out, "w") as f:
        json.dump({"sent": sent, "send_errors": send_errors, "replies": replies}, f)


class Prober:
    def __init__(self, lan, d, duration):
        self.out = os.path.join(d, "probe.json")
        self.proc = spawn(
            nsx(lan.client, sys.executable, os.path.abspath(__file__), "probe", VIP, self.out, str(duration)),
            os.path.join(d, "probe.log"),
        )

    def finish(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        with open(self.out) as f:
            return json.load(f)


def outage(replies, t_event):
    """(last reply before, first reply after) of the longest reply gap that
    ends after the event; None if no reply came after it."""
    rs = sorted(t for t in replies if t >= t_event - 0.5)
    best = None
    for a, b in zip(rs, rs[1:]):
        if b > t_event and (best is None or b - a > best[1] - best[0]):
            best = (a, b)
    if not rs or rs[-1] <= t_event:
        return None
    return best


# ------------------------------------------------------------------ capture


class Capture:
    def __init__(self, ns, iface, d, name):
        self.path = os.path.join(d, f"{name}.pcap")
        self.log = os.path.join(d, f"{name}.dumpcap.log")
        self.proc = spawn(
            nsx(ns, "dumpcap", "-q", "-P", "-B", "64", "-s", "96", "-i", iface, "-f", "ip proto 112", "-w", self.path),
            self.log,
        )
        if not wait_for(lambda: os.path.exists(self.path) and os.path.getsize(self.path) >= 24, 10, 0.05):
            raise RuntimeError(f"dumpcap did not start: {open(self.log).read()}")
        time.sleep(0.2)

    def finish(self):
        """Stops dumpcap; returns (adverts, dropped) where an advert is
        (time, src, vrid, priority)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        dropped = None
        text = open(self.log, errors="replace").read()
        m = re.search(r"received/dropped on interface '[^']*': (\d+)/(\d+)", text)
        if m:
            dropped = int(m.group(2))
        return read_pcap(self.path), dropped


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    endian, frac = {
        0xA1B2C3D4: ("<", 1e-6), 0xA1B23C4D: ("<", 1e-9),
        0xD4C3B2A1: (">", 1e-6), 0x4D3CB2A1: (">", 1e-9),
    }[magic]
    rec = struct.Struct(endian + "IIII")
    out = []
    off = 24
    while off + 16 <= len(data):
        sec, sub, incl, _ = rec.unpack_from(data, off)
        off += 16
        pkt = data[off:off + incl]
        off += incl
        if len(pkt) < 14 + 20 or pkt[12:14] != b"\x08\x00":
            continue
        ihl = (pkt[14] & 0xF) * 4
        if pkt[14 + 9] != 112 or len(pkt) < 14 + ihl + 4:
            continue
        src = socket.inet_ntoa(pkt[26:30])
        v = pkt[14 + ihl:]
        out.append((sec + sub * frac, src, v[1], v[2]))
    return out


# ------------------------------------------------------------------ part 1


def outage_run(impl, args, lan, interval, event, d):
    r1, r2 = lan.routers
    m = make(impl, r1, f"{impl}@10.0.0.1", args)
    b = make(impl, r2, f"{impl}@10.0.0.2", args)
    try:
        for dmn, prio, rid in ((m, 150, "r1"), (b, 100, "r2")):
            script, dmn.notify_log = write_notify(dmn.dir)
            dmn.start(type(dmn).instance("VI_1", IFNAME, 51, prio, interval, [f"{VIP}/24"], script), rid)
        m.wait_state("BACKUP", 10)
        m.wait_state("MASTER", mdi(150, interval) + 5)
        b.wait_state("BACKUP", 10)
        time.sleep(3 * interval + 0.1)
        if b.state() != "BACKUP" or m.state() != "MASTER":
            raise RuntimeError(f"not settled: master {m.state()}, backup {b.state()}")
        window = mdi(100, interval) + 1.5 + interval
        prober = Prober(lan, d, window + 10)
        time.sleep(0.3 + random.uniform(0, interval))  # random advert phase
        t_event = time.time()
        if event == "sigkill":
            m.kill()
            lan.flush_vip(r1)
        else:
            ok = m.stop()
            if not ok:
                log(f"{m.label}: SIGTERM did not end it within 10 s")
        b.wait_state("MASTER", window)
        time.sleep(0.5)
        res = prober.finish()
        return t_event, res
    finally:
        for dmn in (m, b):
            dmn.close()
        for ns in lan.routers:
            lan.flush_vip(ns)
        ip(lan.client, "neigh", "flush", "dev", IFNAME, check=False)


def part_outage(args, lan, work):
    intervals = [("v3 advert 1 s", 1.0), ("v3 advert 10 cs", 0.1)]
    events = [("SIGKILL", "sigkill"), ("graceful stop", "sigterm")]
    cap = Capture(lan.sw, "br0", work, "outage")
    runs = []  # dicts
    try:
        for impl in args.impls:
            for iname, iv in intervals:
                for ename, ev in events:
                    for k in range(args.runs):
                        d = tempfile.mkdtemp(prefix=f"{TAG}-run-", dir=work)
                        try:
                            t_event, res = outage_run(impl, args, lan, iv, ev, d)
                        except Exception as e:  # noqa: BLE001 - reported in the table
                            log(f"{impl} {iname} {ename} run {k + 1}: FAILED: {e}")
                            runs.append(dict(impl=impl, iv=iv, ev=ev, error=str(e).splitlines()[0]))
                            continue
                        gap = outage(res["replies"], t_event)
                        r = dict(impl=impl, iv=iv, ev=ev, t_event=t_event, sent=res["sent"],
                                 n_replies=len(res["replies"]), gap=gap)
                        runs.append(r)
                        o = f"{(gap[1] - gap[0]) * 1e3:.1f} ms" if gap else "no recovery"
                        log(f"{impl} {iname} {ename} run {k + 1}: outage {o}"
                            + (f" ({(gap[0] - t_event) * 1e3:+.1f} .. {(gap[1] - t_event) * 1e3:+.1f} ms from the signal)" if gap else ""))
    finally:
        adverts, dropped = cap.finish()
    # Reference point on the wire: the old Master's last advert before the
    # event (SIGKILL) or its priority-0 advert (graceful stop).
    from_master = sorted(a for a in adverts if a[1] == "10.0.0.1")
    for r in runs:
        if "error" in r or not r["gap"]:
            continue
        if r["ev"] == "sigkill":
            before = [a[0] for a in from_master if r["t_event"] - 2 * r["iv"] - 0.1 < a[0] <= r["t_event"] and a[3] != 0]
            r["ref"] = before[-1] if before else None
        else:
            zero = [a[0] for a in from_master if r["t_event"] <= a[0] < r["t_event"] + 5 and a[3] == 0]
            r["ref"] = zero[0] if zero else None
        first = [a[0] for a in adverts if a[1] == "10.0.0.2" and r["t_event"] < a[0] < r["t_event"] + 10]
        r["new_first"] = first[0] if first else None
        if r.get("ref"):
            log(f"{r['impl']} {r['iv']} s {r['ev']}: reference advert at {(r['ref'] - r['t_event']) * 1e3:+.1f} ms, "
                f"new Master's first advert at "
                + (f"{(r['new_first'] - r['t_event']) * 1e3:+.1f} ms" if r["new_first"] else "?")
                + f", gap {(r['gap'][0] - r['t_event']) * 1e3:+.1f} .. {(r['gap'][1] - r['t_event']) * 1e3:+.1f} ms from the signal")
    return runs, dropped, intervals, events


def stats(xs):
    if not xs:
        return "n/a"
    return f"{statistics.median(xs):7.1f} {min(xs):7.1f} {max(xs):7.1f}"


def new_advert(r):
    """From the reference advert to the new Master's first advert."""
    if r.get("ref") and r.get("new_first"):
        return r["new_first"] - r["ref"]
    return None


def print_outage(args, runs, dropped, intervals, events):
    print()
    print(f"== VIP outage, client probing every 1 ms ({args.runs} runs each; times in ms: median min max) ==")
    print("Master priority 150, Backup priority 100, VRRPv3, pairs of the same implementation.")
    hdr = f"{'scenario':<34} {'metric':<28} {'bound':>8} | "
    hdr += " | ".join(f"{i + ' med/min/max':<23}" for i in args.impls)
    print(hdr)
    print("-" * len(hdr))
    for iname, iv in intervals:
        for ename, ev in events:
            sc = f"{iname}, {ename}"
            if ev == "sigkill":
                bound = (mdi(100, iv) + 0.002) * 1e3
                metrics = [("outage (client)", lambda r: r["gap"][1] - r["gap"][0]),
                           ("last advert -> 1st reply", lambda r: r["gap"][1] - r["ref"] if r.get("ref") else None),
                           ("last advert -> new M advert", new_advert)]
                bname = "MDI+2ms"
            else:
                bound = (skew_time(100, iv) + 0.002) * 1e3
                metrics = [("outage (client)", lambda r: r["gap"][1] - r["gap"][0]),
                           ("prio-0 advert -> 1st reply", lambda r: r["gap"][1] - r["ref"] if r.get("ref") else None),
                           ("prio-0 advert -> new M adv.", new_advert)]
                bname = "Skew+2ms"
            for mname, f in metrics:
                cells = []
                for impl in args.impls:
                    rs = [r for r in runs if r["impl"] == impl and r["iv"] == iv and r["ev"] == ev]
                    vals = [f(r) for r in rs if "error" not in r and r["gap"]]
                    vals = [v * 1e3 for v in vals if v is not None]
                    bad = len(rs) - len(vals)
                    c = stats(vals)
                    if bad:
                        c += f" ({bad} n/a)"
                    if vals and max(vals) > bound:
                        c += " >bound"
                    cells.append(f"{c:<23}")
                print(f"{sc:<34} {mname:<28} {bound:8.1f} | " + " | ".join(cells))
                sc = ""
            print(f"{'':<34} {'(bound: ' + bname + ')':<28}")
    errs = [r for r in runs if "error" in r]
    for r in errs:
        print(f"  failed run: {r['impl']} interval {r['iv']} s {r['ev']}: {r['error']}")
    nores = [r for r in runs if "error" not in r and not r["gap"]]
    for r in nores:
        print(f"  no reply after the event: {r['impl']} interval {r['iv']} s {r['ev']}")
    print(f"  capture drops (dumpcap): {dropped}")


# ------------------------------------------------------------------ part 2


def part_scale(args, lan, work):
    maxn = max(args.scale)
    n_if = (maxn + 254) // 255
    node = netns_add(f"{TAG}-n")
    # A bridge of its own: nobody else on it but the capture (the bridge
    # itself), so the kernel work the daemon's sends cause is one veth hop
    # and the bridge, not the delivery to the outage part's namespaces.
    ip(lan.sw, "link", "add", "br1", "type", "bridge", "mcast_snooping", "0")
    ip(lan.sw, "link", "set", "br1", "up")
    ifaces = []
    for k in range(n_if):
        name = f"eth{k}"
        lan.attach(node, name, bridge="br1", isolated=True)
        ip(node, "addr", "add", f"10.1.{k}.1/24", "dev", name)
        ifaces.append(name)
    results = []
    iv = 0.1
    for n in args.scale:
        for impl in args.impls:
            d = tempfile.mkdtemp(prefix=f"{TAG}-scale-", dir=work)
            r = dict(impl=impl, n=n)
            results.append(r)
            dmn = make(impl, node, f"{impl} x{n}", args)
            text = ""
            for i in range(n):
                vip = f"10.2.{i // 250}.{i % 250 + 1}/32"
                text += type(dmn).instance(f"VI_{i + 1}", ifaces[i // 255], i % 255 + 1, 100, iv, [vip]) + "\n"
            log(f"scale: {impl} with {n} instances")
            t0 = time.monotonic()
            dmn.start(text, "scale")

            def count():
                out = ip(node, "-o", "-4", "addr", "show", check=False).stdout
                return sum(1 for l in out.splitlines() if " 10.2." in l)

            ok = wait_for(lambda: count() >= n or dmn.proc.poll() is not None, args.start_timeout, 0.1)
            r["masters"] = count()
            r["start_s"] = time.monotonic() - t0
            if not ok or r["masters"] < n or dmn.proc.poll() is not None:
                r["error"] = (f"{r['masters']}/{n} VIPs after {r['start_s']:.1f} s"
                              + (f", exited rc {dmn.proc.returncode}" if dmn.proc.poll() is not None else ""))
                tail = dmn.output()[-600:].strip().replace("\n", " | ")
                r["error"] += f"; log tail: {tail}"
                log(f"scale: {impl} x{n}: {r['error']}")
                dmn.close()
                lan.flush_vip(node, "10.2.")
                continue
            log(f"scale: {impl} x{n}: all Master after {r['start_s']:.1f} s; settling {args.settle} s")
            time.sleep(args.settle)  # past the second GARP burst (garp_master_delay 5 s)
            cap = Capture(lan.sw, "br1", d, "scale")
            c0, t_a = dmn.cpu_ticks(), time.time()
            time.sleep(args.window)
            c1, t_b = dmn.cpu_ticks(), time.time()
            time.sleep(0.5)  # let dumpcap write the window's last packets
            adverts, dropped = cap.finish()
            per_s = CLK_TCK * (t_b - t_a) / 100
            r["user_pct"] = (c1[0] - c0[0]) / per_s
            r["sys_pct"] = (c1[1] - c0[1]) / per_s
            r["cpu_pct"] = r["user_pct"] + r["sys_pct"]
            r["dropped"] = dropped
            per = {}
            for t, src, vrid, prio in adverts:
                if t_a <= t <= t_b and src.startswith("10.1."):
                    per.setdefault((src, vrid), []).append(t)
            gaps = []
            late = 0
            late_inst = 0
            for ts in per.values():
                ts.sort()
                g = [b - a for a, b in zip(ts, ts[1:])]
                gaps.extend(g)
                lt = sum(1 for x in g if x > iv + 0.005)
                late += lt
                late_inst += lt > 0
            r["adverts"] = sum(len(v) for v in per.values())
            r["expected"] = int(n * (t_b - t_a) / iv)
            r["instances_seen"] = len(per)
            r["late"] = late
            r["late_inst"] = late_inst
            r["max_gap_ms"] = max(gaps) * 1e3 if gaps else None
            r["mean_gap_ms"] = statistics.mean(gaps) * 1e3 if gaps else None
            r["p99_gap_ms"] = sorted(gaps)[int(len(gaps) * 0.99)] * 1e3 if gaps else None
            r["loadavg"] = open("/proc/loadavg").read().split()[0]
            t_stop = time.monotonic()
            stopped = dmn.stop(timeout=30)
            r["stop_s"] = time.monotonic() - t_stop
            r["stop_ok"] = stopped
            dmn.close()
            lan.flush_vip(node, "10.2.")
            log(f"scale: {impl} x{n}: cpu {r['cpu_pct']:.1f}%, {r['adverts']} adverts, {late} late")
            time.sleep(1)
    return results


def print_scale(args, results):
    print()
    print(f"== Scale: N VRRPv3 instances at 10 cs on one node, all Master; window {args.window:g} s ==")
    print("CPU = (utime+stime) delta of the daemon's processes / window, % of one core. "
          "Late = inter-advert gap > 105 ms (per source, VRID), from a capture on the switch bridge.")
    rows = [
        ("time to all Master (s)", lambda r: f"{r['start_s']:.1f}"),
        ("CPU % of one core", lambda r: f"{r['cpu_pct']:.2f}"),
        ("  of which user / system", lambda r: f"{r['user_pct']:.2f} / {r['sys_pct']:.2f}"),
        ("adverts captured/expected", lambda r: f"{r['adverts']}/{r['expected']}"),
        ("instances seen", lambda r: f"{r['instances_seen']}"),
        ("late adverts (gap>105ms)", lambda r: f"{r['late']}"),
        ("instances with a late advert", lambda r: f"{r['late_inst']}"),
        ("mean gap (ms)", lambda r: f"{r['mean_gap_ms']:.2f}" if r["mean_gap_ms"] else "n/a"),
        ("p99 / max gap (ms)", lambda r: f"{r['p99_gap_ms']:.1f} / {r['max_gap_ms']:.1f}" if r["max_gap_ms"] else "n/a"),
        ("capture drops", lambda r: f"{r['dropped']}"),
        ("SIGTERM to exit (s)", lambda r: f"{r['stop_s']:.1f}" + ("" if r["stop_ok"] else " (killed)")),
        ("1-min loadavg at end", lambda r: r["loadavg"]),
    ]
    for n in args.scale:
        print(f"-- N = {n} (target: < 10 % of one core, no late adverts)")
        print(f"{'':<30} | " + " | ".join(f"{i:<22}" for i in args.impls))
        for name, f in rows:
            cells = []
            for impl in args.impls:
                r = next((x for x in results if x["impl"] == impl and x["n"] == n), None)
                if r is None:
                    cells.append("not run")
                elif "error" in r:
                    cells.append("FAILED" if name == rows[0][0] else "-")
                else:
                    cells.append(f(r))
            print(f"{name:<30} | " + " | ".join(f"{c:<22}" for c in cells))
        for impl in args.impls:
            r = next((x for x in results if x["impl"] == impl and x["n"] == n), None)
            if r and "error" in r:
                print(f"  {impl} x{n} failed: {r['error']}")


# ------------------------------------------------------------------ main


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "probe":
        probe_main(sys.argv[2], sys.argv[3], float(sys.argv[4]), 0.001)
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--node-bin", required=True, help="dsas-node binary")
    ap.add_argument("--runs", type=int, default=5, help="runs per outage scenario (default 5)")
    ap.add_argument("--scale", default="100,1000", help="instance counts (default 100,1000)")
    ap.add_argument("--window", type=float, default=20, help="scale measurement window, s (default 20)")
    ap.add_argument("--settle", type=float, default=6, help="wait after all Master before measuring, s (default 6)")
    ap.add_argument("--start-timeout", type=float, default=60, help="scale: time allowed to reach all Master, s")
    ap.add_argument("--impls", default="dsas-node,keepalived")
    ap.add_argument("--skip-outage", action="store_true")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, captures)")
    args = ap.parse_args()
    args.scale = [int(x) for x in args.scale.split(",") if x]
    args.impls = [x for x in args.impls.split(",") if x]
    args.node_bin = os.path.abspath(args.node_bin)
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces, raw sockets)")
    for tool in ("keepalived", "dumpcap", "ip"):
        if not any(os.access(os.path.join(p, tool), os.X_OK) for p in os.environ["PATH"].split(":") + ["/usr/sbin", "/sbin"]):
            sys.exit(f"needs {tool}")
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    work = tempfile.mkdtemp(prefix=f"{TAG}-work-")
    WORK[0] = work
    t0 = time.monotonic()
    ver = run(["keepalived", "--version"], check=False)
    print(f"keepalived: {(ver.stdout + ver.stderr).splitlines()[0] if (ver.stdout + ver.stderr) else '?'}")
    print(f"dsas-node: {args.node_bin}")
    print(f"host: {os.cpu_count()} CPUs, loadavg at start {open('/proc/loadavg').read().split()[0]}; work dir {work}")
    lan = Lan(2)
    if not args.skip_outage:
        runs, dropped, intervals, events = part_outage(args, lan, work)
        print_outage(args, runs, dropped, intervals, events)
        sys.stdout.flush()
    if not args.skip_scale:
        results = part_scale(args, lan, work)
        print_scale(args, results)
    print(f"\ntotal {time.monotonic() - t0:.0f} s")
    if not args.keep:
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()

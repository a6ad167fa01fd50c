#!/usr/bin/env python3
"""Fixed-rate UDP probe stream for the benches (not a test).

    probe.py send DST PORT [INTERVAL_MS]   one datagram every INTERVAL_MS
                                           (default 1), on an absolute
                                           schedule: a late wake-up sends
                                           at once and keeps the schedule
    probe.py recv PORT                     one line per datagram received:
                                           "[EPOCH] bytes from seq=N"

The receiver's log has the shape of `ping -D` replies, so the benches'
gap arithmetic reads either. Unlike iputils ping, which waits ~10 ms after
a probe goes unanswered, the sender never stops, so an outage of a few
milliseconds shows as a gap of a few milliseconds between arrivals.
"""
import socket
import struct
import sys
import time


def send(dst, port, interval_ms):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    interval = interval_ms / 1000.0
    seq = 0
    nxt = time.monotonic()
    while True:
        try:
            s.sendto(struct.pack("!Q", seq), (dst, port))
        except OSError:
            pass  # no route / ENOBUFS while links flap: keep the schedule
        seq += 1
        nxt += interval
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -1.0:
            nxt = time.monotonic()  # suspended for a long time: restart


def recv(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    out = sys.stdout
    while True:
        data = s.recv(64)
        t = time.time()
        seq = struct.unpack("!Q", data[:8])[0] if len(data) >= 8 else -1
        out.write(f"[{t:.6f}] bytes from seq={seq}\n")
        out.flush()


def main(argv):
    if len(argv) >= 4 and argv[1] == "send":
        ms = float(argv[4]) if len(argv) > 4 else 1.0
        send(argv[2], int(argv[3]), ms)
    elif len(argv) == 3 and argv[1] == "recv":
        recv(int(argv[2]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(0)

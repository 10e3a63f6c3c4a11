#!/usr/bin/env python3
"""Connections that announce a large CONNECT and send it slowly (issue 12, "Before CONNECT").

    build/connection-flood.py PORT PID [--connections N] [--announce BYTES] [--send BYTES]

Opens N connections from rotating loopback addresses (127.0.x.y, so the per-address cap does not
hide the total), each sending a CONNECT fixed header that announces BYTES and then SEND bytes of
it, and holds them for a few seconds; then closes them all. Prints iotpe's VmRSS (KB) before,
at the peak while they are open, and 3 s after they closed, and how many connections the broker
had closed by itself (packet limit before CONNECT, deadline, caps).
"""
import argparse
import socket
import time


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def remaining_length(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("pid", type=int)
    parser.add_argument("--connections", type=int, default=1500)
    parser.add_argument("--announce", type=int, default=1024 * 1024)
    parser.add_argument("--send", type=int, default=32 * 1024)
    args = parser.parse_args()

    before = rss_kb(args.pid)
    header = b"\x10" + remaining_length(args.announce)
    chunk = b"\x00" * 1024
    sockets = []
    for i in range(args.connections):
        s = socket.socket()
        s.bind((f"127.0.{1 + i // 250}.{1 + i % 250}", 0))
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", args.port))
        except BlockingIOError:
            pass
        sockets.append(s)
    time.sleep(0.5)
    peak = rss_kb(args.pid)
    closed_by_broker = 0
    # Send the announced packet slowly: a chunk per connection per round.
    sent = 0
    first = True
    while sent < args.send:
        for s in sockets:
            try:
                s.send(header + chunk if first else chunk)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                pass
        first = False
        sent += len(chunk)
        peak = max(peak, rss_kb(args.pid))
        time.sleep(0.02)
    time.sleep(1)
    peak = max(peak, rss_kb(args.pid))
    for s in sockets:
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                closed_by_broker += 1
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            closed_by_broker += 1
        s.close()
    time.sleep(3)
    after = rss_kb(args.pid)
    print(f"{before} {peak} {after} {closed_by_broker} {args.connections}")


if __name__ == "__main__":
    main()

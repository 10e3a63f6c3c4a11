#!/usr/bin/env python3
"""Recording TCP proxy for MQTT test vectors.

Listens on 127.0.0.1:<listen_port>, forwards every connection to 127.0.0.1:<upstream_port>
and appends each complete MQTT control packet, split on its fixed header, to <output_file>:

    c2s <connection> <hex>    client -> server
    s2c <connection> <hex>    server -> client

Connections are numbered from 1 in the order they are accepted. Once listening it creates
<ready_file> (optional 4th argument); it stops on SIGTERM. Used by capture.sh; see README.md.
"""
import signal
import socket
import sys
import threading

listen_port, upstream_port, output_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ready_file = sys.argv[4] if len(sys.argv) > 4 else None
lock = threading.Lock()
out = open(output_file, "a", buffering=1)


def split_packets(buffer):
    """Returns (complete packets, rest) for the bytes received so far in one direction."""
    packets = []
    while True:
        if len(buffer) < 2:
            return packets, buffer
        length, multiplier, index = 0, 1, 1
        while True:
            if index >= len(buffer):
                return packets, buffer
            byte = buffer[index]
            length += (byte & 0x7F) * multiplier
            multiplier *= 128
            index += 1
            if byte & 0x80 == 0:
                break
        total = index + length
        if len(buffer) < total:
            return packets, buffer
        packets.append(buffer[:total])
        buffer = buffer[total:]


def pump(source, destination, direction, connection):
    pending = b""
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            pending += data
            packets, pending = split_packets(pending)
            with lock:
                for packet in packets:
                    out.write(f"{direction} {connection} {packet.hex()}\n")
            destination.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, destination):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", listen_port))
    server.listen(16)
    if ready_file:
        open(ready_file, "w").close()
    connection = 0
    while True:
        client, _ = server.accept()
        connection += 1
        upstream = socket.create_connection(("127.0.0.1", upstream_port))
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=pump, args=(client, upstream, "c2s", connection), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client, "s2c", connection), daemon=True).start()


main()

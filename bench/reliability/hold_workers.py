#!/usr/bin/env python3
"""Demonstrates the attack of bench/results/reliability.md ("a local
client holding every handler thread"), now limited per user: two connections start 16 COMPRESS
requests each and never send their input, holding 32 handler threads of an
lmzd (default --workers 32); a STATUS every half second keeps them from
being idle. Not a test: run it against a throw-away lmzd, e.g.

  build-rel/daemon/lmzd --socket /tmp/d.sock --model order2 --device cpu &
  bench/reliability/hold_workers.py /tmp/d.sock 25 &
  sleep 2; time timeout 20 build-rel/cli/lmz --daemon --socket /tmp/d.sock -c FILE >/dev/null

Run as the same user as lmz, the lmz call does not finish while this runs
(timeout: exit 124); run as another user (e.g. setpriv --reuid=65534 with
/usr/bin/python3 and a socket that user may open), it finishes at once.
"""
import socket
import struct
import sys
import time


def frame(kind, request_id, payload=b""):
    return struct.pack("<IHHI", len(payload), kind, 0, request_id) + payload


def main():
    path, seconds = sys.argv[1], float(sys.argv[2])
    # COMPRESS payload (spec/PROTOCOL.md): block 1 MiB, window 16 KiB, zstd 3,
    # neural allowed, direct stage, classifier 512/512/512, the daemon's model.
    params = struct.pack("<IIIiBBHIII", 1 << 20, 16384, 0, 3, 1, 0, 0, 512, 512, 512)
    params += b"\0" * 16
    conns = []
    for _ in range(2):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.sendall(frame(0x01, 0, b"LMZD" + struct.pack("<HH", 1, 1)))
        s.recv(65536)  # WELCOME
        for request_id in range(1, 17):
            s.sendall(frame(0x10, request_id, params))
        conns.append(s)
    start = time.time()
    next_id = 1000
    while time.time() - start < seconds:
        for s in conns:
            s.sendall(frame(0x14, next_id))  # STATUS: the connection is not idle
        next_id += 1
        time.sleep(0.5)


if __name__ == "__main__":
    main()

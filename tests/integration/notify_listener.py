#!/usr/bin/env python3
"""notify_listener.py — a fake systemd for test_sd_notify.sh: binds the datagram socket
NOTIFY_PATH, records every sd_notify message with its time (seconds, monotonic) as JSON lines
in OUT, and when READY=1 arrives checks at once that the control socket CONTROL answers a
status request (READY must come only when the node is ready). Runs until SIGTERM.

Usage: notify_listener.py NOTIFY_PATH CONTROL OUT"""
import json, os, signal, socket, sys, time

notify, control, out = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(notify)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
with open(out, "w") as f:
    print(json.dumps({"listening": True}), file=f, flush=True)
    while True:
        msg = s.recv(65536).decode()
        rec = {"t": time.monotonic(), "msg": msg}
        if "READY=1" in msg.split("\n"):
            try:
                c = socket.socket(socket.AF_UNIX)
                c.connect(control)
                c.sendall(b'{"cmd":"status"}\n')
                rec["control_answered"] = b'"ok":true' in c.recv(65536).replace(b" ", b"")
                c.close()
            except OSError as e:
                rec["control_answered"] = False
                rec["control_error"] = str(e)
        print(json.dumps(rec, ensure_ascii=False), file=f, flush=True)

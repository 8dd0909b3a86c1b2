#!/usr/bin/env python3
"""tcp_proxy.py — a TCP proxy on 127.0.0.1 that a test can cut and heal, standing for the
network between two offices: LISTEN_PORT forwards to TARGET_PORT. SIGUSR1 cuts it (every
connection through it is reset and new ones are refused, as a link that went down); SIGUSR2
heals it. It runs until SIGTERM.

Usage: tcp_proxy.py LISTEN_PORT TARGET_PORT"""
import signal, socket, sys, threading, time

listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
lock = threading.Lock()
conns = set()
cut = threading.Event()
server = None


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def reset(s):
    try:   # RST, as a link that dropped: no orderly close
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    except OSError:
        pass


def open_server():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", listen_port))
    s.listen(16)
    return s


def serve():
    global server
    while True:
        if cut.is_set():
            time.sleep(0.05)
            continue
        with lock:
            if server is None:
                server = open_server()
            srv = server
        try:
            client, _ = srv.accept()
        except OSError:
            continue
        if cut.is_set():
            reset(client)
            continue
        try:
            upstream = socket.create_connection(("127.0.0.1", target_port))
        except OSError:
            reset(client)
            continue
        with lock:
            conns.update((client, upstream))
        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()


def on_cut(signum, frame):
    global server
    cut.set()
    with lock:
        if server is not None:
            server.close()
            server = None
        for s in list(conns):
            reset(s)
        conns.clear()


def on_heal(signum, frame):
    cut.clear()


signal.signal(signal.SIGUSR1, on_cut)
signal.signal(signal.SIGUSR2, on_heal)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
print("ready", flush=True)
serve()

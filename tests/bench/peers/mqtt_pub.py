#!/usr/bin/env python3
"""mqtt_pub.py — a minimal MQTT 3.1.1 QoS 1 publisher for tests/bench/peers/run.py.

  mqtt_pub.py PORT TOPIC FILE WINDOW [RATE]

Publishes each line of FILE (newline stripped) to TOPIC on 127.0.0.1:PORT with QoS 1, at most
WINDOW unacknowledged (PUBACK) at a time, at most RATE lines/s if given; exits 0 once every
message is acknowledged, printing {"sent":N,"t_start":…,"t_end":…}. Written because
mosquitto_pub -l paces itself on its event loop (about 6,000 msgs/s into one idle broker here) and
paho-mqtt's threaded loop far below that: the publisher must not be what is measured."""
import json, socket, struct, sys, threading, time


def packet(kind, body):
    n, rl = len(body), b""
    while True:
        b, n = n % 128, n // 128
        rl += bytes([b | (0x80 if n else 0)])
        if not n:
            break
    return bytes([kind]) + rl + body


def main():
    port, topic, path, window = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3], int(sys.argv[4])
    rate = float(sys.argv[5]) if len(sys.argv) > 5 else 0
    lines = [l.rstrip(b"\n") for l in open(path, "rb")]
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    cid = f"county-pub-{time.time_ns()}".encode()
    s.sendall(packet(0x10, b"\x00\x04MQTT\x04\x02\x00\x3c" + struct.pack(">H", len(cid)) + cid))
    f = s.makefile("rb")
    if f.read(4)[:2] != b"\x20\x02":
        sys.exit("mqtt_pub: no CONNACK")
    acked, cv = [0], threading.Condition()

    def reader():
        while True:
            h = f.read(4)
            if len(h) < 4:
                return
            if h[0] == 0x40:
                with cv:
                    acked[0] += 1; cv.notify()
    threading.Thread(target=reader, daemon=True).start()
    head = b"\x32"
    t0 = time.time()
    sent, buf = 0, []
    for i, line in enumerate(lines):
        pid = i % 65535 + 1
        body = struct.pack(">H", len(topic)) + topic + struct.pack(">H", pid) + line
        if sent - acked[0] >= window:   # the window is full: send what is buffered, then wait
            if buf:
                s.sendall(b"".join(buf)); buf = []
            with cv:
                while sent - acked[0] >= window:
                    cv.wait()
        buf.append(packet(0x32, body))
        sent += 1
        if len(buf) >= 64 or sent == len(lines) or rate:
            s.sendall(b"".join(buf)); buf = []
        if rate:
            d = t0 + sent / rate - time.time()
            if d > 0:
                time.sleep(d)
    with cv:
        while acked[0] < sent:
            cv.wait(60)
    t1 = time.time()
    s.sendall(b"\xe0\x00")
    s.close()
    print(json.dumps({"sent": sent, "t_start": t0, "t_end": t1}))


if __name__ == "__main__":
    main()

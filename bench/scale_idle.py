#!/usr/bin/env python3
"""RSS of a real jwtgate against the number of idle keep-alive connections.

One event loop, auth none, an nginx upstream. After each step the gateway
holds N client connections, each of which has had one request answered and is
now idle between requests (as a client's connection pool holds them). The
table gives the gateway's RSS (median of REPEAT runs) and the RSS per idle
connection, (RSS(N) - RSS(0)) / N. Kernel socket buffers are not in RSS.

Environment: JWTGATE_BINARY (default build/jwtgate), REPEAT (default 3),
IDLE_SIZES (default "0,100,1000,10000").
"""
import os
import resource
import socket
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402  (process helpers shared with the load bench)

HOST = load.HOST
SIZES = [int(x) for x in os.environ.get("IDLE_SIZES", "0,100,1000,10000").split(",")]
REPEAT = int(os.environ.get("REPEAT", "3"))


def gateway(d, upstream_port):
    port = load.free_port()
    path = os.path.join(d, "idle.yaml")
    with open(path, "w") as f:
        f.write("""
listen: {address: %(host)s, port: %(port)d}
server:
  threads: 1
  access_log: "off"
  max_connections: 20000
  idle_timeout: 600s
upstreams:
  up: {url: "http://%(host)s:%(upstream)d", max_idle_connections: 64}
routes:
  - {name: all, path_prefix: /, upstream: up, auth: none}
""" % {"host": HOST, "port": port, "upstream": upstream_port})
    return load.start([load.JWTGATE, "serve", "-c", path], port), port


def open_idle(port, n, socks):
    request = b"GET /bench HTTP/1.1\r\nHost: bench\r\n\r\n"
    while len(socks) < n:
        s = socket.create_connection((HOST, port), timeout=10)
        s.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("connection %d closed by jwtgate" % len(socks))
            head += chunk
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("connection %d: %r" % (len(socks), head[:40]))
        socks.append(s)


def one_run(d, upstream_port):
    proc, port = gateway(d, upstream_port)
    socks = []
    rss = {}
    try:
        # Warm up: the first requests grow the allocator's arenas and the
        # upstream pool; that is not per-connection memory.
        open_idle(port, 50, socks)
        for s in socks:
            s.close()
        socks = []
        time.sleep(0.5)
        for n in SIZES:
            open_idle(port, n, socks)
            time.sleep(1.0)
            rss[n] = load.rss_kib(proc.pid)
    finally:
        for s in socks:
            s.close()
        load.stop(proc)
    return rss


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(SIZES) + 1000
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    with tempfile.TemporaryDirectory() as d:
        up_port = load.free_port()
        try:
            load.nginx(d, "up", up_port,
                       "server { listen %s:%d; location / { return 200 \"ok\\n\"; } }" % (HOST, up_port))
            runs = [one_run(d, up_port) for _ in range(REPEAT)]
        finally:
            load.stop_all()
    base = statistics.median(r[SIZES[0]] for r in runs)
    print("\nidle keep-alive connections: jwtgate RSS (one event loop, median of %d runs)" % REPEAT)
    print("| idle connections | RSS KiB | ratio to smallest | RSS per idle connection |")
    print("|---:|---:|---:|---:|")
    per = None
    for n in SIZES:
        rss = statistics.median(r[n] for r in runs)
        if n:
            per = statistics.median((r[n] - r[SIZES[0]]) * 1024.0 / n for r in runs)
        print("| %d | %d | %.2fx | %s |" % (n, rss, rss / base, "%.0f B" % per if n else "-"))
    if per is not None:
        print("\ntarget RSS per idle connection < 4 KiB: %.2f KiB %s"
              % (per / 1024, "met" if per < 4096 else "MISSED"))


if __name__ == "__main__":
    main()

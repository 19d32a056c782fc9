"""HTTP/2 benchmark of jwtgate against nginx and HAProxy (see bench/http2.sh).

Everything on 127.0.0.1, in one run, in front of the same HTTP/1.1 upstream
(nginx answering a small 200, as in bench/load.py):
  nginx-h2     nginx `listen ... http2` (prior-knowledge h2c) proxy_pass with
               upstream keep-alive, no auth (the floor of plain proxying)
  haproxy-h2   HAProxy `bind ... proto h2`, no auth
  jwtgate      jwtgate h2c on its plain listener, a route that requires a JWT,
               an HS256 token sent on every request (verified-token cache on)

1. h2load -c CONNECTIONS -m STREAMS -D DURATION against each peer at 1 and 2
   proxy threads (nginx workers, HAProxy nbthread, jwtgate server.threads), in
   ROUNDS rounds of alternating order; medians of req/s and of the proxy's own
   CPU time per request (utime + stime of all its threads from /proc, before
   and after, over the requests h2load saw done).
2. gRPC unary round trip: a Python grpc client calls a Python grpc echo server
   (generic raw-bytes handlers) CALLS times in a row, directly and through
   jwtgate (upstream `protocol: h2`, a route that requires a JWT, the token in
   the `authorization` metadata), and, for comparison, through nginx grpc_pass
   and HAProxy `proto h2` without auth; p50 / p99 per call and the latency each
   proxy adds to the direct call.
3. RSS per idle HTTP/2 connection: IDLE_CONNECTIONS h2c connections that have
   sent the client preface and SETTINGS and acknowledged the server's SETTINGS,
   then sit idle; (RSS with them - RSS before) / N for each proxy at one
   thread, and the same after one authorized request on each connection.

jwtgate parts are skipped (and said so) when the binary refuses the HTTP/2
configuration keys. Environment: JWTGATE_BINARY, DURATION (10), ROUNDS (3),
CONNECTIONS (20), STREAMS (10), THREADS (1,2), CALLS (2000), GRPC_ROUNDS (3),
IDLE_CONNECTIONS (2000), PARTS (load,grpc,idle), PEERS (nginx-h2,haproxy-h2,jwtgate),
GRPC_PAYLOAD (100 bytes), PERF (unset), TLS (unset; 1: the load part over TLS
instead of h2c: every proxy serves h2 through ALPN with one self-signed P-256
certificate, h2load negotiates it, the upstream hop stays plain HTTP/1.1).
"""

import os
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402  (process helpers, keys and tokens shared with the load bench)

HOST = load.HOST
DURATION = int(os.environ.get("DURATION", "10"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "20"))
STREAMS = int(os.environ.get("STREAMS", "10"))
THREADS = [int(t) for t in os.environ.get("THREADS", "1,2").split(",")]
CALLS = int(os.environ.get("CALLS", "2000"))
GRPC_ROUNDS = int(os.environ.get("GRPC_ROUNDS", "3"))
IDLE_CONNECTIONS = int(os.environ.get("IDLE_CONNECTIONS", "2000"))
PARTS = os.environ.get("PARTS", "load,grpc,idle").split(",")
PEERS = os.environ.get("PEERS", "nginx-h2,haproxy-h2,jwtgate").split(",")
# PERF=/tmp/prefix: after the rounds, one more jwtgate run under `perf record`
# (prefix-tN.data per thread count), for bench/PROFILE notes.
PERF = os.environ.get("PERF", "")
PAYLOAD = b"x" * int(os.environ.get("GRPC_PAYLOAD", "100"))
TLS = os.environ.get("TLS", "") == "1"
SCHEME = "https" if TLS else "http"
TLS_FILES = {}  # crt, key, pem (HAProxy's crt+key), made in main() when TLS is on


def make_tls_files(d):
    load.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", "tls.key", "-out", "tls.crt", "-days", "2", "-subj", "/CN=127.0.0.1",
                 "-addext", "subjectAltName=IP:127.0.0.1", cwd=d)
    with open(os.path.join(d, "tls.pem"), "w") as out:
        for name in ("tls.crt", "tls.key"):
            with open(os.path.join(d, name)) as f:
                out.write(f.read())
    TLS_FILES.update(crt=os.path.join(d, "tls.crt"), key=os.path.join(d, "tls.key"),
                     pem=os.path.join(d, "tls.pem"))

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


# ---------------------------------------------------------------- HTTP/2 frames

def frame(ftype, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes((ftype, flags)) + stream.to_bytes(4, "big") + payload


SETTINGS, HEADERS, DATA, GOAWAY, RST_STREAM = 4, 1, 0, 7, 3
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


class H2Conn:
    """A minimal prior-knowledge h2c client on a blocking socket: enough for a
    handshake, one GET and its status, with bounded reads."""

    def __init__(self, port, timeout=10, tls=False):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        # Without it the HEADERS after the SETTINGS ACK waits for a delayed ACK (40 ms).
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # the bench's own self-signed certificate
            ctx.set_alpn_protocols(["h2"])
            self.sock = ctx.wrap_socket(self.sock, server_hostname=HOST)
            if self.sock.selected_alpn_protocol() != "h2":
                raise RuntimeError("port %d did not negotiate h2 (ALPN: %r)"
                                   % (port, self.sock.selected_alpn_protocol()))
        self.buf = b""

    def read_frame(self):
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], "big"):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("h2 connection closed by the peer")
            self.buf += chunk
        n = int.from_bytes(self.buf[:3], "big")
        ftype, flags, stream = self.buf[3], self.buf[4], int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
        payload, self.buf = self.buf[9:9 + n], self.buf[9 + n:]
        return ftype, flags, stream, payload

    def handshake(self):
        self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0))
        got_settings = got_ack = False
        for _ in range(64):
            ftype, flags, _, payload = self.read_frame()
            if ftype == SETTINGS and not flags & ACK:
                self.sock.sendall(frame(SETTINGS, ACK, 0))
                got_settings = True
            elif ftype == SETTINGS:
                got_ack = True
            elif ftype == GOAWAY:
                raise RuntimeError("GOAWAY during the handshake: %r" % payload)
            if got_settings and got_ack:
                return
        raise RuntimeError("no SETTINGS exchange within 64 frames")

    def get(self, stream, path="/bench", token=None, extra=()):
        """Sends a GET on `stream` and returns its :status."""
        import hpack
        headers = [(":method", "GET"), (":scheme", "http"), (":authority", "bench"), (":path", path)]
        if token:
            headers.append(("authorization", "Bearer " + token))
        headers.extend(extra)
        block = hpack.Encoder().encode(headers)  # a fresh encoder: no dynamic-table state to share
        self.sock.sendall(frame(HEADERS, END_STREAM | END_HEADERS, stream, block))
        decoder, status = hpack.Decoder(), None
        for _ in range(256):
            ftype, flags, sid, payload = self.read_frame()
            if ftype == HEADERS:
                # The server's HPACK context spans the whole connection: decode every block.
                fields = decoder.decode(payload)
                if sid == stream and status is None:
                    status = int(dict(fields)[":status"])
            if ftype == GOAWAY:
                raise RuntimeError("GOAWAY: %r" % payload)
            if ftype == RST_STREAM and sid == stream:
                raise RuntimeError("stream %d reset" % stream)
            if sid == stream and ftype in (HEADERS, DATA) and flags & END_STREAM:
                return status
        raise RuntimeError("no end of stream %d within 256 frames" % stream)

    def close(self):
        self.sock.close()


def h2_status(port, token=None):
    c = H2Conn(port, timeout=5, tls=TLS)
    try:
        c.handshake()
        return c.get(1, token=token)
    finally:
        c.close()


# ---------------------------------------------------------------- peers

def nginx_h2(d, name, port, upstream, workers):
    return load.nginx(d, name, port, """
upstream up { server %s:%d; keepalive 256; }
server { listen %s:%d%s http2;%s location / { proxy_pass http://up; proxy_http_version 1.1;
         proxy_set_header Connection ""; } }""" % (
        HOST, upstream, HOST, port, " ssl" if TLS else "",
        " ssl_certificate %s; ssl_certificate_key %s;" % (TLS_FILES["crt"], TLS_FILES["key"]) if TLS else ""),
        workers=workers)


def nginx_grpc(d, name, port, upstream):
    return load.nginx(d, name, port, """
upstream grpcup { server %s:%d; keepalive 32; }
server { listen %s:%d http2; location / { grpc_pass grpc://grpcup; } }""" % (HOST, upstream, HOST, port))


def haproxy_h2(d, name, port, upstream, threads, server_proto=""):
    conf = os.path.join(d, name + ".cfg")
    with open(conf, "w") as f:
        f.write("""
global
  nbthread %(threads)d
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 600s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind %(host)s:%(port)d %(bind)s
  default_backend be
backend be
  http-reuse always
  server up %(host)s:%(upstream)d maxconn 1000 %(proto)s
""" % {"threads": threads, "host": HOST, "port": port, "upstream": upstream, "proto": server_proto,
       "bind": "ssl crt %s alpn h2" % TLS_FILES["pem"] if TLS else "proto h2"})
    return load.start(["haproxy", "-f", conf, "-db"], port)


def jwtgate_config(d, name, port, upstream, threads, protocol="http1"):
    path = os.path.join(d, name + ".yaml")
    with open(path, "w") as f:
        f.write("""
listen: {address: %(host)s, port: %(port)d, http2: true%(tls)s}
server:
  threads: %(threads)d
  access_log: "off"
  max_connections: 20000
  max_concurrent_streams: 100
  idle_timeout: 600s
upstreams:
  up: {url: "http://%(host)s:%(upstream)d", max_idle_connections: 256, protocol: %(protocol)s}
providers:
  bench:
    issuer: %(issuer)s
    algorithms: [HS256]
    keys:
      - {kid: hs256, alg: HS256, secret_file: %(d)s/hs.secret}
    headers: {X-User-Id: sub}
routes:
  - {name: bench, path_prefix: /, upstream: up, auth: {providers: [bench]}}
""" % {"host": HOST, "port": port, "threads": threads, "upstream": upstream, "protocol": protocol,
       "issuer": load.ISSUER, "d": d,
       "tls": ", tls: {cert_file: %s, key_file: %s}" % (TLS_FILES["crt"], TLS_FILES["key"]) if TLS else ""})
    return path


def jwtgate(d, name, port, upstream, threads, protocol="http1"):
    return load.start([load.JWTGATE, "serve", "-c", jwtgate_config(d, name, port, upstream, threads, protocol)],
                      port)


def jwtgate_supports_h2(d):
    """None when the binary accepts the HTTP/2 keys, else why not."""
    if not os.access(load.JWTGATE, os.X_OK):
        return "no binary at %s" % load.JWTGATE
    path = jwtgate_config(d, "probe", 1, 2, 1, "h2")
    r = subprocess.run([load.JWTGATE, "check", "-c", path], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return "; ".join((r.stdout + r.stderr).strip().splitlines()) or "check failed"
    return None


# ---------------------------------------------------------------- 1. h2load

UPSTREAM_PID = [0]


def h2load(port, token, pid):
    """req/s, mean ms per request, CPU µs per request of the peer; and, for the
    round lines, the CPU µs per request of h2load and of the upstream."""
    args = ["h2load", "-t1", "-c%d" % CONNECTIONS, "-m%d" % STREAMS, "-D%d" % DURATION]
    if token:
        args += ["-H", "authorization: Bearer " + token]
    before, up_before = load.cpu_ticks(pid), load.cpu_ticks(UPSTREAM_PID[0])
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(args + ["%s://%s:%d/bench" % (SCHEME, HOST, port)], capture_output=True, text=True,
                       timeout=DURATION + 60)
    used, up_used = load.cpu_ticks(pid) - before, load.cpu_ticks(UPSTREAM_PID[0]) - up_before
    ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_s = ru2.ru_utime + ru2.ru_stime - ru.ru_utime - ru.ru_stime
    out = r.stdout
    m = re.search(r"finished in [\d.]+s, ([\d.]+) req/s", out)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                     r"(\d+) errored, (\d+) timeout", out)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if not (m and done and codes):
        raise RuntimeError("h2load on port %d: unexpected output:\n%s\n%s" % (port, out[-1500:], r.stderr[-500:]))
    n_done, ok, failed, errored, timeouts = (int(x) for x in done.groups())
    # h2load counts the status of a response still arriving at the end of -D
    # in "status codes" but not in "done": only non-2xx answers are errors.
    if failed or errored or timeouts or int(codes.group(3)) or int(codes.group(4)) or ok == 0:
        raise RuntimeError("h2load on port %d: %s / %s" % (port, done.group(0), codes.group(0)))
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", out)
    mean_ms = float(mean.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[mean.group(2)] if mean else float("nan")
    return (float(m.group(1)), mean_ms, used * 1e6 / load.CLOCK_TICK / n_done,
            client_s * 1e6 / n_done, up_used * 1e6 / load.CLOCK_TICK / n_done)


def part_load(d, up_port, token, forged, peers):
    results, failures = {}, {}
    for threads in THREADS:
        ports, procs = {}, {}
        for peer in peers:
            ports[peer] = load.free_port()
            if peer == "nginx-h2":
                procs[peer] = nginx_h2(d, "nginx-h2-%d" % threads, ports[peer], up_port, threads)
            elif peer == "haproxy-h2":
                procs[peer] = haproxy_h2(d, "haproxy-h2-%d" % threads, ports[peer], up_port, threads)
            else:
                procs[peer] = jwtgate(d, "jwtgate-h2-%d" % threads, ports[peer], up_port, threads)
        for peer in peers:
            status = h2_status(ports[peer], token)
            if status != 200:
                raise RuntimeError("%s over h2c: %d to a valid token" % (peer, status))
        if "jwtgate" in peers:
            bad, none = h2_status(ports["jwtgate"], forged), h2_status(ports["jwtgate"])
            if bad != 401 or none not in (401, 403):
                raise RuntimeError("jwtgate over h2c: forged=%d none=%d" % (bad, none))
            print("threads=%d: jwtgate answers 200 over h2c to a valid token, %d to a forged one, %d to none"
                  % (threads, bad, none), flush=True)
        for r in range(ROUNDS):
            order = peers if r % 2 == 0 else list(reversed(peers))
            for peer in order:
                if (peer, threads) in failures:
                    continue
                try:
                    res = h2load(ports[peer], token if peer == "jwtgate" else None, procs[peer].pid)
                except RuntimeError as e:
                    # A peer that breaks is reported as such; the others still run.
                    code = procs[peer].poll()
                    failures[(peer, threads)] = ("round %d: %s%s" % (
                        r + 1, str(e).splitlines()[0], "; the process exited with %s" % code
                        if code is not None else ""))
                    print("  round %d %-10s t=%d  FAILED: %s" % (r + 1, peer, threads, failures[(peer, threads)]),
                          flush=True)
                    continue
                results.setdefault((peer, threads), []).append(res)
                print("  round %d %-10s t=%d  %9.0f req/s  mean %.3f ms  %.1f us CPU/req  "
                      "(h2load %.1f, upstream %.1f us/req)" % (r + 1, peer, threads, *res), flush=True)
        if PERF and "jwtgate" in peers and ("jwtgate", threads) not in failures:
            # One extra run, not in the medians, with perf sampling jwtgate.
            out = "%s-t%d.data" % (PERF, threads)
            perf = subprocess.Popen(["perf", "record", "-F", "499", "--call-graph", "dwarf,8192", "-o", out,
                                     "-p", str(procs["jwtgate"].pid)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            try:
                res = h2load(ports["jwtgate"], token, procs["jwtgate"].pid)
                print("  perf run  jwtgate    t=%d  %9.0f req/s (under perf) -> %s" % (threads, res[0], out),
                      flush=True)
            except RuntimeError as e:
                print("  perf run  jwtgate    t=%d  FAILED (%s) -> %s" % (threads, str(e).splitlines()[0], out))
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=120)
        for p in procs.values():
            load.stop(p)
    med = {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in results.items()}
    lines = ["Medians of %d rounds, `h2load -t1 -c%d -m%d -D%d`, %s, HTTP/1.1 upstream "
             "(nginx, small 200); jwtgate with an HS256 token on every request (cached after the first); "
             "nginx and HAProxy without auth. CPU/req: the proxy's own CPU time (user + system, all "
             "threads) per request." % (ROUNDS, CONNECTIONS, STREAMS, DURATION,
                                        "h2 over TLS (ALPN, a P-256 certificate)" if TLS
                                        else "h2c prior knowledge"), "",
             "| threads | peer | req/s | mean ms/request | CPU µs/req | jwtgate/peer req/s | peer/jwtgate CPU |",
             "|---|---|--:|--:|--:|--:|--:|"]
    for threads in THREADS:
        jg = med.get(("jwtgate", threads)) if ("jwtgate", threads) not in failures else None
        for peer in peers:
            if (peer, threads) in failures:
                lines.append("| %d | %s | failed: %s | | | | |" % (threads, peer, failures[(peer, threads)]))
                continue
            m = med[(peer, threads)]
            ratio = ("%.2f | %.2f" % (jg[0] / m[0], m[2] / jg[2])) if jg and peer != "jwtgate" else " | "
            lines.append("| %d | %s | %.0f | %.3f | %.1f | %s |" % (threads, peer, m[0], m[1], m[2], ratio))
    lines.append("")
    for t in THREADS:
        if ("jwtgate", t) in failures:
            lines.append("target jwtgate (cached token) >= 1.0x nginx req/s, %d thread(s): MISSED "
                         "(jwtgate failed under h2load)" % t)
        elif ("jwtgate", t) in med and ("nginx-h2", t) in med:
            ratio = med[("jwtgate", t)][0] / med[("nginx-h2", t)][0]
            lines.append("target jwtgate (cached token) >= 1.0x nginx req/s, %d thread(s): %.2fx %s"
                         % (t, ratio, "met" if ratio >= 1.0 else "MISSED"))
    return lines


# ---------------------------------------------------------------- 2. gRPC

GRPC_SERVER = r"""
import sys, time
from concurrent import futures
import grpc
def echo(request, context):
    return request
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(
    "bench.Svc", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}),))
server.add_insecure_port("127.0.0.1:%d" % int(sys.argv[1]))
server.start()
server.wait_for_termination()
"""


def grpc_calls(port, token, n):
    import grpc
    opts = [("grpc.enable_http_proxy", 0), ("grpc.primary_user_agent", "jwtgate-bench")]
    with grpc.insecure_channel("%s:%d" % (HOST, port), options=opts) as channel:
        call = channel.unary_unary("/bench.Svc/Echo")
        md = [("authorization", "Bearer " + token)] if token else None
        for _ in range(50):  # warm up: connection, upstream pool, token cache
            call(PAYLOAD, metadata=md, timeout=5)
        samples = []
        for _ in range(n):
            t0 = time.perf_counter_ns()
            reply = call(PAYLOAD, metadata=md, timeout=5)
            samples.append((time.perf_counter_ns() - t0) / 1000.0)
            if reply != PAYLOAD:
                raise RuntimeError("gRPC echo through port %d returned %r" % (port, reply[:40]))
    return samples


def grpc_status(port, token):
    import grpc
    with grpc.insecure_channel("%s:%d" % (HOST, port), options=[("grpc.enable_http_proxy", 0)]) as channel:
        md = [("authorization", "Bearer " + token)] if token else None
        try:
            channel.unary_unary("/bench.Svc/Echo")(PAYLOAD, metadata=md, timeout=5)
            return "OK"
        except grpc.RpcError as e:
            return e.code().name


def pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * p / 100.0))]


def part_grpc(d, token, forged, peers, with_jwtgate):
    gport = load.free_port()
    load.start([sys.executable, "-c", GRPC_SERVER, str(gport)], gport)
    targets = {"direct": gport}
    if "nginx-h2" in peers:
        targets["nginx-h2"] = load.free_port()
        nginx_grpc(d, "nginx-grpc", targets["nginx-h2"], gport)
    if "haproxy-h2" in peers:
        targets["haproxy-h2"] = load.free_port()
        haproxy_h2(d, "haproxy-grpc", targets["haproxy-h2"], gport, 1, "proto h2")
    failed = {}
    if with_jwtgate:
        targets["jwtgate"] = load.free_port()
        jwtgate(d, "jwtgate-grpc", targets["jwtgate"], gport, 1, "h2")
        codes = grpc_status(targets["jwtgate"], token), grpc_status(targets["jwtgate"], forged), \
            grpc_status(targets["jwtgate"], None)
        print("gRPC through jwtgate: valid token %s, forged %s, none %s" % codes, flush=True)
        if codes[0] != "OK" or codes[1] != "UNAUTHENTICATED" or codes[2] not in ("UNAUTHENTICATED",
                                                                                 "PERMISSION_DENIED"):
            failed["jwtgate"] = "valid=%s forged=%s none=%s" % codes
    samples = {k: [] for k in targets}
    names = list(targets)
    for r in range(GRPC_ROUNDS):
        for name in (names if r % 2 == 0 else list(reversed(names))):
            if name in failed:
                continue
            try:
                s = grpc_calls(targets[name], token if name == "jwtgate" else None, CALLS)
            except Exception as e:  # grpc.RpcError or a wrong echo: report it, keep the others
                failed[name] = "round %d: %s" % (r + 1, str(e).splitlines()[0][:200])
                print("  round %d gRPC %-10s FAILED: %s" % (r + 1, name, failed[name]), flush=True)
                continue
            samples[name].extend(s)
            print("  round %d gRPC %-10s p50 %.0f us  p99 %.0f us" % (r + 1, name, pct(s, 50), pct(s, 99)),
                  flush=True)
    base = [pct(samples["direct"], p) for p in (50, 90, 99)]
    lines = ["gRPC unary echo (%d-byte message), Python grpcio client and server (generic raw-bytes handlers), "
             "%d rounds x %d sequential calls on one channel, percentiles over all calls; proxies at one "
             "thread; jwtgate with an HS256 token in the `authorization` metadata, upstream `protocol: h2`; "
             "nginx grpc_pass and HAProxy `proto h2` without auth:" % (len(PAYLOAD), GRPC_ROUNDS, CALLS), "",
             "| path | p50 µs | p90 µs | p99 µs | added p50 µs | added p90 µs | added p99 µs |",
             "|---|--:|--:|--:|--:|--:|--:|"]
    for name in names:
        if name in failed:
            lines.append("| %s | failed: %s | | | | | |" % (name, failed[name]))
            continue
        got = [pct(samples[name], p) for p in (50, 90, 99)]
        added = " | ".join("%.0f" % (g - b) for g, b in zip(got, base)) if name != "direct" else " | | "
        lines.append("| %s | %.0f | %.0f | %.0f | %s |" % (name, *got, added))
    return lines


# ---------------------------------------------------------------- 3. idle RSS

def rss_total(pid):
    total = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if int(entry) == pid or ppid == pid:
                total += load.rss_kib(int(entry))
    return total


def idle_run(port, pid, n, token, request):
    conns = []
    try:
        # Warm up: the first connections grow the allocator's arenas.
        for _ in range(50):
            c = H2Conn(port)
            c.handshake()
            if request:
                c.get(1, token=token)
            conns.append(c)
        for c in conns:
            c.close()
        conns = []
        time.sleep(0.5)
        before = rss_total(pid)
        for i in range(n):
            c = H2Conn(port)
            c.handshake()
            if request:
                status = c.get(1, token=token)
                if status != 200:
                    raise RuntimeError("idle connection %d: status %d" % (i, status))
            conns.append(c)
        time.sleep(1.0)
        after = rss_total(pid)
        # Each connection must still be open: a PING gets its ACK.
        alive = 0
        for c in conns[:: max(1, n // 50)]:
            c.sock.sendall(frame(6, 0, 0, b"12345678"))
            for _ in range(16):
                ftype, flags, _, _ = c.read_frame()
                if ftype == 6 and flags & ACK:
                    alive += 1
                    break
        return before, after, alive, len(conns[:: max(1, n // 50)])
    finally:
        for c in conns:
            c.close()


def part_idle(d, up_port, token, peers):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < IDLE_CONNECTIONS + 1000:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(IDLE_CONNECTIONS + 1000, hard), hard))
    lines = ["RSS per idle HTTP/2 connection, %d h2c connections, one proxy thread (process RSS after the "
             "connections minus before, over N; kernel socket buffers are not in RSS):" % IDLE_CONNECTIONS, "",
             "| peer | idle connections | state | RSS before KiB | RSS after KiB | RSS per connection |",
             "|---|--:|---|--:|--:|--:|"]
    for peer in peers:
        for request in (False, True):
            port = load.free_port()
            if peer == "nginx-h2":
                proc = nginx_h2(d, "nginx-idle-%d" % request, port, up_port, 1)
            elif peer == "haproxy-h2":
                proc = haproxy_h2(d, "haproxy-idle-%d" % request, port, up_port, 1)
            else:
                proc = jwtgate(d, "jwtgate-idle-%d" % request, port, up_port, 1)
            state = "after one request" if request else "preface + SETTINGS"
            try:
                time.sleep(0.3)
                before, after, alive, probed = idle_run(port, proc.pid, IDLE_CONNECTIONS, token, request)
                if alive != probed:
                    raise RuntimeError("only %d of %d probed idle connections answered a PING" % (alive, probed))
            except (RuntimeError, OSError) as e:
                code = proc.poll()
                why = "%s%s" % (e, "; the process exited with %s" % code if code is not None else "")
                lines.append("| %s | %d | %s | failed: %s | | |" % (peer, IDLE_CONNECTIONS, state, why))
                print("  idle %-10s %-19s FAILED: %s" % (peer, state, why), flush=True)
                continue
            finally:
                load.stop(proc)
            per = (after - before) * 1024.0 / IDLE_CONNECTIONS
            lines.append("| %s | %d | %s | %d | %d | %.0f B |" % (peer, IDLE_CONNECTIONS, state, before, after, per))
            print("  idle %-10s %-19s %d -> %d KiB, %.0f B per connection" % (peer, state, before, after, per),
                  flush=True)
    return lines


# ---------------------------------------------------------------- main

def main():
    for tool in ("nginx", "haproxy", "h2load", "openssl"):
        if shutil.which(tool) is None:
            sys.exit("%s is missing: run bench/http2.sh, which installs it" % tool)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    d = tempfile.mkdtemp(prefix="jwtgate-h2bench-")
    report = []
    try:
        keys = load.make_keys(d)
        if TLS:
            make_tls_files(d)
            if PARTS != ["load"]:
                print("TLS=1 measures the load part only (gRPC and idle parts skipped)", flush=True)
                PARTS[:] = ["load"]
        token, forged = load.mint(keys, "HS256"), load.mint(keys, "HS256", forged=True)
        peers = list(PEERS)
        why = jwtgate_supports_h2(d) if "jwtgate" in peers else "not asked for"
        if why:
            print("jwtgate parts skipped: %s" % why, flush=True)
            peers = [p for p in peers if p != "jwtgate"]
        machine = "machine: %d CPUs, load average %s at the start, %s, %s" % (
            os.cpu_count(), " ".join(open("/proc/loadavg").read().split()[:3]),
            subprocess.run(["h2load", "--version"], capture_output=True, text=True).stdout.strip(),
            "jwtgate " + load.JWTGATE if "jwtgate" in peers else "no jwtgate")
        print(machine, flush=True)

        up_port = load.free_port()
        UPSTREAM_PID[0] = load.nginx(d, "upstream", up_port,
                   "server { listen %s:%d; location / { return 200 \"ok\\n\"; } }" % (HOST, up_port)).pid
        if "load" in PARTS:
            report += part_load(d, up_port, token, forged, peers) + [""]
        if "grpc" in PARTS:
            report += part_grpc(d, token, forged, [p for p in peers if p != "jwtgate"], "jwtgate" in peers) + [""]
        if "idle" in PARTS:
            report += part_idle(d, up_port, token, peers) + [""]
        if why:
            report.append("jwtgate not measured: %s" % why)
        report.append(machine)
        report.append("load average at the end: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
        print()
        print("\n".join(report))
    finally:
        load.stop_all()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()

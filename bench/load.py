"""Load benchmark of jwtgate against nginx and HAProxy (see bench/load.sh).

Peers, all on 127.0.0.1, all in front of the same nginx upstream answering a
small 200:
  nginx-proxy   nginx proxy_pass with upstream keep-alive, no auth (the floor)
  haproxy       HAProxy jwt_verify (HS256, RS256, ES256) with exp checked
  jwtgate       jwtgate with the same keys, verified-token cache on (default)
  jwtgate-nc    jwtgate with token_cache_entries: 0 (every request verified)

Each auth peer is first checked to answer 200 to a valid token and 401 to a
forged one. Then wrk runs for each peer, algorithm and proxy thread count, in
several rounds whose order alternates, and the medians are reported with the
ratios jwtgate/haproxy and jwtgate/nginx-proxy, and each proxy's own CPU time
per request (steadier than rates on a machine whose cores the client and the
upstream share). Last, jwtgate's RSS at idle and with 10,000 idle keep-alive
connections.
"""

import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import jwt

DURATION = int(os.environ.get("DURATION", "5"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "32"))
THREADS = [int(t) for t in os.environ.get("THREADS", "1,2").split(",")]
ALGS = os.environ.get("ALGS", "HS256,RS256,ES256").split(",")
# PIN=1: every proxy pins its threads to CPUs (nginx worker_cpu_affinity auto,
# HAProxy cpu-map, jwtgate server.cpu_affinity), for a tuned comparison.
PIN = os.environ.get("PIN", "0") == "1"
IDLE_CONNECTIONS = int(os.environ.get("IDLE_CONNECTIONS", "10000"))
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
JWTGATE = os.environ.get("JWTGATE_BINARY", os.path.join(ROOT, "build", "jwtgate"))
HOST = "127.0.0.1"
ISSUER = "https://bench.jwtgate"
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"

started = []


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("process exited early: %r" % proc.args)
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d not listening" % port)


def start(args, port, **kw):
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, **kw)
    started.append(proc)
    try:
        wait_port(port, proc)
    except RuntimeError:
        log.seek(0)
        raise RuntimeError("%s failed to start:\n%s" % (args[0], log.read().decode(errors="replace")[-2000:]))
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def stop_all():
    for p in started:
        stop(p)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_keys(d):
    # HAProxy 2.6's jwt_verify takes a public key PEM (a certificate file is
    # reported as "file not found"); jwtgate reads the same files.
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rs.key", cwd=d)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "es.key", cwd=d)
    openssl("pkey", "-in", "rs.key", "-pubout", "-out", "rs.pub", cwd=d)
    openssl("pkey", "-in", "es.key", "-pubout", "-out", "es.pub", cwd=d)
    with open(os.path.join(d, "hs.secret"), "w") as f:
        f.write(SECRET)
    keys = {}
    for alg, name in (("RS256", "rs"), ("ES256", "es")):
        with open(os.path.join(d, name + ".key"), "rb") as f:
            keys[alg] = f.read()
    keys["HS256"] = SECRET.encode()
    return keys


def mint(keys, alg, sub="bench-user", forged=False):
    now = int(time.time())
    token = jwt.encode({"sub": sub, "iss": ISSUER, "iat": now, "exp": now + 3600, "scope": "read"},
                       keys[alg], algorithm=alg, headers={"kid": alg.lower()})
    if forged:
        head, payload, sig = token.split(".")
        sig = ("A" if sig[0] != "A" else "B") + sig[1:]
        token = ".".join((head, payload, sig))
    return token


def http_status(port, token=None):
    with socket.create_connection((HOST, port), timeout=5) as s:
        auth = "Authorization: Bearer %s\r\n" % token if token else ""
        s.sendall(("GET /bench HTTP/1.1\r\nHost: bench\r\n%sConnection: close\r\n\r\n" % auth).encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split(b" ", 2)[1])


NGINX_COMMON = """
daemon off;
master_process off;
worker_processes 1;
pid %(d)s/%(name)s.pid;
error_log %(d)s/%(name)s.error.log error;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %(d)s/%(name)s-body;
  proxy_temp_path %(d)s/%(name)s-proxy;
  fastcgi_temp_path %(d)s/%(name)s-fcgi;
  uwsgi_temp_path %(d)s/%(name)s-uwsgi;
  scgi_temp_path %(d)s/%(name)s-scgi;
  keepalive_requests 1000000;
  %(body)s
}
"""


def nginx(d, name, port, body, workers=1, pin=False):
    conf = os.path.join(d, name + ".conf")
    text = NGINX_COMMON % {"d": d, "name": name, "body": body}
    if pin:
        text = text.replace("worker_processes 1;", "worker_processes 1;\nworker_cpu_affinity auto;")
    if workers != 1:
        # A master process is needed for several workers.
        text = text.replace("master_process off;", "").replace(
            "worker_processes 1;", "worker_processes %d;" % workers)
    with open(conf, "w") as f:
        f.write(text)
    return start(["nginx", "-p", d, "-c", conf], port)


def haproxy(d, port, upstream, threads):
    conf = os.path.join(d, "haproxy-%d.cfg" % threads)
    with open(conf, "w") as f:
        f.write("""
global
  nbthread %(threads)d
  maxconn 4096
%(pin)s
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind %(host)s:%(port)d
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.jwt_alg) var(txn.bearer),jwt_header_query('$.alg')
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('$.exp','int')
  http-request set-var(txn.now) date()
  http-request deny status 401 unless { var(txn.jwt_alg) -m str HS256 RS256 ES256 }
  http-request deny status 401 unless { var(txn.exp) -m found }
  http-request deny status 401 if { var(txn.exp),sub(txn.now) -m int le 0 }
  http-request deny status 401 if { var(txn.jwt_alg) -m str HS256 } !{ var(txn.bearer),jwt_verify(txn.jwt_alg,"%(secret)s") -m int 1 }
  http-request deny status 401 if { var(txn.jwt_alg) -m str RS256 } !{ var(txn.bearer),jwt_verify(txn.jwt_alg,"%(d)s/rs.pub") -m int 1 }
  http-request deny status 401 if { var(txn.jwt_alg) -m str ES256 } !{ var(txn.bearer),jwt_verify(txn.jwt_alg,"%(d)s/es.pub") -m int 1 }
  default_backend be
backend be
  http-reuse always
  server up %(host)s:%(upstream)d maxconn 1000
""" % {"threads": threads, "host": HOST, "port": port, "upstream": upstream, "secret": SECRET, "d": d,
       "pin": "  cpu-map auto:1/1-%d 0-%d" % (threads, threads - 1) if PIN else ""})
    return start(["haproxy", "-f", conf, "-db"], port)


def jwtgate_config(d, port, upstream, threads, cache):
    path = os.path.join(d, "jwtgate-%d-%d.yaml" % (threads, cache))
    with open(path, "w") as f:
        f.write("""
listen: {address: %(host)s, port: %(port)d}
server:
  threads: %(threads)d
  access_log: "off"
  token_cache_entries: %(cache)d
  max_connections: 20000
  cpu_affinity: %(pin)s
upstreams:
  up: {url: "http://%(host)s:%(upstream)d", max_idle_connections: 256}
providers:
  bench:
    issuer: %(issuer)s
    algorithms: [HS256, RS256, ES256]
    keys:
      - {kid: hs256, alg: HS256, secret_file: %(d)s/hs.secret}
      - {kid: rs256, alg: RS256, public_key_file: %(d)s/rs.pub}
      - {kid: es256, alg: ES256, public_key_file: %(d)s/es.pub}
    headers: {X-User-Id: sub}
routes:
  - {name: bench, path_prefix: /, upstream: up, auth: {providers: [bench]}}
""" % {"host": HOST, "port": port, "threads": threads, "cache": cache, "upstream": upstream,
       "issuer": ISSUER, "d": d, "pin": "true" if PIN else "false"})
    return path


def jwtgate(d, port, upstream, threads, cache):
    path = jwtgate_config(d, port, upstream, threads, cache)
    return start([JWTGATE, "serve", "-c", path], port)


CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    """User + system CPU ticks of a process (all its threads) and of its direct
    children (nginx workers under a master)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[1] is the parent pid; utime and stime are fields 14 and 15 of stat.
        if int(entry) == pid or int(fields[1]) == pid:
            total += int(fields[11]) + int(fields[12])
    return total


def wrk(port, token, pid):
    """requests/s, p50 ms, p99 ms, and the peer's CPU time per request in µs."""
    before = cpu_ticks(pid)
    args = ["wrk", "-t1", "-c%d" % CONNECTIONS, "-d%ds" % DURATION, "--latency"]
    if token:
        args += ["-H", "Authorization: Bearer " + token]
    out = subprocess.run(args + ["http://%s:%d/bench" % (HOST, port)], capture_output=True,
                         text=True, timeout=DURATION + 30).stdout
    used = cpu_ticks(pid) - before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if non2xx:
        raise RuntimeError("wrk saw %s non-2xx answers on port %d" % (non2xx.group(1), port))

    def pct(p):
        m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)\b" % p, out)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[unit]
    return rps, pct(50), pct(99), used * 1e6 / CLOCK_TICK / max(requests, 1)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def idle_connections(d, upstream, token):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = IDLE_CONNECTIONS + 1000
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    port = free_port()
    proc = jwtgate(d, port, upstream, 2, 10000)
    time.sleep(0.5)
    idle = rss_kib(proc.pid)
    socks = []
    try:
        request = ("GET /bench HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n\r\n" % token).encode()
        for i in range(IDLE_CONNECTIONS):
            s = socket.create_connection((HOST, port), timeout=10)
            # One authorized request each, so every connection is a keep-alive
            # session idle between requests, as a connection pool holds them.
            s.sendall(request)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError("connection %d closed by jwtgate" % i)
                head += chunk
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError("connection %d: %r" % (i, head[:40]))
            socks.append(s)
        time.sleep(1.0)
        alive = len(socks)
        loaded = rss_kib(proc.pid)
    finally:
        for s in socks:
            s.close()
        stop(proc)
    return idle, loaded, len(socks), alive


def main():
    for tool in ("nginx", "haproxy", "wrk", "openssl"):
        if shutil.which(tool) is None:
            sys.exit("%s is missing: run bench/load.sh, which installs it" % tool)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # for the 10,000 idle connections
    d = tempfile.mkdtemp(prefix="jwtgate-bench-")
    try:
        keys = make_keys(d)
        tokens = {alg: mint(keys, alg) for alg in ALGS}
        forged = {alg: mint(keys, alg, forged=True) for alg in ALGS}

        up_port = free_port()
        nginx(d, "upstream", up_port,
              "server { listen %s:%d; location / { return 200 \"ok\\n\"; } }" % (HOST, up_port),
              workers=1)
        results = {}  # (peer, alg, threads) -> [(rps, p50, p99)]
        for threads in THREADS:
            ports = {"nginx-proxy": free_port(), "haproxy": free_port(),
                     "jwtgate": free_port(), "jwtgate-nc": free_port()}
            procs = [
                nginx(d, "proxy%d" % threads, ports["nginx-proxy"], """
upstream up { server %s:%d; keepalive 256; }
server { listen %s:%d; location / { proxy_pass http://up; proxy_http_version 1.1;
         proxy_set_header Connection ""; } }""" % (HOST, up_port, HOST, ports["nginx-proxy"]),
                      workers=threads, pin=PIN),
                haproxy(d, ports["haproxy"], up_port, threads),
                jwtgate(d, ports["jwtgate"], up_port, threads, 10000),
                jwtgate(d, ports["jwtgate-nc"], up_port, threads, 0),
            ]
            pids = dict(zip(("nginx-proxy", "haproxy", "jwtgate", "jwtgate-nc"), (p.pid for p in procs)))
            for peer in ("haproxy", "jwtgate", "jwtgate-nc"):
                for alg in ALGS:
                    ok, bad, none = (http_status(ports[peer], tokens[alg]),
                                     http_status(ports[peer], forged[alg]),
                                     http_status(ports[peer]))
                    if (ok, bad) != (200, 401) or none not in (401, 403):
                        raise RuntimeError("%s %s: valid=%d forged=%d none=%d" % (peer, alg, ok, bad, none))
            print("threads=%d: every auth peer answers 200 to valid tokens and 401 to forged ones" % threads,
                  flush=True)
            runs = [("nginx-proxy", None)] + [(p, a) for a in ALGS for p in ("haproxy", "jwtgate", "jwtgate-nc")]
            for r in range(ROUNDS):
                order = runs if r % 2 == 0 else list(reversed(runs))
                for peer, alg in order:
                    res = wrk(ports[peer], tokens[alg] if alg else None, pids[peer])
                    results.setdefault((peer, alg or "-", threads), []).append(res)
                    print("  round %d %-11s %-5s t=%d  %9.0f req/s  p50 %.3f ms  p99 %.3f ms  %.1f us CPU/req"
                          % (r + 1, peer, alg or "-", threads, *res), flush=True)
            for p in procs:
                stop(p)

        print()
        print("Medians of %d rounds, wrk -t1 -c%d -d%ds, proxy threads as shown (2 cores shared "
              "by wrk, proxy and upstream)%s. CPU/req: the proxy's own CPU time (user + system, "
              "all threads) per request:" % (ROUNDS, CONNECTIONS, DURATION,
                                             ", every proxy's threads pinned to CPUs" if PIN else ""))
        print()
        print("| threads | alg | peer | req/s | p50 ms | p99 ms | CPU µs/req | jwtgate/haproxy req/s "
              "| jwtgate/nginx-proxy req/s | haproxy/jwtgate CPU |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        med = {k: tuple(statistics.median(x[i] for x in v) for i in range(4)) for k, v in results.items()}
        for threads in THREADS:
            floor = med[("nginx-proxy", "-", threads)]
            print("| %d | - | nginx-proxy | %.0f | %.3f | %.3f | %.1f | | | |" % (threads, *floor))
            for alg in ALGS:
                ha = med[("haproxy", alg, threads)]
                print("| %d | %s | haproxy | %.0f | %.3f | %.3f | %.1f | | | |" % (threads, alg, *ha))
                for peer in ("jwtgate", "jwtgate-nc"):
                    jg = med[(peer, alg, threads)]
                    print("| %d | %s | %s | %.0f | %.3f | %.3f | %.1f | %.2f | %.2f | %.2f |"
                          % (threads, alg, peer, *jg, jg[0] / ha[0], jg[0] / floor[0], ha[3] / jg[3]))
        idle, loaded, n, _ = idle_connections(d, up_port, tokens["HS256"])
        print()
        print("jwtgate RSS: %.1f MiB at idle, %.1f MiB with %d idle connections open"
              % (idle / 1024, loaded / 1024, n))
    finally:
        stop_all()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Soak: many things going wrong at once in front of one `jwtgate serve`.

Everything runs on 127.0.0.1 in this one asyncio process, for a bounded time:
  * thousands of client connections (keep-alive, pipelined, HTTP/1.0 and 1.1,
    idle holders), many subjects, valid / expired / forged / wrong-scope /
    missing tokens and tokens of keys that a reload adds or removes;
  * an upstream that echoes the identity it received and, when a request asks
    for it, resets the connection, answers slowly, times out or closes mid-body;
    it checks every request it gets against the token that came with it;
  * clients that abort mid-request and mid-response, and slowloris clients;
  * SIGHUP every second, alternating two configs that add and remove a route and
    rotate the static keys; a JWKS server that flaps and rotates its keys;
  * revocations added through the admin API (SPEC section 8) when this build's
    `jwtgate check` accepts a `revocation:` block; skipped, and said so, if not;
  * the access log written to a file and rotated (rename + SIGUSR1) every 10 s;
  * HTTP/2 clients (h2c with prior knowledge on the same plain listener, Debian
    python3-h2), batches of concurrent streams per connection, each stream
    planned and judged exactly like an HTTP/1.1 request (--http2, default auto:
    on when this build's `jwtgate check` accepts `listen.http2`).

It fails unless: no forged, expired, revoked or unauthorized request reached the
upstream; every response carried the identity of its own token and request id;
every status is explained by the fault injected, and every 401/403 by its reason
code (the JSON body's `reason`), as planned per token kind; the access log has
the same status and auth result as the client saw (every 401/403, 1 in 16 of
the rest); the gateway's open fds and RSS return to their post-warm-up
baseline; SIGTERM drains and exits 0.

A valid token is planned to pass, but a revocation of its jti may be sent
while the request is on its way (pipelined behind slow requests, it can wait
seconds): a 401 `revoked` then is right when that revocation was sent before
the response came. Such requests are counted and shown (revoked_in_flight),
never any other 401.

usage: soak.py --binary build/jwtgate [--seconds 300] [--connections 10000]
"""

import argparse
import asyncio
import base64
import collections
import json
import multiprocessing
import os
import queue as queue_module
import random
import resource
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import to_yaml  # noqa: E402

HOST = "127.0.0.1"
ISSUER = "https://id.soak.jwtgate"
JWKS_ISSUER = "https://jwks.soak.jwtgate"
AUDIENCE = "soak-api"
ADMIN_TOKEN = secrets.token_hex(16)
UPSTREAM_TIMEOUT = 2.0       # upstreams.app.timeout; the "timeout" fault sleeps past it
HEADER_TIMEOUT = 3.0         # server.header_timeout; slowloris clients must be cut by then
JWKS_ROTATE_SECONDS = 4.0    # the JWKS server publishes a new key this often
N_RSA = 6                    # JWKS keys, reused cyclically
THREADS = 2                  # server.threads
MAX_IDLE = 8                 # upstream pool per event loop: idle sockets are checked only
                             # when taken, so up to THREADS * MAX_IDLE closed ones may remain

FAULTS = ["none"] * 14 + ["slow", "reset", "timeout", "cut"]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Stats:
    def __init__(self):
        self.c = collections.Counter()
        self.violations = []      # seen by the upstream: must stay empty
        self.mismatches = []      # identity of another request in a response
        self.unexplained = []     # a status the injected fault does not explain
        self.cut_bodies = []      # with --allow-cut-bodies: the open finding, counted apart
        self.unexplained_rids = []  # their request ids, looked up in the access log at the end
        self.revoked_in_flight = []  # explained: revoked after being planned as valid (shown, not failed)

    def add(self, key, n=1):
        self.c[key] += n

    def note(self, bucket, text, rid=None):
        self.c["%s_total" % bucket] += 1
        lst = getattr(self, bucket)
        if len(lst) < 30:
            lst.append(text)
            if rid is not None and bucket == "unexplained":
                self.unexplained_rids.append(rid)


STATS = Stats()
# When the driver's own event loop last stalled (CPU starvation on a shared
# machine): a close or a 504 right then may be the driver's lateness, not the
# gateway's; such outcomes are counted apart (driver_lag_excused), not hidden.
LAG = {"last": -1e9, "max": 0.0}
ALLOW_CUT_BODIES = False  # --allow-cut-bodies
HTTP2 = {"on": False}  # --http2: set in main_async
LAG_EXCUSE = 0.5


async def watch_lag():
    while True:
        t = time.monotonic()
        await asyncio.sleep(0.1)
        over = time.monotonic() - t - 0.1
        LAG["max"] = max(LAG["max"], over)
        if over > LAG_EXCUSE:
            LAG["last"] = time.monotonic()


def lagged_since(start):
    return LAG["last"] >= start - 1.0


# --------------------------------------------------------------------------------------
# Keys and tokens
# --------------------------------------------------------------------------------------

class Tokens:
    """Pre-minted tokens per subject and kind; `cls` tells the upstream what the
    token is (the gateway ignores unknown claims)."""

    def __init__(self, subjects):
        self.subjects = ["user-%05d" % i for i in range(subjects)]
        self.secret = {k: secrets.token_hex(24).encode() for k in ("kAB", "kA", "kB", "forged")}
        self.rsa = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(N_RSA)]
        self.rsa_forged = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.cache = {}
        self.counter = 0
        self.by_jti = {}

    def write_secrets(self, directory):
        paths = {}
        for kid in ("kAB", "kA", "kB"):
            paths[kid] = os.path.join(directory, kid + ".secret")
            with open(paths[kid], "wb") as f:
                f.write(self.secret[kid])
        return paths

    def jwk(self, i):
        nums = self.rsa[i].public_key().public_numbers()

        def enc(n):
            return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))
        return {"kty": "RSA", "kid": "r%d" % i, "alg": "RS256", "use": "sig",
                "n": enc(nums.n), "e": enc(nums.e)}

    def get(self, kind, sub, rsa_index=0):
        key = (kind, sub, rsa_index if kind.startswith("jwks") else 0)
        tok = self.cache.get(key)
        if tok is None:
            tok = self.mint(kind, sub, rsa_index)
            self.cache[key] = tok
        return tok

    def mint(self, kind, sub, rsa_index):
        now = int(time.time())
        self.counter += 1
        jti = "%s-%s-%d" % (kind, sub, self.counter)
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 3600,
                  "jti": jti, "scope": "read write", "cls": "valid", "gen_a": "A", "gen_b": "B"}
        kid, key, alg = "kAB", self.secret["kAB"], "HS256"
        if kind == "valid_a":
            kid, key = "kA", self.secret["kA"]
        elif kind == "valid_b":
            kid, key = "kB", self.secret["kB"]
        elif kind == "readonly":
            claims["scope"] = "read"
        elif kind == "expired":
            claims.update(iat=now - 7200, exp=now - 3600, cls="expired")
        elif kind == "forged":
            key = self.secret["forged"]
            claims["cls"] = "forged"
        elif kind in ("jwks_valid", "jwks_forged"):
            claims["iss"] = JWKS_ISSUER
            kid, alg = "r%d" % rsa_index, "RS256"
            key = self.rsa[rsa_index] if kind == "jwks_valid" else self.rsa_forged
            if kind == "jwks_forged":
                claims["cls"] = "forged"
        token = jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})
        self.by_jti[jti] = kind
        return token


def token_claims(token):
    try:
        head, payload, _ = token.split(".")
        return json.loads(b64url_decode(head)), json.loads(b64url_decode(payload))
    except Exception:  # noqa: BLE001 - anything odd is judged by the caller
        return None, None


# --------------------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------------------

def make_config(gen, secret_paths, upstream_port, jwks_port, revocation, access_log="off", http2=False):
    """Generation "A" or "B": the same listeners, a different key set and route set."""
    hdrs = {"X-User-Id": "sub", "X-Soak-Gen": "gen_a" if gen == "A" else "gen_b"}
    static_keys = [{"kid": "kAB", "alg": "HS256", "secret_file": secret_paths["kAB"]}]
    static_keys.append({"kid": "kA", "alg": "HS256", "secret_file": secret_paths["kA"]} if gen == "A"
                       else {"kid": "kB", "alg": "HS256", "secret_file": secret_paths["kB"]})
    routes = [
        {"name": "public", "path_prefix": "/public", "upstream": "app", "auth": "none"},
        {"name": "big", "path_prefix": "/big", "upstream": "app", "auth": "none"},
        {"name": "api", "path_prefix": "/api", "upstream": "app", "auth": {"providers": ["corp"]}},
        {"name": "scoped", "path_prefix": "/scoped", "upstream": "app",
         "auth": {"providers": ["corp"], "scopes": ["write"]}},
        {"name": "jwks", "path_prefix": "/jwks", "upstream": "app", "auth": {"providers": ["remote"]}},
    ]
    if gen == "A":  # added by one reload, removed by the next
        routes.insert(2, {"name": "dyn", "path_prefix": "/dyn", "upstream": "app",
                          "auth": {"providers": ["corp"]}})
    cfg = {
        "listen": dict({"address": HOST, "port": 0}, **({"http2": True} if http2 else {})),
        "admin": {"address": HOST, "port": 0},
        "server": {"threads": THREADS, "header_timeout": "%ds" % HEADER_TIMEOUT, "idle_timeout": "30s",
                   "drain_timeout": "10s", "max_connections": 20000, "access_log": access_log},
        "upstreams": {"app": {"url": "http://%s:%d" % (HOST, upstream_port), "connect_timeout": "2s",
                              "timeout": "%ds" % UPSTREAM_TIMEOUT, "max_idle_connections": MAX_IDLE}},
        "providers": {
            "corp": {"issuer": ISSUER, "audiences": [AUDIENCE], "algorithms": ["HS256"],
                     "keys": static_keys, "headers": hdrs},
            "remote": {"issuer": JWKS_ISSUER, "audiences": [AUDIENCE], "algorithms": ["RS256"],
                       "keys": [{"jwks_url": "http://%s:%d/jwks.json" % (HOST, jwks_port)}],
                       "jwks_refresh": "2s", "jwks_min_refresh": "1s", "headers": hdrs},
        },
        "routes": routes,
    }
    if revocation:
        cfg["revocation"] = {"store": "local", "admin_token_env": "JWTGATE_SOAK_ADMIN_TOKEN"}
    return cfg


# --------------------------------------------------------------------------------------
# HTTP bits
# --------------------------------------------------------------------------------------

class Cut(Exception):
    """The peer closed (or reset) the connection."""


async def read_head(reader):
    try:
        data = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError) as e:
        raise Cut(str(e)) from None
    lines = data.decode("latin-1").split("\r\n")
    return lines[0], {k.strip().lower(): v.strip() for k, v in
                      (line.split(":", 1) for line in lines[1:] if ":" in line)}


async def read_body(reader, headers, until_close):
    """(body, complete)."""
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = bytearray()
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    return bytes(body), True
                body += await reader.readexactly(size)
                await reader.readexactly(2)
        if "content-length" in headers:
            return await reader.readexactly(int(headers["content-length"])), True
        if until_close:
            return await reader.read(-1), True
        return b"", True
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError, ValueError):
        return b"", False


def rst_close(writer):
    """Close with a TCP reset (SO_LINGER 0)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


# --------------------------------------------------------------------------------------
# Upstream: echoes the identity it received and judges every request
# --------------------------------------------------------------------------------------

class Upstream:
    def __init__(self, revocations):
        self.revocations = revocations
        self.server = None
        self.port = None
        self.writers = set()
        self.closing_idle = False

    async def start(self):
        self.server = await asyncio.start_server(self.handle, HOST, 0, backlog=4096, limit=1 << 16)
        self.port = self.server.sockets[0].getsockname()[1]

    def judge(self, path, h):
        prefix = path.split("/")[1] if path.count("/") >= 1 else ""
        if h.get("x-request-id") != h.get("x-soak-rid"):
            STATS.note("violations", "X-Request-Id %r upstream for the request %r" % (h.get("x-request-id"),
                                                                                      h.get("x-soak-rid")))
        uid, gen, auth = h.get("x-user-id"), h.get("x-soak-gen"), h.get("authorization")
        if prefix in ("public", "big"):
            if uid is not None or gen is not None:
                STATS.note("violations", "identity header on a public route: %s %r" % (path, uid))
            return
        if not auth or not auth.startswith("Bearer "):
            STATS.note("violations", "request without a token reached the upstream: %s" % path)
            return
        header, claims = token_claims(auth[7:])
        if claims is None:
            STATS.note("violations", "unparsable token reached the upstream: %s" % path)
            return
        cls = claims.get("cls")
        if cls != "valid":
            STATS.note("violations", "%s token reached the upstream: %s" % (cls, path))
        if uid != claims.get("sub"):
            STATS.note("violations", "X-User-Id %r for a token of %r" % (uid, claims.get("sub")))
        if prefix == "scoped" and "write" not in str(claims.get("scope", "")).split():
            STATS.note("violations", "token without the write scope reached /scoped")
        kid = header.get("kid")
        if (kid == "kA" and gen != "A") or (kid == "kB" and gen != "B"):
            STATS.note("violations", "key %s accepted by config generation %s" % (kid, gen))
        if prefix == "dyn" and gen != "A":
            STATS.note("violations", "route /dyn used under generation %s, which has no such route" % gen)
        jti = claims.get("jti")
        self.revocations.receive()
        when = self.revocations.revoked.get(jti)
        if when is not None:
            try:
                sent = float(h.get("x-soak-sent", "0"))
            except ValueError:
                sent = 0.0
            if sent > when:
                STATS.note("violations", "token revoked at %.3f reached the upstream, sent at %.3f" % (when, sent))

    async def handle(self, reader, writer):
        self.writers.add(writer)
        try:
            while True:
                try:
                    if self.closing_idle:
                        break
                    line_and_headers = await asyncio.wait_for(read_head(reader), timeout=60)
                except (Cut, asyncio.TimeoutError):
                    break
                request_line, h = line_and_headers
                parts = request_line.split(" ")
                if len(parts) != 3:
                    break
                method, target, _version = parts
                path = target.split("?")[0]
                if "content-length" in h:
                    body, ok = await read_body(reader, h, False)
                    if not ok:
                        STATS.add("upstream_cut_request_bodies")
                        break
                elif "chunked" in h.get("transfer-encoding", ""):
                    body, ok = await read_body(reader, h, False)
                    if not ok:
                        STATS.add("upstream_cut_request_bodies")
                        break
                STATS.add("upstream_requests")
                self.judge(path, h)
                fault = h.get("x-soak-fault", "none")
                if fault == "reset":
                    STATS.add("upstream_resets")
                    rst_close(writer)
                    return
                if fault == "slow":
                    await asyncio.sleep(random.uniform(0.2, 0.8))
                elif fault == "timeout":
                    await asyncio.sleep(UPSTREAM_TIMEOUT + 1.0)
                if path.startswith("/big/"):
                    size = int(path.split("/")[2]) if path.split("/")[2].isdigit() else 1 << 16
                    head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % size
                    writer.write(head.encode())
                    block = b"x" * 65536
                    left = size
                    try:
                        while left > 0:
                            n = min(left, len(block))
                            writer.write(block[:n])
                            left -= n
                            await writer.drain()
                    except (ConnectionError, OSError):
                        return
                    continue
                body = json.dumps({"rid": h.get("x-soak-rid"), "uid": h.get("x-user-id"),
                                   "gen": h.get("x-soak-gen")}).encode()
                if fault == "cut":
                    STATS.add("upstream_cuts")
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\n\r\n" % (len(body) + 4096) + body)
                    try:
                        await writer.drain()
                    except (ConnectionError, OSError):
                        pass
                    writer.close()
                    return
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                             % len(body) + body)
                try:
                    await writer.drain()
                except (ConnectionError, OSError):
                    return
        except Exception as e:  # noqa: BLE001 - a broken test upstream must show, not hang
            STATS.note("violations", "upstream handler error: %r" % e)
        finally:
            self.writers.discard(writer)
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass

    def close_idle(self):
        """Closes every upstream-side connection (between phases, nothing is in flight)."""
        for w in list(self.writers):
            w.close()


# --------------------------------------------------------------------------------------
# JWKS server: rotates keys, flaps
# --------------------------------------------------------------------------------------

class JwksServer:
    def __init__(self, tokens):
        self.tokens = tokens
        self.t0 = time.monotonic()
        self.state = "up"
        self.port = None

    def epoch(self):
        return int((time.monotonic() - self.t0) / JWKS_ROTATE_SECONDS)

    def published(self):
        e = self.epoch()
        return [e % N_RSA, (e - 1) % N_RSA] if e > 0 else [0]

    async def start(self):
        self.server = await asyncio.start_server(self.handle, HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def flap(self, deadline):
        states = ["up"] * 5 + ["500", "reset", "garbage", "slow"]
        while time.monotonic() < deadline:
            await asyncio.sleep(random.uniform(1.0, 3.0))
            new = random.choice(states)
            if new != self.state:
                STATS.add("jwks_flaps")
            self.state = new
        self.state = "up"

    async def handle(self, reader, writer):
        try:
            await read_head(reader)
            STATS.add("jwks_fetches")
            state = self.state
            if state == "reset":
                rst_close(writer)
                return
            if state == "slow":
                await asyncio.sleep(3)
            if state == "500":
                body = b'{"error":"flapping"}'
                writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                             % len(body) + body)
            else:
                body = (b'{"keys": [' if state == "garbage" else
                        json.dumps({"keys": [self.tokens.jwk(i) for i in self.published()]}).encode())
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                             b"Connection: close\r\n\r\n" % len(body) + body)
            await writer.drain()
        except (Cut, ConnectionError, OSError):
            pass
        finally:
            writer.close()


# --------------------------------------------------------------------------------------
# Revocations through the admin API
# --------------------------------------------------------------------------------------

class Revocations:
    def __init__(self, queue=None):
        self.enabled = False
        self.pending = set()
        self.revoked = {}   # jti -> time.time() when the POST returned
        self.started = {}   # jti -> time.monotonic() when its POST was sent
        self.queue = queue  # carries them to the upstream process

    def revoking_since(self, jti, when):
        """True when a revocation of `jti` was sent before `when` (time.monotonic()):
        the gateway may then refuse the token as revoked, whatever was planned."""
        started = self.started.get(jti)
        return started is not None and started <= when

    def receive(self):
        """In the upstream process: takes in the revocations made so far."""
        while self.queue is not None:
            try:
                jti, when = self.queue.get_nowait()
            except queue_module.Empty:
                return
            self.revoked[jti] = when

    async def run(self, gateway, tokens, deadline):
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            sub = random.choice(tokens.subjects)
            tok = tokens.get("valid_ab", sub)
            jti = token_claims(tok)[1]["jti"]
            if jti in self.revoked or jti in self.pending:
                continue
            self.pending.add(jti)
            self.started[jti] = time.monotonic()
            body = json.dumps({"jti": jti}).encode()
            try:
                reader, writer = await asyncio.open_connection(HOST, gateway.admin_port)
                writer.write(b"POST /revocations HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer %s\r\n"
                             b"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                             % (ADMIN_TOKEN.encode(), len(body)) + body)
                await writer.drain()
                status_line, _ = await asyncio.wait_for(read_head(reader), timeout=10)
                writer.close()
            except (Cut, OSError, asyncio.TimeoutError) as e:
                STATS.note("unexplained", "POST /revocations failed: %r" % e)
                continue
            if " 201 " in status_line + " ":
                self.revoked[jti] = time.time()
                self.queue.put((jti, self.revoked[jti]))
                self.pending.discard(jti)
                STATS.add("revocations_added")
            else:
                STATS.note("unexplained", "POST /revocations answered %s" % status_line)


# --------------------------------------------------------------------------------------
# The gateway process
# --------------------------------------------------------------------------------------

class Gateway:
    def __init__(self, binary, directory):
        self.binary = os.path.abspath(binary)
        self.dir = directory
        self.config_path = os.path.join(directory, "jwtgate.yaml")
        self.stderr_path = os.path.join(directory, "stderr.log")
        self.access_log_path = os.path.join(directory, "access.log")
        self.rotations = 0
        self.proc = None
        self.port = self.admin_port = None

    def write_config(self, cfg):
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(to_yaml(cfg))
        os.replace(tmp, self.config_path)

    def check(self, cfg, env):
        path = os.path.join(self.dir, "probe.yaml")
        with open(path, "w") as f:
            f.write(to_yaml(cfg))
        r = subprocess.run([self.binary, "check", "-c", path], capture_output=True, text=True,
                           timeout=60, env=env)
        return r.returncode == 0, (r.stdout + r.stderr).strip()

    def start(self, env):
        self.stderr_file = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([self.binary, "serve", "-c", self.config_path], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.stderr_file, env=env, cwd=self.dir)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ports = [int(line.rsplit(":", 1)[1]) for line in self.log_lines() if "listening on" in line]
            if len(ports) >= 2:
                self.port, self.admin_port = ports[0], ports[1]
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise SystemExit("soak: the gateway did not start:\n" + self.log_text()[-3000:])

    def rotate_access_log(self):
        """What logrotate does: rename the file, then SIGUSR1 (SPEC section 11)."""
        self.rotations += 1
        try:
            os.rename(self.access_log_path, "%s.%d" % (self.access_log_path, self.rotations))
        except FileNotFoundError:
            pass
        self.proc.send_signal(signal.SIGUSR1)

    def access_log(self, wanted):
        """{request id: (status, auth, route, subject)} for the ids in `wanted`,
        from the access log and its rotated files; and the number of lines."""
        found, lines = {}, 0
        paths = ["%s.%d" % (self.access_log_path, i) for i in range(1, self.rotations + 1)]
        for path in paths + [self.access_log_path]:
            try:
                f = open(path, "rb")
            except FileNotFoundError:
                continue
            with f:
                for line in f:
                    lines += 1
                    # Cheap pre-filter: most lines are not wanted.
                    i = line.find(b'"request_id":"')
                    if i < 0:
                        continue
                    j = line.find(b'"', i + 14)
                    rid = line[i + 14:j].decode("latin-1")
                    if rid not in wanted:
                        continue
                    try:
                        e = json.loads(line)
                    except ValueError:
                        continue
                    found[rid] = (str(e.get("status")), e.get("auth"), e.get("route"), e.get("subject"))
        return found, lines

    def log_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_lines(self):
        return [line.strip() for line in self.log_text().splitlines()]

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def rss(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0


# --------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------

class Load:
    """All client behaviours; `expected` is the set of outcomes a request may have."""

    ROUTES = ["public", "api", "api", "api", "scoped", "dyn", "jwks", "big"]

    def __init__(self, gateway, tokens, jwks, revocations):
        self.gw = gateway
        self.tokens = tokens
        self.jwks = jwks
        self.rev = revocations
        self.rid = 0
        self.stop_at = 0.0
        self.open_conns = 0
        self.peak_conns = 0
        # rid -> (status, auth field) the access log must show: every 401/403 and
        # one in 16 of the other complete responses.
        self.logcheck = {}

    def running(self):
        return time.monotonic() < self.stop_at

    # -- one request ----------------------------------------------------------------

    def plan(self, route=None):
        """(target, header lines, expected outcome set, expected uid, rid, route, what, meta).

        `meta["reasons"]` is the set of reason codes (SPEC section 5) a 401 or 403
        of this request may carry; `meta["jti"]` the token's jti, for a
        revocation sent while the request was in flight."""
        self.rid += 1
        rid = "r%d" % self.rid
        route = route or random.choice(self.ROUTES)
        sub = random.choice(self.tokens.subjects)
        fault = random.choice(FAULTS) if route != "big" else "none"
        token = None
        uid = None
        reasons = set()
        if route in ("public", "big"):
            kind = random.choice(["missing", "missing", "valid_ab", "forged"])
            auth_ok = {"ok"}
        elif route == "jwks":
            kind = random.choice(["jwks_valid"] * 4 + ["jwks_forged", "missing"])
            if kind == "missing":
                auth_ok = {"401"}
                reasons = {"missing_token"}
            else:
                pub = self.jwks.published()
                idx = random.choice(pub + [(pub[0] - 2) % N_RSA])
                token = self.tokens.get(kind, sub, idx)
                # A kid the gateway has not fetched yet, or no longer has: unknown_kid.
                # A forged token whose kid it has: bad_signature.
                if kind == "jwks_valid":
                    auth_ok = {"ok", "401"}
                    reasons = {"unknown_kid"}
                else:
                    auth_ok = {"401"}
                    reasons = {"unknown_kid", "bad_signature"}
        else:
            kind = random.choice(["valid_ab"] * 5 + ["valid_a", "valid_b", "readonly", "expired", "forged",
                                                    "missing"])
            if kind in ("missing", "expired", "forged"):
                auth_ok = {"401"}
                reasons = {"missing": {"missing_token"}, "expired": {"expired"},
                           "forged": {"bad_signature"}}[kind]
            elif kind in ("valid_a", "valid_b"):
                auth_ok = {"ok", "401"}
                reasons = {"unknown_kid"}  # the key of the other config generation
            elif kind == "readonly" and route == "scoped":
                auth_ok = {"403"}
                reasons = {"insufficient_scope"}
            else:
                auth_ok = {"ok"}
            if route == "dyn":
                auth_ok = auth_ok | {"404"}
        if kind != "missing" and token is None:
            token = self.tokens.get(kind, sub)
        jti = None
        if token is not None and kind == "valid_ab" and route not in ("public", "big"):
            jti = token_claims(token)[1]["jti"]
            if jti in self.rev.revoked:
                auth_ok = {"401"} | ({"404"} if route == "dyn" else set())
                reasons = {"revoked"}
                STATS.add("requests_with_revoked_token")
            elif jti in self.rev.pending:
                auth_ok = auth_ok | {"401"}
                reasons = {"revoked"}
        if route not in ("public", "big") and kind != "missing" and "ok" in auth_ok:
            uid = sub
        expected = set()
        for outcome in auth_ok:
            if outcome != "ok":
                expected.add(outcome)
            elif fault in ("none", "slow"):
                expected.add("200")
            elif fault == "reset":
                expected.add("502")
            elif fault == "timeout":
                expected.add("504")
            elif fault == "cut":
                # Under load the client may also see only the close (see README).
                expected |= {"502", "200-cut", "closed"}
        STATS.add("planned_kind_" + kind)
        if fault != "none" and "ok" in auth_ok:
            STATS.add("faults_injected_upstream_" + fault)
        target = "/%s/%s" % (route, rid) if route != "big" else "/big/%d" % random.choice([1 << 14, 1 << 18])
        # X-Request-Id: the gateway keeps a client's usable id, so its access log
        # line and its own replies can be matched to this request.
        headers = ["Host: soak.test", "X-Soak-Rid: " + rid, "X-Request-Id: " + rid, "X-Soak-Fault: " + fault,
                   "X-Soak-Sent: %.6f" % time.time()]
        if token is not None:
            headers.append("Authorization: Bearer " + token)
        if random.random() < 0.2:  # spoofed identity: the gateway must strip it
            headers.append("X-User-Id: admin")
            headers.append("x-soak-gen: A")
            STATS.add("spoofed_identity_headers")
        meta = {"kind": kind, "jti": jti, "reasons": reasons, "fault": fault, "planned": time.monotonic()}
        return target, headers, expected, uid, rid, route, "%s/%s" % (kind, fault), meta

    @staticmethod
    def reason_of(status, headers, body):
        """The reason code of a 401/403 the gateway made (its JSON body), and the
        WWW-Authenticate error_description, for the report."""
        reason = None
        try:
            doc = json.loads(body)
            if isinstance(doc, dict):
                reason = doc.get("reason") or doc.get("error")
        except ValueError:
            pass
        www = headers.get("www-authenticate", "")
        description = None
        if 'error_description="' in www:
            description = www.split('error_description="', 1)[1].split('"', 1)[0]
        return reason, description

    def judge(self, status_line, headers, body, complete, expected, uid, rid, route, what, start, meta):
        parts = status_line.split(" ", 2)
        status = parts[1] if len(parts) > 1 else "?"
        outcome = status if complete else status + "-cut"
        STATS.add("status_" + outcome)
        arrived = time.monotonic()
        got_id = headers.get("x-request-id")
        if got_id is not None and got_id != rid:
            STATS.note("mismatches", "%s got a response with X-Request-Id %r" % (rid, got_id))
        if complete and int(rid[1:]) % 16 == 0 and outcome in expected:
            self.logcheck[rid] = (status, "none" if route in ("public", "big") else
                                  None if outcome == "404" else "ok")
        if outcome in ("401", "403"):
            reason, description = self.reason_of(status, headers, body)
            STATS.add("reason_%s_%s_%s" % (meta["kind"], outcome, reason))
            self.logcheck[rid] = (status, reason)
            if reason == "revoked" and meta["jti"] is not None and "revoked" not in meta["reasons"] and \
                    self.rev.revoking_since(meta["jti"], arrived):
                # Planned before its revocation was sent; the gateway enforced the
                # revocation before it came to this request: right, and counted.
                STATS.note("revoked_in_flight", "%s %s (%s): planned %.3f s before the response, its revocation "
                           "sent %.3f s before it" % (route, rid, what, arrived - meta["planned"],
                                                      arrived - self.rev.started[meta["jti"]]))
                return
            if outcome in expected and reason not in meta["reasons"]:
                STATS.note("unexplained", "%s %s (%s) got %s with reason %r (%r), expected a reason in %s"
                           % (route, rid, what, outcome, reason, description, sorted(meta["reasons"])), rid)
                return
            if outcome not in expected:
                STATS.note("unexplained", "%s %s (%s) got %s with reason %r (%r), expected %s"
                           % (route, rid, what, outcome, reason, description, sorted(expected)), rid)
                return
        if outcome == "504" and outcome not in expected and lagged_since(start):
            STATS.add("driver_lag_excused")
            return
        if outcome not in expected and ALLOW_CUT_BODIES and not complete and status + "" in expected:
            # Open finding: under load a few complete-looking responses lose the end
            # of their body to a connection reset (see README). Counted, not failed.
            STATS.note("cut_bodies", "%s %s (%s) got %s, expected %s" % (route, rid, what, outcome, sorted(expected)))
            return
        if outcome not in expected:
            STATS.note("unexplained", "%s %s (%s) got %s, expected %s" % (route, rid, what, outcome, sorted(expected)),
                       rid)
            return
        if outcome == "200" and route != "big":
            try:
                echo = json.loads(body)
            except ValueError:
                STATS.note("mismatches", "%s: unparsable echo %r" % (rid, body[:200]))
                return
            if echo.get("rid") != rid or echo.get("uid") != uid:
                STATS.note("mismatches", "%s for %r got the echo of %s for %r" % (rid, uid, echo.get("rid"),
                                                                                  echo.get("uid")))
            else:
                STATS.add("identity_checked")

    async def exchange(self, reader, writer, batch, version, who="client", since=None):
        """Sends a batch of planned requests at once (pipelined), reads the answers in
        order. Returns False when the connection can no longer be used."""
        data = b"".join(("GET %s HTTP/%s\r\n%s\r\n\r\n" % (p[0], version, "\r\n".join(p[1]))).encode()
                        for p in batch)
        start = since if since is not None else time.monotonic()
        STATS.add("requests_sent", len(batch))
        if len(batch) > 1:
            STATS.add("pipelined_batches")
        try:
            writer.write(data)
            await writer.drain()
        except (ConnectionError, OSError):
            STATS.note("unexplained", "write to the gateway failed")
            return False
        seen = []  # what came before in this batch, for the report
        for i, (target, headers, expected, uid, rid, route, what, meta) in enumerate(batch):
            try:
                status_line, h = await asyncio.wait_for(read_head(reader), timeout=30)
                body, complete = await asyncio.wait_for(
                    read_body(reader, h, version == "1.0" or h.get("connection", "").lower() == "close"),
                    timeout=30)
            except Cut:
                if "closed" in expected or lagged_since(start):
                    STATS.add("status_closed" if "closed" in expected else "driver_lag_excused")
                    STATS.add("requests_dropped_after_a_closing_response", len(batch) - i - 1)
                    return False
                STATS.note("unexplained", "%s %s (%s, %s, HTTP/%s, %d of %d, after %s): connection closed "
                           "without a response" % (route, rid, what, who, version, i + 1, len(batch), seen), rid)
                return False
            except asyncio.TimeoutError:
                STATS.note("unexplained", "%s %s (%s, %s): no response within 30 s" % (route, rid, what, who), rid)
                return False
            self.judge(status_line, h, body, complete, expected, uid, rid, route,
                       "%s, %s, HTTP/%s, %d of %d" % (what, who, version, i + 1, len(batch)), start, meta)
            seen.append("%s %s %s%s" % (route, what, status_line.split(" ")[1:2], "" if complete else " cut"))
            closing = (not complete or h.get("connection", "").lower() == "close" or version == "1.0")
            if closing:
                for rest in batch[i + 1:]:
                    STATS.add("requests_dropped_after_a_closing_response")
                return False
        return True

    async def connect(self):
        reader, writer = await asyncio.open_connection(HOST, self.gw.port, limit=1 << 20)
        self.open_conns += 1
        self.peak_conns = max(self.peak_conns, self.open_conns)
        return reader, writer

    async def connect_or_wait(self, backoff):
        """A connection, or None (counted as unexplained) after `backoff` s."""
        try:
            return await self.connect()
        except OSError:
            STATS.note("unexplained", "connect to the gateway failed")
            await asyncio.sleep(backoff)
            return None

    def closed(self, writer):
        self.open_conns -= 1
        try:
            writer.close()
        except Exception:  # noqa: BLE001
            pass

    # -- behaviours -----------------------------------------------------------------

    async def keepalive_client(self):
        while self.running():
            conn = await self.connect_or_wait(0.2)
            if conn is None:
                continue
            reader, writer = conn
            since = time.monotonic()
            try:
                for _ in range(random.randint(1, 40)):
                    if not self.running():
                        break
                    n = 1 if random.random() < 0.7 else random.randint(2, 6)
                    batch = [self.plan() for _ in range(n)]
                    if not await self.exchange(reader, writer, batch, "1.1", "keep-alive", since):
                        break
                    since = None
            finally:
                self.closed(writer)

    async def http10_client(self):
        while self.running():
            conn = await self.connect_or_wait(0.2)
            if conn is None:
                continue
            reader, writer = conn
            since = time.monotonic()
            try:
                STATS.add("http10_requests")
                await self.exchange(reader, writer, [self.plan()], "1.0", "http/1.0", since)
            finally:
                self.closed(writer)

    async def h2_client(self):
        """HTTP/2 with prior knowledge (h2c) on the plain listener: batches of
        concurrent streams on one connection, each judged like a request."""
        import h2.config
        import h2.connection
        import h2.events
        import h2.exceptions
        while self.running():
            conn = await self.connect_or_wait(0.2)
            if conn is None:
                continue
            reader, writer = conn
            STATS.add("h2_connections")
            conn = h2.connection.H2Connection(config=h2.config.H2Configuration(
                client_side=True, header_encoding="latin-1"))
            conn.initiate_connection()
            since = time.monotonic()
            try:
                writer.write(conn.data_to_send())
                for _ in range(random.randint(1, 20)):
                    if not self.running():
                        break
                    n = random.randint(1, 8)
                    batch = [self.plan() for _ in range(n)]
                    if not await self.h2_exchange(conn, reader, writer, batch, since):
                        break
                    since = None
            except (ConnectionError, OSError, h2.exceptions.ProtocolError) as e:
                STATS.note("unexplained", "HTTP/2 connection failed: %r" % e)
            finally:
                self.closed(writer)

    async def h2_exchange(self, conn, reader, writer, batch, since):
        """Opens one stream per planned request at once, reads every answer.
        False when the connection can no longer be used."""
        import h2.events
        start = since if since is not None else time.monotonic()
        STATS.add("requests_sent", len(batch))
        STATS.add("h2_streams", len(batch))
        streams = {}
        for p in batch:
            target, headers = p[0], p[1]
            sid = conn.get_next_available_stream_id()
            fields = [(":method", "GET"), (":scheme", "http"), (":authority", "soak.test"), (":path", target)]
            for line in headers:
                name, value = line.split(":", 1)
                if name.lower() != "host":
                    fields.append((name.strip().lower(), value.strip()))
            conn.send_headers(sid, fields, end_stream=True)
            streams[sid] = {"plan": p, "status": None, "headers": {}, "body": bytearray(), "done": False,
                            "reset": False}
        writer.write(conn.data_to_send())
        await writer.drain()
        goaway = None
        while not all(st["done"] for st in streams.values()):
            try:
                data = await asyncio.wait_for(reader.read(65536), timeout=30)
            except asyncio.TimeoutError:
                for sid, st in streams.items():
                    if not st["done"]:
                        p = st["plan"]
                        STATS.note("unexplained", "%s %s (%s, h2): no response within 30 s" % (p[5], p[4], p[6]),
                                   p[4])
                return False
            if not data:
                break
            for event in conn.receive_data(data):
                st = streams.get(getattr(event, "stream_id", None))
                if isinstance(event, h2.events.ResponseReceived) and st is not None:
                    for name, value in event.headers:
                        if name == ":status":
                            st["status"] = value
                        else:
                            st["headers"][name] = value
                elif isinstance(event, h2.events.DataReceived) and st is not None:
                    st["body"] += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded) and st is not None:
                    st["done"] = True
                elif isinstance(event, h2.events.StreamReset) and st is not None:
                    st["done"] = st["reset"] = True
                elif isinstance(event, h2.events.ConnectionTerminated):
                    goaway = event
            out = conn.data_to_send()
            if out:
                writer.write(out)
            if goaway is not None:
                break
        order = 0
        for sid, st in sorted(streams.items()):
            order += 1
            target, headers, expected, uid, rid, route, what, meta = st["plan"]
            label = "%s, h2 stream %d of %d" % (what, order, len(streams))
            if st["status"] is None:
                # Reset or cut before any response head: only the close explains it.
                if "closed" in expected or lagged_since(start):
                    STATS.add("status_closed" if "closed" in expected else "driver_lag_excused")
                    continue
                STATS.note("unexplained", "%s %s (%s): stream ended without a response (%s)"
                           % (route, rid, label, "reset" if st["reset"] else
                              "goaway %r" % (goaway,) if goaway is not None else "connection closed"), rid)
                continue
            complete = st["done"] and not st["reset"]
            self.judge("HTTP/2 %s" % st["status"], st["headers"], bytes(st["body"]), complete, expected, uid,
                       rid, route, label, start, meta)
        return goaway is None and all(st["done"] for st in streams.values())

    async def abort_client(self):
        """Aborts mid-request (head or body) or mid-response."""
        while self.running():
            await asyncio.sleep(random.uniform(0.0, 0.05))
            conn = await self.connect_or_wait(0)
            if conn is None:
                continue
            reader, writer = conn
            try:
                what = random.choice(["head", "body", "response"])
                if what == "response":
                    target, headers = self.plan(route="big")[:2]
                    writer.write(("GET /big/%d HTTP/1.1\r\n%s\r\n\r\n" % (1 << 20, "\r\n".join(headers))).encode())
                    await writer.drain()
                    await asyncio.wait_for(read_head(reader), timeout=30)
                    await reader.read(random.randint(1, 60000))
                    STATS.add("client_aborts_mid_response")
                else:
                    target, headers = self.plan()[:2]
                    head = ("POST %s HTTP/1.1\r\n%s\r\nContent-Length: 100000\r\n\r\n"
                            % (target, "\r\n".join(headers))).encode()
                    if what == "head":
                        writer.write(head[:random.randint(1, len(head) - 1)])
                        STATS.add("client_aborts_mid_head")
                    else:
                        writer.write(head + b"y" * random.randint(0, 50000))
                        STATS.add("client_aborts_mid_body")
                    await writer.drain()
                    await asyncio.sleep(random.uniform(0, 0.2))
                if random.random() < 0.5:
                    rst_close(writer)
            except (Cut, ConnectionError, OSError, asyncio.TimeoutError):
                pass
            finally:
                self.closed(writer)

    async def slowloris_client(self):
        """One header byte a second: the gateway must cut it by header_timeout."""
        while self.running():
            conn = await self.connect_or_wait(0.5)
            if conn is None:
                continue
            reader, writer = conn
            started = time.monotonic()
            STATS.add("slowloris_connections")
            text = b"GET /api/slow HTTP/1.1\r\nHost: soak.test\r\nX-Padding: " + b"z" * 200
            cut = False
            try:
                for byte in text:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    try:
                        data = await asyncio.wait_for(reader.read(4096), timeout=1.0)
                        cut = True  # EOF, or the 408 the gateway answers before closing
                        STATS.add("slowloris_answered_408" if data.startswith(b"HTTP/1.1 408") else
                                  "slowloris_closed")
                        break
                    except asyncio.TimeoutError:
                        pass
                    if time.monotonic() - started > HEADER_TIMEOUT * 4 + 5:
                        break
            except (ConnectionError, OSError):
                cut = True
            finally:
                self.closed(writer)
            took = time.monotonic() - started
            if cut and took < HEADER_TIMEOUT * 4 + 5:
                STATS.add("slowloris_cut_in_time")
            elif lagged_since(started):
                STATS.add("driver_lag_excused")
            elif self.running():
                STATS.note("unexplained", "slowloris connection still open after %.1f s" % took)

    async def idle_holder(self, spread):
        """Holds a keep-alive connection open, now and then one request on it."""
        await asyncio.sleep(random.uniform(0, spread))
        while self.running():
            conn = await self.connect_or_wait(1.0)
            if conn is None:
                continue
            reader, writer = conn
            try:
                # A first request at once (a connection that sends nothing is cut at
                # header_timeout), then idle stretches within idle_timeout (30 s).
                since = time.monotonic()
                while self.running():
                    if not await self.exchange(reader, writer, [self.plan(route="api")], "1.1", "idle holder",
                                               since):
                        break
                    since = time.monotonic()
                    await asyncio.sleep(random.uniform(5.0, 20.0))
            finally:
                self.closed(writer)

    async def scrape_metrics(self):
        while self.running():
            await asyncio.sleep(1.0)
            try:
                reader, writer = await asyncio.open_connection(HOST, self.gw.admin_port)
                writer.write(b"GET /metrics HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n")
                await writer.drain()
                status_line, h = await asyncio.wait_for(read_head(reader), timeout=10)
                await read_body(reader, h, True)
                writer.close()
                STATS.add("metrics_scrapes" if " 200 " in status_line else "metrics_scrape_failures")
            except (Cut, OSError, asyncio.TimeoutError):
                STATS.add("metrics_scrape_failures")

    async def phase(self, seconds, connections, workers):
        """Runs every behaviour at once for `seconds`."""
        self.stop_at = time.monotonic() + seconds
        tasks = []
        idle = max(0, connections - workers - 60)
        h2_workers = int(workers * 0.15) if HTTP2["on"] else 0
        tasks += [self.keepalive_client() for _ in range(int(workers * 0.7) - h2_workers)]
        tasks += [self.h2_client() for _ in range(h2_workers)]
        tasks += [self.http10_client() for _ in range(int(workers * 0.1))]
        tasks += [self.abort_client() for _ in range(int(workers * 0.2))]
        tasks += [self.slowloris_client() for _ in range(40)]
        tasks += [self.idle_holder(min(5.0, seconds / 4)) for _ in range(idle)]
        tasks.append(self.scrape_metrics())
        await asyncio.gather(*tasks)


async def sighup_loop(gw, configs, deadline):
    gen = 0
    while time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        gen ^= 1
        gw.write_config(configs[gen])
        gw.proc.send_signal(signal.SIGHUP)
        STATS.add("sighups_sent")
    gw.write_config(configs[0])


async def rotate_loop(gw, deadline):
    """Rotates the access log every 10 s, as logrotate would."""
    while time.monotonic() + 10 < deadline:
        await asyncio.sleep(10.0)
        gw.rotate_access_log()
        STATS.add("access_log_rotations")


async def quiesce(gw, upstream, seconds=4.0):
    """Nothing in flight: the upstream drops its idle connections, the gateway's
    pool notices; returns (fds, rss)."""
    await asyncio.sleep(1.0)
    await upstream.call("close_idle")
    await asyncio.sleep(seconds)
    return gw.fds(), gw.rss()


# --------------------------------------------------------------------------------------
# The upstream and the JWKS server run in a process of their own: a client side
# starved of CPU must not make the upstream late (that would be a 504 no fault
# explains).
# --------------------------------------------------------------------------------------

def upstream_process(pipe, tokens, jwks, revocation_queue):
    asyncio.run(upstream_main(pipe, tokens, jwks, revocation_queue))


async def upstream_main(pipe, tokens, jwks, revocation_queue):
    upstream = Upstream(Revocations(revocation_queue))
    await upstream.start()
    await jwks.start()
    pipe.send((upstream.port, jwks.port))
    loop = asyncio.get_running_loop()
    flapping = None
    while True:
        cmd = await loop.run_in_executor(None, pipe.recv)
        if cmd[0] == "flap":
            flapping = asyncio.ensure_future(jwks.flap(time.monotonic() + cmd[1]))
            pipe.send("ok")
        elif cmd[0] == "close_idle":
            upstream.close_idle()
            pipe.send("ok")
        elif cmd[0] == "stop":
            if flapping is not None:
                flapping.cancel()
            pipe.send((dict(STATS.c), STATS.violations, STATS.mismatches, STATS.unexplained))
            return


class UpstreamProcess:
    def __init__(self, tokens, jwks, revocation_queue):
        ctx = multiprocessing.get_context("fork")
        self.pipe, child = ctx.Pipe()
        self.proc = ctx.Process(target=upstream_process, args=(child, tokens, jwks, revocation_queue),
                                daemon=True)
        self.proc.start()
        self.port, self.jwks_port = self.pipe.recv()

    async def call(self, *cmd):
        self.pipe.send(cmd)
        return await asyncio.get_running_loop().run_in_executor(None, self.pipe.recv)

    async def stop(self):
        counts, violations, mismatches, unexplained = await self.call("stop")
        self.proc.join(timeout=10)
        for key, n in counts.items():
            STATS.c[key] += n
        STATS.violations += violations
        STATS.mismatches += mismatches
        STATS.unexplained += unexplained


async def drain_check(gw, load):
    """SIGTERM with slow requests in flight: they finish, then exit 0."""
    load.stop_at = time.monotonic() + 60
    conns = []
    for _ in range(10):
        reader, writer = await load.connect()
        target, headers = load.plan(route="public")[:2]
        headers = [x for x in headers if not x.startswith("X-Soak-Fault")] + ["X-Soak-Fault: slow"]
        writer.write(("GET %s HTTP/1.1\r\n%s\r\n\r\n" % (target, "\r\n".join(headers))).encode())
        await writer.drain()
        conns.append((reader, writer))
    await asyncio.sleep(0.1)
    gw.proc.send_signal(signal.SIGTERM)
    finished = 0
    for reader, writer in conns:
        try:
            status_line, h = await asyncio.wait_for(read_head(reader), timeout=15)
            await read_body(reader, h, False)
            if " 200 " in status_line:
                finished += 1
        except (Cut, asyncio.TimeoutError):
            pass
        load.closed(writer)
    code = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        code = gw.proc.poll()
        if code is not None:
            break
        await asyncio.sleep(0.1)
    return finished, len(conns), code


def raise_fd_limit(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * args.connections + 2000  # clients here, their sockets in the gateway
    if hard < need:
        try:  # root may raise the hard limit too
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
            hard = need
        except (ValueError, OSError):
            pass
    want = min(hard, max(soft, need))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < 2 * args.connections + 1000:
        args.connections = max(100, (want - 1000) // 2)
        print("soak: fd limit %d: %d connections" % (want, args.connections))


async def main_async(args, tokens, jwks, revocations, upstream):
    asyncio.ensure_future(watch_lag())

    directory = tempfile.mkdtemp(prefix="jwtgate-soak-")
    gw = Gateway(args.binary, directory)
    try:
        secret_paths = tokens.write_secrets(directory)
        env = dict(os.environ, JWTGATE_SOAK_ADMIN_TOKEN=ADMIN_TOKEN)

        probe = make_config("A", secret_paths, upstream.port, upstream.jwks_port, revocation=True,
                            access_log=gw.access_log_path)
        revocations.enabled, why = gw.check(probe, env)
        if not revocations.enabled:
            lines = [x for x in why.splitlines() if "revocation" in x] or why.splitlines() or ["?"]
            print("soak: revocation SKIPPED: this build's `jwtgate check` refuses a `revocation:` "
                  "block (%s)" % lines[0])
        if args.http2 != "off":
            probe = make_config("A", secret_paths, upstream.port, upstream.jwks_port, revocations.enabled,
                                access_log=gw.access_log_path, http2=True)
            supported, why = gw.check(probe, env)
            try:
                import h2  # noqa: F401 - Debian python3-h2
            except ImportError:
                supported, why = False, "python3-h2 is not installed"
            reason = ([x for x in why.splitlines() if "http2" in x] or why.splitlines() or ["?"])[0]
            if args.http2 == "on" and not supported:
                raise SystemExit("soak: --http2 on, but: " + reason)
            HTTP2["on"] = supported
            if not supported:
                print("soak: HTTP/2 SKIPPED: this build's `jwtgate check` refuses `listen.http2` or "
                      "python3-h2 is missing (%s)" % reason)
        configs = [make_config(g, secret_paths, upstream.port, upstream.jwks_port, revocations.enabled,
                               access_log=gw.access_log_path, http2=HTTP2["on"]) for g in "AB"]
        for cfg in configs:
            ok, why = gw.check(cfg, env)
            if not ok:
                raise SystemExit("soak: a soak config does not pass jwtgate check:\n" + why)
        gw.write_config(configs[0])
        gw.start(env)
        print("soak: gateway pid %d on %d (admin %d), upstream %d, jwks %d; %d s, %d connections, "
              "%d subjects" % (gw.proc.pid, gw.port, gw.admin_port, upstream.port, upstream.jwks_port,
                               args.seconds, args.connections, args.subjects))
        start_fds, start_rss = gw.fds(), gw.rss()

        load = Load(gw, tokens, jwks, revocations)
        warm = max(5.0, min(30.0, args.seconds * 0.15))
        main = max(5.0, args.seconds - warm)
        total_deadline = time.monotonic() + warm + main
        await upstream.call("flap", warm + main)
        background = [asyncio.ensure_future(sighup_loop(gw, configs, total_deadline)),
                      asyncio.ensure_future(rotate_loop(gw, total_deadline))]
        if revocations.enabled:
            background.append(asyncio.ensure_future(revocations.run(gw, tokens, total_deadline)))

        await load.phase(warm, args.connections, args.workers)
        base_fds, base_rss = await quiesce(gw, upstream)
        print("soak: warm-up %.0f s done: %d requests; baseline fds %d, RSS %.1f MiB (at start %d, %.1f MiB)"
              % (warm, STATS.c["requests_sent"], base_fds, base_rss / 2**20, start_fds, start_rss / 2**20))
        await load.phase(main, args.connections, args.workers)
        for t in background:
            await t
        await asyncio.sleep(1.5)  # the last reload lands
        end_fds, end_rss = await quiesce(gw, upstream)
        # After a leak-free run the numbers settle back: give the pool a little more time.
        for _ in range(10):
            if end_fds <= base_fds + THREADS * MAX_IDLE + 8:
                break
            await asyncio.sleep(1.0)
            end_fds, end_rss = gw.fds(), gw.rss()
        alive = gw.proc.poll() is None
        finished, in_flight, code = await drain_check(gw, load) if alive else (0, 0, gw.proc.poll())
        await upstream.stop()
        # The gateway has exited: its access log is complete.
        access, access_lines = gw.access_log(set(load.logcheck) | set(STATS.unexplained_rids))
        log = gw.log_text()
        reloads = log.count("configuration reloaded")
        reload_failures = log.count("reload of")
        return report(args, gw, revocations, load, base_fds, base_rss, end_fds, end_rss, alive,
                      finished, in_flight, code, reloads, reload_failures, log, access, access_lines)
    finally:
        if gw.proc is not None and gw.proc.poll() is None:
            gw.proc.kill()
            gw.proc.wait(timeout=10)
        if args.keep:
            print("soak: kept", directory)
        else:
            shutil.rmtree(directory, ignore_errors=True)


def report(args, gw, revocations, load, base_fds, base_rss, end_fds, end_rss, alive, finished,
           in_flight, code, reloads, reload_failures, log, access, access_lines):
    c = STATS.c
    disagree = []
    for rid, (status, auth) in load.logcheck.items():
        line = access.get(rid)
        if line is None or line[0] != status or (auth is not None and line[1] != auth):
            disagree.append("%s: the client got %s (auth %s), the access log has %r" % (rid, status, auth, line))
    print("\nsoak: counts")
    for key in sorted(c):
        print("  %-48s %d" % (key, c[key]))
    faults = sum(v for k, v in c.items() if k.startswith("faults_injected_upstream_")) + \
        c["client_aborts_mid_head"] + c["client_aborts_mid_body"] + c["client_aborts_mid_response"] + \
        c["slowloris_connections"] + c["jwks_flaps"]
    print("  %-48s %d" % ("peak client connections", load.peak_conns))
    print("  %-48s %d" % ("faults injected (all kinds)", faults))
    print("  %-48s %d of %d SIGHUPs" % ("reloads applied", reloads, c["sighups_sent"]))
    print("  %-48s %d" % ("access log lines", access_lines))
    print("  %-48s %s" % ("HTTP/2 clients", "on (%d connections, %d streams)" % (c["h2_connections"], c["h2_streams"])
                          if HTTP2["on"] else "off"))
    fd_slack = THREADS * MAX_IDLE + 8
    rss_limit = base_rss * 1.25 + 16 * 2**20
    checks = [
        ("gateway alive through the run", alive, ""),
        ("no unauthorized request reached the upstream", not STATS.violations,
         "%d violations" % c["violations_total"]),
        ("every response carried its own identity", not STATS.mismatches,
         "%d checked, %d mismatches" % (c["identity_checked"], c["mismatches_total"])),
        ("every status explained by its fault", not STATS.unexplained,
         "%d unexplained" % c["unexplained_total"]),
        ("access log agrees with the responses", not disagree,
         "%d of %d sampled responses (every 401/403, 1 in 16 others) disagree or are missing, "
         "over %d rotations" % (len(disagree), len(load.logcheck), gw.rotations)),
        ("every SIGHUP reloaded", reloads >= c["sighups_sent"] * 0.9 and reload_failures == 0,
         "%d reloads, %d failed" % (reloads, reload_failures)),
        ("open fds back to baseline", end_fds <= base_fds + fd_slack,
         "%d after, %d baseline (+%d allowed)" % (end_fds, base_fds, fd_slack)),
        ("RSS back to baseline", end_rss <= rss_limit,
         "%.1f MiB after, %.1f MiB baseline (limit %.1f)" % (end_rss / 2**20, base_rss / 2**20, rss_limit / 2**20)),
        ("slowloris clients cut by header_timeout", c["slowloris_cut_in_time"] > 0,
         "%d cut" % c["slowloris_cut_in_time"]),
        ("SIGTERM drains in-flight requests", finished == in_flight, "%d of %d finished" % (finished, in_flight)),
        ("SIGTERM exits 0", code == 0, "exit %r" % code),
        ("driver kept up (few outcomes excused by its own stalls)",
         c["driver_lag_excused"] <= 0.1 * max(1, c["requests_sent"]),
         "%d excused of %d requests, longest stall %.1f s" % (c["driver_lag_excused"], c["requests_sent"],
                                                             LAG["max"])),
    ]
    if HTTP2["on"]:
        checks.append(("HTTP/2 streams judged like requests", c["h2_streams"] > 0 and c["h2_connections"] > 0,
                       "%d streams on %d h2c connections" % (c["h2_streams"], c["h2_connections"])))
    if revocations.enabled:
        checks.append(("revocations added and enforced", c["revocations_added"] > 0,
                       "%d added, %d requests with a revoked token, %d more revoked while in flight"
                       % (c["revocations_added"], c["requests_with_revoked_token"], c["revoked_in_flight_total"])))
    else:
        print("  revocation: SKIPPED (no `revocation:` support in this build)")
    print("\nsoak: checks")
    failed = 0
    for name, ok, detail in checks:
        print("  %-4s %-46s %s" % ("ok" if ok else "FAIL", name, detail))
        failed += 0 if ok else 1
    if c["cut_bodies_total"]:
        print("  OPEN: %d responses with a body cut short that no fault explains (--allow-cut-bodies)"
              % c["cut_bodies_total"])
    for line in STATS.revoked_in_flight[:10]:
        print("  explained, revoked in flight: %s" % line)
    for bucket in ("violations", "mismatches", "unexplained", "cut_bodies"):
        for line in getattr(STATS, bucket)[:30]:
            print("  %s: %s" % (bucket, line))
    for rid in STATS.unexplained_rids:
        line = access.get(rid)
        print("  access log for unexplained %s: %s" % (rid, "status %s, auth %s, route %s, subject %s" % line
                                                      if line else "no line"))
    for line in disagree[:30]:
        print("  access log: %s" % line)
    if failed:
        print("\ngateway log (tail):\n" + log[-4000:])
    print("\nsoak: %d passed, %d failed" % (len(checks) - failed, failed))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.environ.get("JWTGATE_BINARY", "build/jwtgate"))
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=200, help="busy clients among the connections")
    ap.add_argument("--subjects", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (config, gateway log)")
    ap.add_argument("--http2", choices=["auto", "on", "off"], default="auto",
                    help="HTTP/2 (h2c, prior knowledge) clients among the busy ones; auto: when this "
                         "build's `jwtgate check` accepts listen.http2 and python3-h2 is installed")
    ap.add_argument("--allow-cut-bodies", action="store_true",
                    help="count, without failing, responses whose expected status came with a body "
                         "cut short by a reset when no fault explains it (an open finding)")
    args = ap.parse_args()
    global ALLOW_CUT_BODIES
    ALLOW_CUT_BODIES = args.allow_cut_bodies
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    random.seed(seed)
    print("soak: seed %d" % seed)
    raise_fd_limit(args)
    tokens = Tokens(args.subjects)
    jwks = JwksServer(tokens)  # its clock is shared: the client side knows what it publishes
    revocation_queue = multiprocessing.get_context("fork").Queue()
    upstream = UpstreamProcess(tokens, jwks, revocation_queue)
    try:
        code = asyncio.run(main_async(args, tokens, jwks, Revocations(revocation_queue), upstream))
    finally:
        if upstream.proc.is_alive():
            upstream.proc.terminate()
            upstream.proc.join(timeout=10)
    sys.exit(code)


if __name__ == "__main__":
    main()

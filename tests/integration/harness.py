"""Black-box harness for the jwtgate integration tests.

Everything here talks to the real `jwtgate serve` process over 127.0.0.1:
  * Gateway       writes a YAML config (SPEC section 2), starts the binary, finds
                  the real ports from its `listening on ADDRESS:PORT` log lines,
                  captures stdout (access log) and stderr, stops only its own process.
  * *Upstream     test backends running in-process on ephemeral ports: echo (keep-alive,
                  reports what it received), slow, streaming, broken, WebSocket echo, TLS.
  * TestKeys      HS256 / RS256 / ES256 keys and PyJWT token minting.
  * HttpConn      a raw-socket HTTP/1.1 client for byte-exact requests.

Every wait is bounded; nothing here can hang a test run.
"""

import base64
import datetime
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
import ipaddress

LOCALHOST = "127.0.0.1"
ISSUER = "https://id.test.jwtgate"
AUDIENCE = "orders-api"
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


# The sanitizer the binary under test was built with ("address", "thread"), or
# "" (the sanitizer builds' ctest sets JWTGATE_SANITIZER). Tests that cannot hold
# there (memory bounds, the deploy package check) skip themselves.
SANITIZER = os.environ.get("JWTGATE_SANITIZER", "")
# Sanitized binaries start and answer several times slower: start waits scale.
TIME_SCALE = {"": 1, "address": 3, "thread": 6}.get(SANITIZER, 3)
# server.threads of the gateways the tests start unless a test sets its own.
DEFAULT_THREADS = int(os.environ.get("JWTGATE_TEST_THREADS", "2"))
_SANITIZER_REPORT = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|runtime error: "
    r"|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer)")


def skip_under_sanitizer(reason, only=None):
    """Decorator: skips a test (or class) when the binary is sanitized (`only`:
    just under that sanitizer)."""
    active = bool(SANITIZER) and (only is None or SANITIZER == only)
    return unittest.skipIf(active, "under %s sanitizer: %s" % (SANITIZER, reason))


def sanitizer_report(text):
    """The sanitizer report in a process's stderr, from its first line; "" if none."""
    m = _SANITIZER_REPORT.search(text)
    if not m:
        return ""
    start = text.rfind("\n", 0, m.start()) + 1
    return text[start:start + 12000]


def gateway_binary():
    """The jwtgate executable under test (ctest passes JWTGATE_BINARY)."""
    path = os.environ.get("JWTGATE_BINARY")
    if not path:
        for candidate in ("build/jwtgate", "build-itest/jwtgate"):
            full = os.path.join(REPO_ROOT, candidate)
            if os.path.exists(full):
                path = full
                break
    if not path or not os.access(path, os.X_OK):
        raise unittest.SkipTest("JWTGATE_BINARY not set or not executable: %r" % path)
    return path


# --------------------------------------------------------------------------------------
# YAML
# --------------------------------------------------------------------------------------

def _yaml_scalar(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    # JSON double-quoted strings are valid YAML double-quoted scalars.
    return json.dumps(str(value))


def _yaml_lines(value, indent):
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict) and item:
                lines.append("%s%s:" % (pad, key))
                lines.extend(_yaml_lines(item, indent + 2))
            elif isinstance(item, list) and item and any(isinstance(x, (dict, list)) for x in item):
                lines.append("%s%s:" % (pad, key))
                lines.extend(_yaml_lines(item, indent + 2))
            elif isinstance(item, list):
                lines.append("%s%s: [%s]" % (pad, key, ", ".join(_yaml_scalar(x) for x in item)))
            elif isinstance(item, dict):
                lines.append("%s%s: {}" % (pad, key))
            else:
                lines.append("%s%s: %s" % (pad, key, _yaml_scalar(item)))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                sub = _yaml_lines(item, indent + 2)
                first = sub[0][indent + 2:]
                lines.append("%s- %s" % (pad, first))
                lines.extend(sub[1:])
            else:
                lines.append("%s- %s" % (pad, _yaml_scalar(item)))
    else:
        lines.append(pad + _yaml_scalar(value))
    return lines


def to_yaml(config):
    """Block-style YAML for a config dict (keys keep their insertion order)."""
    return "\n".join(_yaml_lines(config, 0)) + "\n"


# --------------------------------------------------------------------------------------
# Keys and tokens
# --------------------------------------------------------------------------------------

class TestKeys:
    """One set of signing keys per test process, written to a private temp dir."""

    _instance = None

    @classmethod
    def get(cls):
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="jwtgate-keys-")
        # ASCII secret: secret_file trims a trailing newline, random bytes could end in one.
        self.hs_secret = secrets.token_hex(24).encode()  # 48 bytes >= 32 for HS256
        self.hs_file = self._write("hs256.secret", self.hs_secret)
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rsa_public_pem = self.rsa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.rsa_public_file = self._write("rs256.pub.pem", self.rsa_public_pem)
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        self.ec_public_file = self._write("es256.pub.pem", self.ec_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        # A second HS key nobody configures: tokens signed with it have a bad signature.
        self.other_secret = secrets.token_hex(24).encode()

    def _write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def key_sources(self):
        return [
            {"kid": "hs1", "alg": "HS256", "secret_file": self.hs_file},
            {"kid": "rs1", "alg": "RS256", "public_key_file": self.rsa_public_file},
            {"kid": "ec1", "alg": "ES256", "public_key_file": self.ec_public_file},
        ]

    def mint(self, alg="HS256", kid="default", ttl=300, issuer=ISSUER, audience=AUDIENCE,
             headers=None, now=None, **claims):
        """A signed token; `kid="default"` picks the configured kid of the alg."""
        now = int(time.time()) if now is None else now
        payload = {"iat": now}
        if ttl is not None:
            payload["exp"] = now + ttl
        if issuer is not None:
            payload["iss"] = issuer
        if audience is not None:
            payload["aud"] = audience
        payload.update(claims)
        key = {"HS256": self.hs_secret, "RS256": self.rsa_key, "ES256": self.ec_key}[alg]
        if kid == "default":
            kid = {"HS256": "hs1", "RS256": "rs1", "ES256": "ec1"}[alg]
        hdr = dict(headers or {})
        if kid is not None:
            hdr["kid"] = kid
        return jwt.encode(payload, key, algorithm=alg, headers=hdr)

    def mint_with_secret(self, secret, kid="hs1", **claims):
        now = int(time.time())
        payload = {"iat": now, "exp": now + 300, "iss": ISSUER, "aud": AUDIENCE}
        payload.update(claims)
        return jwt.encode(payload, secret, algorithm="HS256", headers={"kid": kid})

    def sign_raw(self, header_json, payload_json, secret=None):
        """HS256 over exact JSON texts (duplicate members, odd types): PyJWT would
        normalize them."""
        signing_input = b64url(header_json.encode()) + "." + b64url(payload_json.encode())
        mac = hmac.new(secret or self.hs_secret, signing_input.encode(), hashlib.sha256)
        return signing_input + "." + b64url(mac.digest())

    @staticmethod
    def unsigned(**claims):
        """An `alg: none` token (empty signature)."""
        now = int(time.time())
        payload = {"iat": now, "exp": now + 300, "iss": ISSUER, "aud": AUDIENCE}
        payload.update(claims)
        return jwt.encode(payload, None, algorithm="none")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def provider_config(keys, **overrides):
    """The provider most tests use: HS256/RS256/ES256 keys and identity headers."""
    provider = {
        "issuer": ISSUER,
        "audiences": [AUDIENCE],
        "algorithms": ["HS256", "RS256", "ES256"],
        "keys": keys.key_sources(),
        "headers": {
            "X-User-Id": "sub",
            "X-User-Roles": "realm_access.roles",
            "X-Tenant": "org.tenant.id",
            "X-User-Level": "level",
        },
        "payload_header": "X-Jwt-Payload",
    }
    provider.update(overrides)
    return provider


def gateway_config(upstreams, routes, providers=None, server=None, admin=True,
                   listen_tls=None, forward_auth=None):
    """A complete config on 127.0.0.1 with ephemeral ports."""
    config = {"listen": {"address": LOCALHOST, "port": 0}}
    if listen_tls:
        config["listen"]["tls"] = listen_tls
    if admin:
        config["admin"] = {"address": LOCALHOST, "port": 0}
    srv = {"threads": DEFAULT_THREADS, "header_timeout": "5s", "idle_timeout": "30s",
           "drain_timeout": "10s", "access_log": "stdout"}
    srv.update(server or {})
    config["server"] = srv
    config["upstreams"] = {
        name: (value if isinstance(value, dict) else {"url": value})
        for name, value in upstreams.items()
    }
    if providers:
        config["providers"] = providers
    if forward_auth:
        config["forward_auth"] = forward_auth
    config["routes"] = routes
    return config


# --------------------------------------------------------------------------------------
# The gateway process
# --------------------------------------------------------------------------------------

_LISTENING = re.compile(r"listening on (\S+):(\d+)")


class Gateway:
    """One `jwtgate serve -c FILE` process with its config in a private temp dir."""

    def __init__(self, config, env=None, start_timeout=10.0):
        self.binary = gateway_binary()
        self.dir = tempfile.mkdtemp(prefix="jwtgate-gw-")
        self.config_path = os.path.join(self.dir, "jwtgate.yaml")
        self.config = config
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.start_timeout = start_timeout * TIME_SCALE
        self.proc = None
        self.port = None
        self.admin_port = None
        self._stdout = []
        self._stderr = []
        self._cond = threading.Condition()
        self._readers = []
        self._stopped_by_us = False
        self.write_config(config)

    # -- config ----------------------------------------------------------------------

    def write_config(self, config_or_text):
        text = config_or_text if isinstance(config_or_text, str) else to_yaml(config_or_text)
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)  # atomic: a reload never reads half a file

    # -- process ---------------------------------------------------------------------

    def start(self):
        expected = 1 + (1 if isinstance(self.config, dict) and self.config.get("admin") else 0)
        self.proc = subprocess.Popen(
            [self.binary, "serve", "-c", self.config_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=self.env, cwd=self.dir)
        for stream, sink in ((self.proc.stdout, self._stdout), (self.proc.stderr, self._stderr)):
            t = threading.Thread(target=self._pump, args=(stream, sink), daemon=True)
            t.start()
            self._readers.append(t)
        deadline = time.monotonic() + self.start_timeout
        with self._cond:
            while True:
                ports = self.listening_ports()
                if len(ports) >= expected:
                    break
                if self.proc.poll() is not None:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, 0.2))
        ports = self.listening_ports()
        if len(ports) < expected:
            code = self.proc.poll()
            self.kill()
            raise AssertionError(
                "gateway not ready within %.0fs (exit=%r, %d/%d listeners)\nconfig:\n%s\nstderr:\n%s"
                % (self.start_timeout, code, len(ports), expected,
                   to_yaml(self.config) if isinstance(self.config, dict) else self.config,
                   self.stderr_text()[-4000:]))
        self.port = ports[0]
        if expected > 1:
            self.admin_port = ports[1]
        return self

    def _pump(self, stream, sink):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._cond:
                sink.append(line)
                self._cond.notify_all()
        stream.close()

    def listening_ports(self):
        ports = []
        with self._cond:
            for line in self._stderr + self._stdout:
                m = _LISTENING.search(line)
                if m:
                    ports.append(int(m.group(2)))
        return ports

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=15.0):
        """SIGTERM, then SIGKILL after `timeout`; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self._stopped_by_us = True
            self.proc.send_signal(signal.SIGTERM)
            if self.wait_exit(timeout) is None:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for t in self._readers:
            t.join(timeout=5)
        return self.proc.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        for t in self._readers:
            t.join(timeout=5)

    def cleanup(self):
        self.stop(timeout=15.0 * TIME_SCALE)
        shutil.rmtree(self.dir, ignore_errors=True)
        report = sanitizer_report(self.stderr_text())
        if report:
            raise AssertionError("%s sanitizer report from the gateway (exit %r):\n%s"
                                 % (SANITIZER or "a", self.proc.returncode, report))

    # -- output ----------------------------------------------------------------------

    def stdout_lines(self):
        with self._cond:
            return list(self._stdout)

    def stderr_text(self):
        with self._cond:
            return "\n".join(self._stderr)

    def output_text(self):
        with self._cond:
            return "\n".join(self._stdout + self._stderr)

    def wait_for_output(self, predicate, timeout=5.0, stream="stderr"):
        """Waits until predicate(lines) is true; returns the lines (or None on timeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                lines = list(self._stderr if stream == "stderr" else self._stdout)
                if predicate(lines):
                    return lines
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(min(remaining, 0.2))

    def access_log(self):
        """Parsed JSON lines of stdout (non-JSON lines skipped)."""
        entries = []
        for line in self.stdout_lines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries

    # -- clients ---------------------------------------------------------------------

    def connect(self, timeout=10.0, tls_context=None, server_hostname=None):
        return HttpConn(LOCALHOST, self.port, timeout=timeout, tls_context=tls_context,
                        server_hostname=server_hostname)

    def request(self, method, target, headers=None, body=None, timeout=10.0, chunked=False,
                sink=None, **connect_kw):
        """One request on a fresh connection, closed afterwards."""
        with self.connect(timeout=timeout, **connect_kw) as conn:
            return conn.request(method, target, headers=headers, body=body, chunked=chunked,
                                sink=sink)

    def get(self, target, headers=None, token=None, **kw):
        headers = list(_header_items(headers))
        if token is not None:
            headers.append(("Authorization", "Bearer " + token))
        return self.request("GET", target, headers=headers, **kw)

    def admin_get(self, target, timeout=10.0):
        with HttpConn(LOCALHOST, self.admin_port, timeout=timeout) as conn:
            return conn.request("GET", target)


def start_gateway(testcase, config, env=None):
    """Starts a gateway and registers its cleanup on a TestCase (instance or class)."""
    gw = Gateway(config, env=env)
    add = testcase.addClassCleanup if isinstance(testcase, type) else testcase.addCleanup
    add(gw.cleanup)
    gw.start()
    return gw


# --------------------------------------------------------------------------------------
# Raw HTTP client
# --------------------------------------------------------------------------------------

def _header_items(headers):
    if headers is None:
        return []
    if isinstance(headers, dict):
        return list(headers.items())
    return list(headers)


class Response:
    def __init__(self, version, status, reason, headers, body):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value), as received
        self.body = body
        self.interim = []       # 1xx responses that preceded this one
        self.body_sha256 = None
        self.body_length = len(body) if body is not None else 0

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<Response %s %s headers=%r body=%r>" % (
            self.status, self.reason, self.headers, (self.body or b"")[:300])


class ConnectionClosed(Exception):
    """The peer closed the connection before a complete response."""


class HttpConn:
    """A byte-exact HTTP/1.1 client on one TCP (or TLS) connection."""

    def __init__(self, host, port, timeout=10.0, tls_context=None, server_hostname=None):
        self.timeout = timeout
        raw = socket.create_connection((host, port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls_context is not None:
            raw = tls_context.wrap_socket(raw, server_hostname=server_hostname or host)
        self.sock = raw
        self.buf = b""
        self.eof = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- low level -------------------------------------------------------------------

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, timeout=None):
        if self.eof:
            return False
        self.sock.settimeout(timeout if timeout is not None else self.timeout)
        try:
            data = self.sock.recv(262144)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        except ssl.SSLError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_until(self, marker, limit=1 << 20):
        while marker not in self.buf:
            if len(self.buf) > limit:
                raise AssertionError("no %r within %d bytes" % (marker, limit))
            if not self._fill():
                raise ConnectionClosed("closed while waiting for %r (got %r)" % (marker, self.buf[:200]))
        idx = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:idx], self.buf[idx:]
        return out

    def read_exact(self, n, sink=None):
        """Reads n bytes; with a sink (e.g. a hash) the bytes are fed to it, not kept."""
        parts = []
        remaining = n
        while remaining > 0:
            if not self.buf and not self._fill():
                raise ConnectionClosed("closed with %d of %d body bytes missing" % (remaining, n))
            take = self.buf[:remaining]
            self.buf = self.buf[len(take):]
            remaining -= len(take)
            if sink is not None:
                sink.update(take)
            else:
                parts.append(take)
        return b"".join(parts)

    def read_to_eof(self, sink=None, limit=1 << 31):
        parts = []
        total = 0
        while True:
            if self.buf:
                chunk, self.buf = self.buf, b""
                total += len(chunk)
                if sink is not None:
                    sink.update(chunk)
                else:
                    parts.append(chunk)
                if total > limit:
                    raise AssertionError("body exceeds %d bytes" % limit)
            if not self._fill():
                break
        return b"".join(parts)

    def wait_closed(self, timeout):
        """True when the peer closes (EOF/reset) within `timeout`; bytes read are kept in buf."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.eof:
                return True
            try:
                if not self._fill(timeout=max(0.01, min(0.5, deadline - time.monotonic()))):
                    return True
            except socket.timeout:
                continue
            except OSError:
                return True
        return self.eof

    # -- responses -------------------------------------------------------------------

    def read_head(self):
        head = self.read_until(b"\r\n\r\n", limit=1 << 20).decode("latin-1")
        lines = head.split("\r\n")
        status_line = lines[0]
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise AssertionError("bad status line %r" % status_line)
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        return Response(version, status, reason, headers, b"")

    def read_response(self, method="GET", sink=None, skip_interim=True):
        interim = []
        while True:
            resp = self.read_head()
            if 100 <= resp.status < 200 and resp.status != 101 and skip_interim:
                interim.append(resp)
                continue
            break
        resp.interim = interim
        if method == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200:
            return resp
        hasher = hashlib.sha256()
        te = (resp.header("Transfer-Encoding") or "").lower()
        cl = resp.header("Content-Length")
        if "chunked" in te:
            body = self._read_chunked(sink=sink or hasher, keep=sink is None)
        elif cl is not None:
            n = int(cl)
            body = self.read_exact(n, sink=sink)
            if sink is None:
                hasher.update(body)
            resp.body_length = n
        else:
            body = self.read_to_eof(sink=sink)
            if sink is None:
                hasher.update(body)
        resp.body = body if sink is None else b""
        if sink is None:
            resp.body_length = len(body)
            resp.body_sha256 = hasher.hexdigest()
        return resp

    def _read_chunked(self, sink, keep):
        parts = []
        total = 0
        while True:
            line = self.read_until(b"\r\n").decode("latin-1").strip()
            size = int(line.split(";", 1)[0], 16)
            if size == 0:
                while self.read_until(b"\r\n") != b"\r\n":  # trailers
                    pass
                break
            if keep:
                data = self.read_exact(size)
                parts.append(data)
                sink.update(data)
            else:
                self.read_exact(size, sink=sink)
            total += size
            if self.read_exact(2) != b"\r\n":
                raise AssertionError("chunk not followed by CRLF")
        self.chunked_total = total
        return b"".join(parts)

    # -- requests --------------------------------------------------------------------

    @staticmethod
    def build_head(method, target, headers, host="gateway.test", version="HTTP/1.1"):
        items = _header_items(headers)
        names = {k.lower() for k, _ in items}
        lines = ["%s %s %s" % (method, target, version)]
        if "host" not in names and host is not None:
            lines.append("Host: %s" % host)
        for k, v in items:
            lines.append("%s: %s" % (k, v))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def request(self, method, target, headers=None, body=None, chunked=False, sink=None,
                version="HTTP/1.1"):
        items = _header_items(headers)
        names = {k.lower() for k, _ in items}
        if body is not None and not chunked and "content-length" not in names:
            items.append(("Content-Length", str(len(body))))
        if chunked and "transfer-encoding" not in names:
            items.append(("Transfer-Encoding", "chunked"))
        self.send(self.build_head(method, target, items, version=version))
        if body is not None:
            if chunked:
                pieces = body if not isinstance(body, (bytes, bytearray)) else [body]
                for piece in pieces:
                    if piece:
                        self.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.send(b"0\r\n\r\n")
            else:
                self.send(body)
        resp = self.read_response(method=method, sink=sink)
        return resp


def free_port():
    """A port nothing listens on (bound then closed)."""
    s = socket.socket()
    s.bind((LOCALHOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------------------
# Deterministic payloads
# --------------------------------------------------------------------------------------

_PATTERN_PIECE_MAX = 1 << 20
_PATTERN_BLOCK = bytes(range(251)) * (_PATTERN_PIECE_MAX // 251 + 2)


def pattern_chunks(n, size=65536):
    """n bytes of a deterministic pattern (byte i is i % 251), in pieces of at most `size`."""
    size = min(size, _PATTERN_PIECE_MAX)
    offset = 0
    while offset < n:
        take = min(size, n - offset)
        start = offset % 251
        yield _PATTERN_BLOCK[start:start + take]
        offset += take


def pattern_sha256(n):
    h = hashlib.sha256()
    for piece in pattern_chunks(n):
        h.update(piece)
    return h.hexdigest()


# --------------------------------------------------------------------------------------
# Upstreams
# --------------------------------------------------------------------------------------

class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, addr, handler, upstream, tls_context=None):
        self.upstream = upstream
        self.tls_context = tls_context
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.tls_context is not None:
            # The handshake runs in the connection's thread (see _Handler.setup).
            sock = self.tls_context.wrap_socket(sock, server_side=True,
                                                do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        pass  # broken connections are part of the tests


def _read_request_body(rfile, headers, sink):
    """Reads the body (Content-Length or chunked) into a hash; returns its length."""
    te = (headers.get("Transfer-Encoding") or "").lower()
    total = 0
    if "chunked" in te:
        while True:
            line = rfile.readline(65537)
            if not line:
                raise ConnectionError("eof in chunk size")
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                break
            remaining = size
            while remaining:
                data = rfile.read(min(remaining, 262144))
                if not data:
                    raise ConnectionError("eof in chunk")
                sink.update(data)
                remaining -= len(data)
                total += len(data)
            rfile.readline(3)
    else:
        remaining = int(headers.get("Content-Length") or 0)
        while remaining:
            data = rfile.read(min(remaining, 262144))
            if not data:
                raise ConnectionError("eof in body")
            sink.update(data)
            remaining -= len(data)
            total += len(data)
    return total


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "upstream-test"
    timeout = 60

    def setup(self):
        if self.server.tls_context is not None:
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()

    def log_message(self, *args):
        pass

    def _dispatch(self):
        upstream = self.server.upstream
        upstream.record_hit(self)
        upstream.handle(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    def send_json(self, status, obj, extra_headers=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class EchoUpstream:
    """Answers every request with JSON describing exactly what it received.

    {"method", "path", "query", "target", "version", "headers": [[name, value], ...],
     "body_sha256", "body_length"}; the body is hashed while read, never stored.
    `delay` (seconds) holds back the response head (a slow upstream).
    Paths /download/N serve N pattern bytes (Content-Length; `?chunked=1` for chunked).
    """

    def __init__(self, delay=0.0, tls=None):
        self.delay = delay
        self.hits = 0
        self.requests = []  # summaries, in arrival order
        self.lock = threading.Lock()
        tls_context = None
        if tls:
            tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls_context.load_cert_chain(tls[0], tls[1])
        self.server = _Server((LOCALHOST, 0), _Handler, self, tls_context)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    @property
    def url(self):
        scheme = "https" if self.server.tls_context is not None else "http"
        return "%s://%s:%d" % (scheme, LOCALHOST, self.port)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def record_hit(self, handler):
        path, _, query = handler.path.partition("?")
        with self.lock:
            self.hits += 1
            self.requests.append({"method": handler.command, "path": path, "query": query,
                                  "headers": list(handler.headers.items())})

    def hit_count(self):
        with self.lock:
            return self.hits

    def paths_seen(self):
        with self.lock:
            return [r["path"] for r in self.requests]

    def handle(self, h):
        path, _, query = h.path.partition("?")
        sink = hashlib.sha256()
        try:
            length = _read_request_body(h.rfile, h.headers, sink)
        except (ConnectionError, ValueError, OSError):
            h.close_connection = True
            return
        if self.delay:
            time.sleep(self.delay)
        if path.startswith("/download/"):
            self._download(h, int(path.rsplit("/", 1)[1]), "chunked=1" in query)
            return
        h.send_json(200, {
            "method": h.command,
            "target": h.path,
            "path": path,
            "query": query,
            "version": h.request_version,
            "headers": [[k, v] for k, v in h.headers.items()],
            "body_sha256": sink.hexdigest(),
            "body_length": length,
        }, extra_headers=[("X-Upstream", "echo")])

    @staticmethod
    def _download(h, n, chunked):
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        if chunked:
            h.send_header("Transfer-Encoding", "chunked")
        else:
            h.send_header("Content-Length", str(n))
        h.end_headers()
        if h.command == "HEAD":
            return
        for piece in pattern_chunks(n, size=262144):
            if chunked:
                h.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            else:
                h.wfile.write(piece)
        if chunked:
            h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()


class StaticUpstream:
    """Serves fixed documents: `documents[path] = (status, content_type, body)`;
    the dict may be changed while it runs. Counts hits per path."""

    def __init__(self):
        self.documents = {}
        self.hits = 0
        self.path_hits = {}
        self.requests = []
        self.lock = threading.Lock()
        self.server = _Server((LOCALHOST, 0), _Handler, self)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def url_for(self, path):
        return "http://%s:%d%s" % (LOCALHOST, self.port, path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def record_hit(self, handler):
        with self.lock:
            self.hits += 1
            path = handler.path.partition("?")[0]
            self.path_hits[path] = self.path_hits.get(path, 0) + 1

    def hit_count(self, path=None):
        with self.lock:
            return self.hits if path is None else self.path_hits.get(path, 0)

    def handle(self, h):
        _read_request_body(h.rfile, h.headers, hashlib.sha256())
        with self.lock:
            doc = self.documents.get(h.path.partition("?")[0])
        status, ctype, body = doc if doc else (404, "text/plain", b"not found")
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)


def echo_json(resp):
    """The echo upstream's JSON, with a case-insensitive header accessor."""
    data = resp.json()
    data["headers_lower"] = [(k.lower(), v) for k, v in data["headers"]]
    return data


def echo_header(data, name):
    values = [v for k, v in data["headers_lower"] if k == name.lower()]
    return values


def read_requests(conn):
    """Yields (method, target, headers) for each request on `conn`; a
    Content-Length body is read and skipped (no chunked bodies)."""
    pending = b""
    while True:
        while b"\r\n\r\n" not in pending:
            chunk = conn.recv(65536)
            if not chunk:
                return
            pending += chunk
        head, _, pending = pending.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target = lines[0].split(" ")[:2]
        headers = []
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        while len(pending) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return
            pending += chunk
        pending = pending[length:]
        yield method, target, headers


class _RawServer:
    """A socket server whose connections run `serve(conn)` in their own thread."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOCALHOST, 0))
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://%s:%d" % (LOCALHOST, self.port)

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(15)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        try:
            self.serve(conn)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def hit_count(self):
        with self.lock:
            return self.hits

    def close(self):
        self.stopping.set()
        self.sock.close()

    @staticmethod
    def read_head(conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None, b""
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        return head.decode("latin-1"), rest


class BrokenUpstream(_RawServer):
    """Misbehaves by path: /garbage (not HTTP), /close (no answer), /truncated
    (Content-Length 100000, 1000 bytes, then close), /resp-cl-te (Content-Length
    and Transfer-Encoding together, a smuggled second response after the body)."""

    def serve(self, conn):
        head, _ = self.read_head(conn)
        if head is None:
            return
        with self.lock:
            self.hits += 1
        target = head.split(" ", 2)[1]
        if target.startswith("/garbage"):
            conn.sendall(b"SSH-2.0-OpenSSH_9.2 not http at all\r\n\x00\xff\r\n\r\n")
        elif target.startswith("/resp-cl-te"):
            # Ambiguous framing toward the gateway, with a second response hidden after it.
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 120\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                         b"HTTP/1.1 200 OK\r\nX-Injected: yes\r\nContent-Length: 0\r\n\r\n")
            time.sleep(0.2)
        elif target.startswith("/truncated"):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: 100000\r\n\r\n" + b"x" * 1000)
            time.sleep(0.2)
        # /close and anything else: close without a byte


WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_accept_key(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def ws_encode_frame(opcode, payload, mask):
    first = 0x80 | opcode
    n = len(payload)
    mask_bit = 0x80 if mask else 0
    if n < 126:
        head = bytes([first, mask_bit | n])
    elif n < 65536:
        head = bytes([first, mask_bit | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first, mask_bit | 127]) + n.to_bytes(8, "big")
    if mask:
        key = os.urandom(4)
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return head + key + payload
    return head + payload


def _recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionClosed("eof in websocket frame")
        data += chunk
    return data


def ws_read_frame(read_exact):
    """Returns (fin, opcode, payload, masked) using read_exact(n)."""
    b0, b1 = read_exact(2)
    fin, opcode = bool(b0 & 0x80), b0 & 0x0F
    masked, n = bool(b1 & 0x80), b1 & 0x7F
    if n == 126:
        n = int.from_bytes(read_exact(2), "big")
    elif n == 127:
        n = int.from_bytes(read_exact(8), "big")
    key = read_exact(4) if masked else None
    payload = read_exact(n) if n else b""
    if masked:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return fin, opcode, payload, masked


class WebSocketUpstream(_RawServer):
    """RFC 6455 echo server: handshake, then echoes text/binary frames, answers
    ping with pong and close with close. Records the handshake headers."""

    def __init__(self):
        self.handshakes = []  # list of [(name, value)] per upgrade
        self.unmasked_frames = 0
        super().__init__()

    def serve(self, conn):
        head, rest = self.read_head(conn)
        if head is None:
            return
        with self.lock:
            self.hits += 1
        lines = head.split("\r\n")
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        lower = {k.lower(): v for k, v in headers}
        with self.lock:
            self.handshakes.append(headers)
        if lower.get("upgrade", "").lower() != "websocket" or "sec-websocket-key" not in lower:
            body = b'{"error":"not a websocket upgrade"}'
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n%s" % (len(body), body))
            return
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                      % ws_accept_key(lower["sec-websocket-key"])).encode())
        pending = bytearray(rest)

        def read_exact(n):
            while len(pending) < n:
                chunk = conn.recv(65536)
                if not chunk:
                    raise ConnectionClosed("eof")
                pending.extend(chunk)
            out = bytes(pending[:n])
            del pending[:n]
            return out

        while True:
            try:
                fin, opcode, payload, masked = ws_read_frame(read_exact)
            except ConnectionClosed:
                return
            if not masked:
                with self.lock:
                    self.unmasked_frames += 1
            if opcode in (0x0, 0x1, 0x2):
                conn.sendall(ws_encode_frame(opcode if opcode else 0x1, payload, mask=False))
            elif opcode == 0x9:
                conn.sendall(ws_encode_frame(0xA, payload, mask=False))
            elif opcode == 0x8:
                conn.sendall(ws_encode_frame(0x8, payload[:2], mask=False))
                return


class WebSocketClient:
    """A minimal client over an HttpConn that has received `101`."""

    def __init__(self, conn):
        self.conn = conn

    def send_text(self, text):
        self.conn.send(ws_encode_frame(0x1, text.encode(), mask=True))

    def send_binary(self, data):
        self.conn.send(ws_encode_frame(0x2, data, mask=True))

    def send_close(self, code=1000):
        self.conn.send(ws_encode_frame(0x8, code.to_bytes(2, "big"), mask=True))

    def recv(self):
        fin, opcode, payload, masked = ws_read_frame(self.conn.read_exact)
        return opcode, payload


def websocket_handshake(conn, target, extra_headers=()):
    key = base64.b64encode(os.urandom(16)).decode()
    headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
               ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")]
    headers.extend(extra_headers)
    conn.send(HttpConn.build_head("GET", target, headers))
    resp = conn.read_head()
    if resp.status != 101:
        # An error answer has a body; read it for the assertions.
        te = (resp.header("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            resp.body = conn._read_chunked(hashlib.sha256(), keep=True)
        elif resp.header("Content-Length"):
            resp.body = conn.read_exact(int(resp.header("Content-Length")))
    return resp, key


# --------------------------------------------------------------------------------------
# TLS material
# --------------------------------------------------------------------------------------

class TestPKI:
    """A throw-away CA and a server certificate for 127.0.0.1 / localhost."""

    def __init__(self, directory, name="jwtgate test CA"):
        self.dir = directory
        now = datetime.datetime.now(datetime.timezone.utc)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name).issuer_name(ca_name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(self.ca_key, hashes.SHA256()))
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower())
        self.ca_file = os.path.join(directory, slug + "-ca.crt")
        with open(self.ca_file, "wb") as f:
            f.write(self.ca_cert.public_bytes(serialization.Encoding.PEM))

        server_key = ec.generate_private_key(ec.SECP256R1())
        self.server_cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name)
            .public_key(server_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOCALHOST))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(self.ca_key, hashes.SHA256()))
        self.cert_file = os.path.join(directory, slug + "-server.crt")
        self.key_file = os.path.join(directory, slug + "-server.key")
        with open(self.cert_file, "wb") as f:
            f.write(self.server_cert.public_bytes(serialization.Encoding.PEM))
        with open(self.key_file, "wb") as f:
            f.write(server_key.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))

    def client_context(self):
        ctx = ssl.create_default_context(cafile=self.ca_file)
        return ctx


# --------------------------------------------------------------------------------------
# Assertions shared by the test files
# --------------------------------------------------------------------------------------

class GatewayTestCase(unittest.TestCase):
    maxDiff = 4000

    def assertErrorReply(self, resp, status, error, reason=None):
        """A reply the gateway produced itself: status, small JSON body with `error`."""
        self.assertEqual(resp.status, status, resp)
        ctype = (resp.header("Content-Type") or "").lower()
        self.assertIn("json", ctype, resp)
        body = resp.json()
        self.assertIsInstance(body, dict, resp)
        self.assertEqual(body.get("error"), error, resp)
        if reason is not None:
            self.assertEqual(body.get("reason"), reason, resp)
        return body

    def assertAuthError(self, resp, status, error, reasons):
        """SPEC section 5: status, WWW-Authenticate and JSON body with reason."""
        if isinstance(reasons, str):
            reasons = (reasons,)
        body = self.assertErrorReply(resp, status, error)
        self.assertIn(body.get("reason"), reasons, resp)
        self.assertIn("error_description", body, resp)
        www = resp.header("WWW-Authenticate")
        self.assertIsNotNone(www, resp)
        self.assertTrue(www.startswith("Bearer "), www)
        self.assertIn('realm="jwtgate"', www)
        if error != "missing_token":
            self.assertIn('error="%s"' % error, www)
        return body

    def assertTokenNotLogged(self, gw, token):
        text = gw.output_text()
        signature = token.rsplit(".", 1)[1]
        self.assertNotIn(token, text)
        if signature:
            self.assertNotIn(signature, text)

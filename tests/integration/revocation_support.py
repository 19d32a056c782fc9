"""Shared pieces of the revocation tests: the admin API client, configs, and a
Redis server started (and stopped) by the test itself."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from harness import LOCALHOST, HttpConn, free_port

ADMIN_TOKEN = "admin-token-for-tests-0123456789"


def admin_call(gw, method, body=None, token=ADMIN_TOKEN, headers=None):
    items = list(headers or [])
    if token is not None:
        items.append(("Authorization", "Bearer " + token))
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        items.append(("Content-Type", "application/json"))
    with HttpConn(LOCALHOST, gw.admin_port, timeout=10) as conn:
        return conn.request(method, "/revocations", headers=items, body=data)


def revoke(testcase, gw, entry, status=201):
    resp = admin_call(gw, "POST", entry)
    testcase.assertEqual(resp.status, status, resp.body)
    return resp.json()


def entries(gw):
    resp = admin_call(gw, "GET")
    assert resp.status == 200, resp
    return resp.json()["entries"]


def metric(gw, name):
    """The value of one sample line (name with labels) of /metrics, or None."""
    text = gw.admin_get("/metrics").body.decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def wait_until(predicate, timeout=5.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class RedisServer:
    """A redis-server of our own on an ephemeral 127.0.0.1 port; persistence in
    a private directory so a restart keeps the data (appendfsync always)."""

    def __init__(self, password=None, tls=None):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise unittest_skip("redis-server is not installed (scripts/install-deps.sh test installs it)")
        self.dir = tempfile.mkdtemp(prefix="jwtgate-redis-")
        self.port = free_port()
        self.password = password
        self.tls = tls  # (cert, key, ca) or None
        self.proc = None
        self.start()

    def args(self):
        a = [self.binary, "--bind", LOCALHOST, "--dir", self.dir, "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no",
             "--logfile", os.path.join(self.dir, "redis.log")]
        if self.tls:
            cert, key, ca = self.tls
            a += ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", cert,
                  "--tls-key-file", key, "--tls-ca-cert-file", ca, "--tls-auth-clients", "no"]
        else:
            a += ["--port", str(self.port)]
        if self.password:
            a += ["--requirepass", self.password]
        return a

    def start(self):
        self.proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("redis-server exited: " + self.log())
            try:
                with socket.create_connection((LOCALHOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not listen: " + self.log())

    def log(self):
        try:
            with open(os.path.join(self.dir, "redis.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def command(self, *args):
        """One command over a raw socket (RESP), for the test's own checks."""
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        with socket.create_connection((LOCALHOST, self.port), timeout=5) as s:
            if self.password:
                s.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(self.password), self.password.encode()))
                s.recv(100)
            s.sendall(out)
            return s.recv(1 << 20)

    def close(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def unittest_skip(reason):
    import unittest
    return unittest.SkipTest(reason)


class TcpRelay:
    """A TCP forwarder the test can cut (close every connection, refuse new ones)
    and restore: one instance cut off from Redis while the others are not."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.port = free_port()
        self.conns = []
        self.lock = threading.Lock()
        self.listener = None
        self.restore()

    def restore(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOCALHOST, self.port))
        self.listener.listen(64)
        t = threading.Thread(target=self._accept, args=(self.listener,), daemon=True)
        t.start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((LOCALHOST, self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.conns = []

    def close(self):
        self.cut()

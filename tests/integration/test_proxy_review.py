"""Proxy hardening (SPEC section 4): the host a request is routed by is the host
the upstream is told; pooled upstream connections never carry bytes from one
response into another client's; WebSocket tunnels only after a real RFC 6455
handshake; every Connection field is honoured; exactly one X-Request-Id."""

import base64
import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
import unittest

from harness import (LOCALHOST, EchoUpstream, GatewayTestCase, HttpConn, TestKeys, TestPKI,
                     _RawServer, echo_header, echo_json, gateway_config, provider_config,
                     read_requests, start_gateway, websocket_handshake, ws_accept_key)

SMUGGLED = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Smuggled: yes\r\n\r\nSMUGGLED"


class MisbehavingUpstream(_RawServer):
    """Keep-alive HTTP/1.1 backend that answers "served METHOD TARGET" and misbehaves
    by path: /now (a second response right behind the first), /later (a second
    response 50 ms after each one), /headbody (a body after a HEAD response). Every
    response carries `Connection: keep-alive` and a second `Connection: X-Internal`
    field naming `X-Internal`, which must never reach clients."""

    def __init__(self, tls_files=None):
        self.seen = []
        self.connections = 0
        self.tls = None
        if tls_files:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(*tls_files)
        super().__init__()

    @property
    def url(self):
        return "%s://%s:%d" % ("https" if self.tls else "http", LOCALHOST, self.port)

    def serve(self, conn):
        if self.tls:
            conn = self.tls.wrap_socket(conn, server_side=True)
        with self.lock:
            self.connections += 1
        for method, target, headers in read_requests(conn):
            with self.lock:
                self.hits += 1
                self.seen.append((method, target, headers))
            body = ("served %s %s" % (method, target)).encode()
            extra = SMUGGLED if target.startswith("/headbody") else b""
            head = (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: keep-alive\r\n"
                    b"Connection: X-Internal\r\nX-Internal: secret\r\n\r\n"
                    % len(extra or body))
            if method == "HEAD":
                conn.sendall(head + extra)
            elif target.startswith("/now"):
                conn.sendall(head + body + SMUGGLED)
            elif target.startswith("/later"):
                conn.sendall(head + body)
                time.sleep(0.05)
                conn.sendall(SMUGGLED)
            else:
                conn.sendall(head + body)


class BadHandshakeUpstream(_RawServer):
    """Answers every upgrade with a 101 that is wrong by path: /no-upgrade (no
    Upgrade field), /wrong-accept (an accept value for another key), /h2c
    (Upgrade: h2c). Anything sent after the 101 is recorded."""

    def __init__(self):
        self.after_101 = []
        super().__init__()

    def serve(self, conn):
        head, _ = self.read_head(conn)
        if head is None:
            return
        with self.lock:
            self.hits += 1
        lines = head.split("\r\n")
        target = lines[0].split(" ")[1]
        key = ""
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-key":
                key = value.strip()
        if target.startswith("/no-upgrade"):
            resp = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % (
                ws_accept_key(key))
        elif target.startswith("/h2c"):
            resp = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: %s\r\n\r\n" % ws_accept_key(key))
        else:
            resp = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: %s\r\n\r\n" % ws_accept_key("not-" + key))
        conn.sendall(resp.encode() + b"UPSTREAM-PROTOCOL-BYTES")
        conn.settimeout(1.0)
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if data:
            with self.lock:
                self.after_101.append(data)


class HostAndHeadersTest(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        routes = [
            {"name": "api", "path_prefix": "/", "host": "api.example.com", "upstream": "app",
             "auth": {"providers": ["corp"]}},
            {"name": "rest", "path_prefix": "/", "upstream": "app", "auth": "none"},
        ]
        cls.gw = start_gateway(cls, gateway_config({"app": cls.app.url}, routes,
                                                   providers={"corp": provider_config(cls.keys)}))

    def tearDown(self):
        self.assertTrue(self.gw.alive(), "gateway died:\n" + self.gw.stderr_text()[-3000:])

    def raw(self, data, method="GET"):
        with self.gw.connect() as conn:
            conn.send(data)
            return conn.read_response(method=method)

    def last_request(self):
        with self.app.lock:
            return self.app.requests[-1]

    # -- absolute-form target vs Host ---------------------------------------------------

    def test_absolute_form_authority_is_the_forwarded_host(self):
        resp = self.raw(b"GET http://other.example.com/x HTTP/1.1\r\nHost: api.example.com\r\n"
                        b"X-Forwarded-Host: api.example.com\r\n\r\n")
        self.assertEqual(resp.status, 200, resp)  # the catch-all route, for other.example.com
        data = echo_json(resp)
        self.assertEqual(echo_header(data, "Host"), ["other.example.com"])
        self.assertEqual(echo_header(data, "X-Forwarded-Host"), ["other.example.com"])
        self.assertNotIn("api.example.com", repr(data["headers"]))

    def test_absolute_form_authority_selects_the_protected_route(self):
        before = self.app.hit_count()
        resp = self.raw(b"GET http://api.example.com/x HTTP/1.1\r\nHost: other.example.com\r\n\r\n")
        self.assertAuthError(resp, 401, "missing_token", "missing_token")
        self.assertEqual(self.app.hit_count(), before)
        tok = self.keys.mint(sub="alice")
        resp = self.raw(b"GET http://API.example.com:80/x HTTP/1.1\r\nHost: other.example.com\r\n"
                        b"Authorization: Bearer " + tok.encode() + b"\r\n\r\n")
        self.assertEqual(resp.status, 200, resp)
        data = echo_json(resp)
        self.assertEqual(echo_header(data, "Host"), ["API.example.com:80"])
        self.assertEqual(echo_header(data, "X-Forwarded-Host"), ["API.example.com:80"])
        self.assertEqual(echo_header(data, "X-User-Id"), ["alice"])

    def test_bad_absolute_form_authorities_are_refused(self):
        targets = ["http://api.example.com@other.example.com/x",
                   "http://other.example.com@api.example.com/x",
                   "http://user:pw@other.example.com/x",
                   "http:///x", "http://?x=1", "ftp://other.example.com/x",
                   "gopher://other.example.com/x"]
        before = self.app.hit_count()
        for target in targets:
            with self.subTest(target=target):
                resp = self.raw(("GET %s HTTP/1.1\r\nHost: other.example.com\r\n\r\n" % target).encode())
                self.assertErrorReply(resp, 400, "bad_request")
        self.assertEqual(self.app.hit_count(), before, "the backend saw a refused request")

    def test_http10_without_host_gets_the_upstream_host(self):
        resp = self.raw(b"GET /plain HTTP/1.0\r\n\r\n")
        self.assertEqual(resp.status, 200, resp)
        data = echo_json(resp)
        self.assertEqual(echo_header(data, "Host"), ["%s:%d" % (LOCALHOST, self.app.port)])
        self.assertEqual(echo_header(data, "X-Forwarded-Host"), [])

    def test_http10_with_host_keeps_it(self):
        resp = self.raw(b"GET /plain HTTP/1.0\r\nHost: other.example.com\r\n\r\n")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(echo_header(echo_json(resp), "Host"), ["other.example.com"])

    # -- Connection fields ---------------------------------------------------------------

    def test_every_connection_field_names_hop_by_hop_headers(self):
        resp = self.raw(b"GET /conn HTTP/1.1\r\nHost: other.example.com\r\nConnection: keep-alive\r\n"
                        b"Connection: X-Hop-One\r\nconnection: x-hop-two, X-Hop-Three\r\n"
                        b"X-Hop-One: 1\r\nX-Hop-Two: 2\r\nX-Hop-Three: 3\r\nX-Kept: yes\r\n\r\n")
        self.assertEqual(resp.status, 200, resp)
        data = echo_json(resp)
        for name in ("X-Hop-One", "X-Hop-Two", "X-Hop-Three", "Connection"):
            self.assertEqual(echo_header(data, name), [], name)
        self.assertEqual(echo_header(data, "X-Kept"), ["yes"])

    # -- X-Request-Id --------------------------------------------------------------------

    def log_entry(self, request_id):
        for _ in range(50):
            entries = [e for e in self.gw.access_log() if e.get("request_id") == request_id]
            if entries:
                return entries[-1]
            time.sleep(0.05)
        self.fail("no access log entry for %r" % request_id)

    def test_request_id_survives_connection_listing(self):
        resp = self.raw(b"GET /rid HTTP/1.1\r\nHost: other.example.com\r\nConnection: X-Request-Id\r\n"
                        b"X-Request-Id: rid-listed-1\r\n\r\n")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(echo_header(echo_json(resp), "X-Request-Id"), ["rid-listed-1"])
        self.log_entry("rid-listed-1")

    def test_two_request_ids_become_one_generated_id(self):
        resp = self.raw(b"GET /rid HTTP/1.1\r\nHost: other.example.com\r\nX-Request-Id: rid-a\r\n"
                        b"x-request-id: rid-b\r\n\r\n")
        self.assertEqual(resp.status, 200, resp)
        ids = echo_header(echo_json(resp), "X-Request-Id")
        self.assertEqual(len(ids), 1, ids)
        self.assertNotIn(ids[0], ("rid-a", "rid-b"))
        self.assertEqual(self.log_entry(ids[0])["path"], "/rid")

    def test_single_request_id_is_kept_once(self):
        resp = self.raw(b"GET /rid HTTP/1.1\r\nHost: other.example.com\r\nX-Request-Id: rid-single\r\n\r\n")
        self.assertEqual(echo_header(echo_json(resp), "X-Request-Id"), ["rid-single"])
        too_long = "r" * 201
        resp = self.raw(("GET /rid HTTP/1.1\r\nHost: other.example.com\r\nX-Request-Id: %s\r\n\r\n"
                         % too_long).encode())
        ids = echo_header(echo_json(resp), "X-Request-Id")
        self.assertEqual(len(ids), 1)
        self.assertNotEqual(ids[0], too_long)


class PooledConnectionTest(GatewayTestCase):
    """Bytes a broken upstream sends past a response never reach another client."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="jwtgate-review-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.pki = TestPKI(cls.dir, "review upstream CA")
        cls.plain = MisbehavingUpstream()
        cls.addClassCleanup(cls.plain.close)
        cls.secure = MisbehavingUpstream(tls_files=(cls.pki.cert_file, cls.pki.key_file))
        cls.addClassCleanup(cls.secure.close)
        upstreams = {"plain": cls.plain.url,
                     "secure": {"url": cls.secure.url, "tls": {"ca_file": cls.pki.ca_file}}}
        routes = [{"name": "tls", "path_prefix": "/tls", "upstream": "secure", "auth": "none"},
                  {"name": "rest", "path_prefix": "/", "upstream": "plain", "auth": "none"}]
        # One event loop: every request shares one upstream pool.
        cls.gw = start_gateway(cls, gateway_config(upstreams, routes, server={"threads": 1}))

    def tearDown(self):
        self.assertTrue(self.gw.alive(), "gateway died:\n" + self.gw.stderr_text()[-3000:])

    def assertClean(self, conn, resp, target, method="GET"):
        self.assertEqual(resp.status, 200, resp)
        self.assertIsNone(resp.header("X-Smuggled"), resp)
        self.assertIsNone(resp.header("X-Internal"), resp)
        if method != "HEAD":
            self.assertEqual(resp.body, ("served %s %s" % (method, target)).encode())
        conn.wait_closed(0.2)  # collect anything that follows the response
        self.assertNotIn(b"SMUGGLED", conn.buf)

    def exchange(self, first_target, first_method="GET", prefix=""):
        """Client A triggers the misbehaviour; client B, on a new connection after
        the extra bytes have arrived, must get its own response only."""
        with self.gw.connect() as a:
            resp = a.request(first_method, prefix + first_target)
            self.assertClean(a, resp, prefix + first_target, first_method)
        time.sleep(0.3)
        for i in range(3):
            target = "%s/clean/%d" % (prefix, i)
            with self.gw.connect() as b:
                resp = b.request("GET", target)
                self.assertClean(b, resp, target)

    def test_response_followed_at_once_by_another(self):
        self.exchange("/now")

    def test_response_followed_later_by_another(self):
        self.exchange("/later")

    def test_head_response_with_a_body(self):
        self.exchange("/headbody", first_method="HEAD")

    def test_same_client_connection_never_sees_extra_bytes(self):
        with self.gw.connect() as conn:
            for target in ("/later/1", "/now/2", "/clean/3"):
                resp = conn.request("GET", target)
                self.assertEqual(resp.body, ("served GET %s" % target).encode())
                time.sleep(0.2)
            self.assertNotIn(b"SMUGGLED", conn.buf)

    def test_tls_response_followed_later_by_another(self):
        self.exchange("/later", prefix="/tls")

    def test_tls_response_followed_at_once_by_another(self):
        self.exchange("/now", prefix="/tls")

    def test_healthy_connections_are_still_reused(self):
        with self.plain.lock:
            before = self.plain.connections
        with self.gw.connect() as conn:
            for i in range(5):
                target = "/reuse/%d" % i
                self.assertClean(conn, conn.request("GET", target), target)
        with self.plain.lock:
            opened = self.plain.connections - before
        self.assertLessEqual(opened, 1)


class WebSocketHandshakeTest(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        cls.bad = BadHandshakeUpstream()
        cls.addClassCleanup(cls.bad.close)
        routes = [{"name": "bad", "path_prefix": "/bad", "upstream": "bad", "auth": "none"},
                  {"name": "rest", "path_prefix": "/", "upstream": "app", "auth": "none"}]
        cls.gw = start_gateway(cls, gateway_config({"app": cls.app.url, "bad": cls.bad.url}, routes))

    def tearDown(self):
        self.assertTrue(self.gw.alive(), "gateway died:\n" + self.gw.stderr_text()[-3000:])

    def test_upgrade_without_key_or_version_13_is_refused(self):
        key = base64.b64encode(os.urandom(16)).decode()
        cases = {
            "no key": [("Sec-WebSocket-Version", "13")],
            "empty key": [("Sec-WebSocket-Key", ""), ("Sec-WebSocket-Version", "13")],
            "two keys": [("Sec-WebSocket-Key", key), ("Sec-WebSocket-Key", key),
                         ("Sec-WebSocket-Version", "13")],
            "no version": [("Sec-WebSocket-Key", key)],
            "version 8": [("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "8")],
        }
        before = self.app.hit_count()
        for name, extra in cases.items():
            with self.subTest(case=name):
                with self.gw.connect() as conn:
                    headers = [("Upgrade", "websocket"), ("Connection", "Upgrade")] + extra
                    conn.send(HttpConn.build_head("GET", "/ws", headers))
                    resp = conn.read_response()
                    self.assertErrorReply(resp, 400, "bad_request")
        self.assertEqual(self.app.hit_count(), before, "the backend saw a refused upgrade")

    def bad_101(self, target):
        with self.bad.lock:
            before = len(self.bad.after_101)
        with self.gw.connect() as conn:
            resp, _ = websocket_handshake(conn, target)
            self.assertErrorReply(resp, 502, "bad_gateway")
            self.assertTrue(conn.wait_closed(5), "the client connection stayed open")
            self.assertNotIn(b"UPSTREAM-PROTOCOL-BYTES", conn.buf)
            try:
                conn.send(b"\x81\x85" + os.urandom(4) + b"hello")
            except OSError:
                pass
        time.sleep(0.3)
        with self.bad.lock:
            self.assertEqual(len(self.bad.after_101), before, "bytes were tunnelled to the upstream")

    def test_101_with_a_wrong_accept_value(self):
        self.bad_101("/bad/wrong-accept")

    def test_101_without_upgrade_websocket(self):
        self.bad_101("/bad/no-upgrade")

    def test_101_naming_another_protocol(self):
        self.bad_101("/bad/h2c")


if __name__ == "__main__":
    unittest.main()

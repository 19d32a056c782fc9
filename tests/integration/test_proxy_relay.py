"""The relay through the upstream call (SPEC sections 4 and 9): what the
upstream's response head says is kept (reason phrase, fields minus the
hop-by-hop ones its Connection names), the upstream's deadline runs only while
the upstream is waited on, a pooled connection that stalls is not retried, an
upstream that answers while the request body is still arriving (full duplex)
has its answer streamed back at once, `Expect: 100-continue` without a body
and a WebSocket handshake with one are handled, and an HTTP/2 request body the
client stops sending does not hold an upstream connection forever."""

import time
import unittest

from h2support import H2Client, H2EchoUpstream
from harness import (EchoUpstream, GatewayTestCase, HttpConn, _RawServer, echo_json, gateway_config,
                     start_gateway)
from revocation_support import wait_until

UPSTREAM_TIMEOUT = 1.0


class ScriptedUpstream(_RawServer):
    """Keep-alive connections; by path: /reason (a custom status line and a
    field named by Connection), /fast (200), /stall (no answer for 3 s),
    /duplex (answers at once, then echoes each request body chunk as a
    response chunk), /sink (reads until the gateway closes)."""

    def __init__(self):
        super().__init__()
        self.stalled = 0
        self.sinks_closed = 0

    def serve(self, conn):
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            head, _, buf = buf.partition(b"\r\n\r\n")
            target = head.split(b" ", 2)[1].decode().removeprefix("/unpooled")
            with self.lock:
                self.hits += 1
            if target.startswith("/reason"):
                conn.sendall(b"HTTP/1.1 299 Totally Custom\r\nContent-Length: 2\r\nConnection: X-Hop\r\n"
                             b"X-Hop: private\r\nX-Kept: yes\r\n\r\nok")
            elif target.startswith("/fast"):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfast")
            elif target.startswith("/stall"):
                with self.lock:
                    self.stalled += 1
                time.sleep(3)
                return
            elif target.startswith("/sink"):
                while conn.recv(65536):
                    pass
                with self.lock:
                    self.sinks_closed += 1
                return
            elif target.startswith("/duplex"):
                buf = self.duplex(conn, buf)
                if buf is None:
                    return
            else:
                return

    def duplex(self, conn, buf):
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        while True:
            while b"\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return None
                buf += data
            line, _, buf = buf.partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            while len(buf) < size + 2:
                data = conn.recv(65536)
                if not data:
                    return None
                buf += data
            piece, buf = buf[:size], buf[size + 2:]
            if size == 0:
                conn.sendall(b"0\r\n\r\n")
                return buf
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece.upper()))


class ProxyRelayTest(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.scripted = ScriptedUpstream()
        cls.addClassCleanup(cls.scripted.close)
        cls.echo = EchoUpstream()
        cls.addClassCleanup(cls.echo.close)
        timeout = "%dms" % int(UPSTREAM_TIMEOUT * 1000)
        config = gateway_config(
            {"scripted": {"url": cls.scripted.url, "timeout": timeout},
             "unpooled": {"url": cls.scripted.url, "timeout": timeout, "max_idle_connections": 0},
             "echo": {"url": cls.echo.url, "timeout": timeout}},
            [{"name": "echo", "path_prefix": "/echo", "upstream": "echo", "auth": "none"},
             {"name": "unpooled", "path_prefix": "/unpooled", "upstream": "unpooled", "auth": "none"},
             {"name": "scripted", "path_prefix": "/", "upstream": "scripted", "auth": "none"}],
            server={"threads": 1, "idle_timeout": "10s"})
        cls.gw = start_gateway(cls, config)

    def tearDown(self):
        self.assertTrue(self.gw.alive(), "gateway died:\n" + self.gw.stderr_text()[-3000:])

    def test_reason_phrase_and_fields_are_relayed_minus_what_connection_names(self):
        with self.gw.connect() as conn:
            conn.send(HttpConn.build_head("GET", "/reason", []))
            head = conn.read_until(b"\r\n\r\n").decode("latin-1")
            self.assertTrue(head.startswith("HTTP/1.1 299 Totally Custom\r\n"), head)
            self.assertIn("\r\nX-Kept: yes\r\n", head)
            self.assertNotIn("X-Hop", head)
            self.assertIn("\r\nContent-Length: 2\r\n", head)
            self.assertEqual(conn.read_exact(2), b"ok")

    def test_a_slow_upload_is_not_an_upstream_timeout(self):
        # Each pause is longer than the upstream's timeout: the gateway is
        # waiting on the client then, not on the upstream.
        pieces = [b"a" * 10, b"b" * 10, b"c" * 10]
        with self.gw.connect(timeout=15) as conn:
            conn.send(HttpConn.build_head("POST", "/echo/slow", [("Content-Length", "30")]))
            for piece in pieces:
                conn.send(piece)
                time.sleep(UPSTREAM_TIMEOUT * 1.5)
            resp = conn.read_response()
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(echo_json(resp)["body_length"], 30)

    def test_a_stalled_pooled_connection_times_out_once_and_is_not_retried(self):
        with self.gw.connect(timeout=15) as conn:
            resp = conn.request("GET", "/fast")
            self.assertEqual(resp.status, 200, resp)
            before = self.scripted.stalled
            started = time.monotonic()
            resp = conn.request("GET", "/stall")
            elapsed = time.monotonic() - started
        self.assertErrorReply(resp, 504, "gateway_timeout")
        # A retry after the timeout would have waited a second time.
        self.assertLess(elapsed, UPSTREAM_TIMEOUT * 1.9, "the 504 took %.2f s" % elapsed)
        self.assertGreaterEqual(elapsed, UPSTREAM_TIMEOUT * 0.9)
        self.assertEqual(self.scripted.stalled - before, 1, "the stalled request was sent again")

    def test_a_full_duplex_upstream_streams_its_answer_while_the_body_arrives(self):
        with self.gw.connect(timeout=10) as conn:
            conn.send(HttpConn.build_head("POST", "/duplex", [("Transfer-Encoding", "chunked")]))
            head = conn.read_until(b"\r\n\r\n").decode("latin-1")
            self.assertTrue(head.startswith("HTTP/1.1 200 "), head)
            self.assertIn("Transfer-Encoding: chunked", head)
            # The answer came before the request ended: the connection ends with it.
            self.assertIn("Connection: close", head)
            for word in (b"one", b"two", b"three"):
                conn.send(b"%x\r\n%s\r\n" % (len(word), word))
                line = conn.read_until(b"\r\n")
                self.assertEqual(int(line.strip(), 16), len(word), line)
                self.assertEqual(conn.read_exact(len(word) + 2), word.upper() + b"\r\n")
            conn.send(b"0\r\n\r\n")
            self.assertEqual(conn.read_until(b"0\r\n\r\n"), b"0\r\n\r\n")
        statuses = lambda: [e["status"] for e in self.gw.access_log() if e.get("path") == "/duplex"]
        self.assertTrue(wait_until(lambda: statuses() == [200], 5), statuses())

    def test_expect_continue_without_a_body_gets_no_interim_answer(self):
        # The upstream is connected afresh each time: the call becomes ready
        # for a body only later, and there is none.
        with self.gw.connect(timeout=10) as conn:
            for _ in range(2):
                conn.send(HttpConn.build_head("GET", "/unpooled/fast", [("Expect", "100-continue")]))
                head = conn.read_until(b"\r\n\r\n")
                self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
                self.assertEqual(conn.read_exact(4), b"fast")
            conn.send(HttpConn.build_head("GET", "/unpooled/reason", []))
            head = conn.read_until(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 299 "), head)
            self.assertEqual(conn.read_exact(2), b"ok")

    def test_a_websocket_handshake_with_a_body_is_refused(self):
        before = self.scripted.hit_count()
        with self.gw.connect() as conn:
            conn.send(HttpConn.build_head("GET", "/ws", [
                ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
                ("Content-Length", "5")]) + b"hello")
            resp = conn.read_response()
        self.assertErrorReply(resp, 400, "bad_request")
        self.assertEqual(self.scripted.hit_count(), before, "the handshake reached the upstream")


class Http2StalledRequestBodyTest(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.scripted = ScriptedUpstream()
        cls.addClassCleanup(cls.scripted.close)
        cls.h2up = H2EchoUpstream()
        cls.addClassCleanup(cls.h2up.close)
        config = gateway_config(
            {"scripted": {"url": cls.scripted.url, "timeout": "30s"},
             "h2up": {"url": cls.h2up.url, "protocol": "h2", "timeout": "30s"}},
            [{"name": "h2up", "path_prefix": "/h2up", "upstream": "h2up", "auth": "none"},
             {"name": "scripted", "path_prefix": "/", "upstream": "scripted", "auth": "none"}],
            server={"threads": 1, "idle_timeout": "1s"})
        cls.gw = start_gateway(cls, config)

    def test_a_request_body_the_client_stops_sending_is_reset_after_idle_timeout(self):
        with H2Client(self.gw.port) as client:
            sid = client.start("POST", "/sink", end_stream=False)
            self.assertTrue(client.send_body(sid, b"part of a body", end_stream=False))
            started = time.monotonic()
            client.wait([sid], timeout=6)
            elapsed = time.monotonic() - started
            self.assertEqual(client.streams[sid].reset, 8, "expected RST_STREAM CANCEL")
            self.assertLess(elapsed, 4.0)
        # ... and the upstream connection it held is closed, not left open
        # until the upstream gives up.
        self.assertTrue(wait_until(lambda: self.scripted.sinks_closed == 1, 5), self.scripted.sinks_closed)
        self.assertTrue(self.gw.alive())

    def test_a_quiet_request_body_to_an_h2_upstream_is_left_alone(self):
        # A stream to an h2 upstream (gRPC streaming, say) may pause longer
        # than idle_timeout: it holds a stream, not a connection.
        with H2Client(self.gw.port) as client:
            sid = client.start("POST", "/h2up/quiet", end_stream=False)
            self.assertTrue(client.send_body(sid, b"first half, ", end_stream=False))
            client.wait([sid], timeout=2.5)  # twice idle_timeout, plus the sweep
            self.assertIsNone(client.streams[sid].reset, "the quiet stream was reset")
            self.assertTrue(client.send_body(sid, b"second half", end_stream=True))
            resp = client.wait([sid], timeout=10)[0]
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["body_length"], len(b"first half, second half"))


if __name__ == "__main__":
    unittest.main()

"""The HTTP/1 relay through the upstream call (SPEC section 4): what the
upstream's response head says is kept (reason phrase, fields minus the
hop-by-hop ones its Connection names), the upstream's deadline runs only while
the upstream is waited on, a pooled connection that stalls is not retried, and
an upstream that answers while the request body is still arriving (full
duplex) has its answer streamed back at once."""

import socket
import time
import unittest

from harness import (LOCALHOST, EchoUpstream, GatewayTestCase, HttpConn, _RawServer, echo_json,
                     gateway_config, start_gateway)

UPSTREAM_TIMEOUT = 1.0


class ScriptedUpstream(_RawServer):
    """Keep-alive connections; by path: /reason (a custom status line and a
    field named by Connection), /fast (200), /stall (no answer for 3 s),
    /duplex (answers at once, then echoes each request body chunk as a
    response chunk)."""

    def __init__(self):
        super().__init__()
        self.stalled = 0

    def serve(self, conn):
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            head, _, buf = buf.partition(b"\r\n\r\n")
            target = head.split(b" ", 2)[1].decode()
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
             "echo": {"url": cls.echo.url, "timeout": timeout}},
            [{"name": "echo", "path_prefix": "/echo", "upstream": "echo", "auth": "none"},
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
        deadline = time.monotonic() + 5
        while statuses() != [200] and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(statuses(), [200])


if __name__ == "__main__":
    unittest.main()

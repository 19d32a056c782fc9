"""Hostile and unusual bytes on the client connection (SPEC section 4): framing
ambiguities that enable request smuggling, bad paths, keep-alive, pipelining,
HTTP/1.0, slowloris."""

import time
import unittest

from harness import (ConnectionClosed, EchoUpstream, GatewayTestCase, HttpConn, TestKeys,
                     echo_json, gateway_config, provider_config, start_gateway)


def raw(*lines, body=b""):
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class ProxySmugglingTest(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        routes = [
            {"name": "public", "path_prefix": "/public", "upstream": "app", "auth": "none"},
            {"name": "api", "path_prefix": "/api", "upstream": "app",
             "auth": {"providers": ["corp"]}},
        ]
        config = gateway_config({"app": cls.app.url}, routes,
                                providers={"corp": provider_config(cls.keys)},
                                server={"header_timeout": "1s", "idle_timeout": "2s"})
        cls.gw = start_gateway(cls, config)

    def tearDown(self):
        self.assertTrue(self.gw.alive(), "gateway died:\n" + self.gw.stderr_text()[-3000:])

    def send_raw(self, data):
        conn = self.gw.connect(timeout=10)
        self.addCleanup(conn.close)
        conn.send(data)
        return conn, conn.read_response()

    def assertRejected(self, data, must_close, status=400):
        before = self.app.hit_count()
        seen_before = set(self.app.paths_seen())
        conn, resp = self.send_raw(data)
        self.assertEqual(resp.status, status, resp)
        self.assertIn("json", (resp.header("Content-Type") or "").lower(), resp)
        self.assertIn("error", resp.json())
        if must_close:
            self.assertTrue(conn.wait_closed(5), "connection left open after a framing error")
            self.assertEqual(conn.buf, b"", "bytes after the 400: %r" % conn.buf[:200])
        self.assertEqual(self.app.hit_count(), before, "the upstream saw a rejected request")
        self.assertEqual(set(self.app.paths_seen()), seen_before)

    # -- paths -----------------------------------------------------------------------

    def test_bad_paths(self):
        for target in ("/public/%zz", "/public/%4", "/public/%", "/public/a%2Fb", "/public/a%2fb",
                       "/public/a%5Cb", "/public/a%5cb", "/public/a%00b", "/public/%2F..%2Fapi"):
            with self.subTest(target=target):
                self.assertRejected(raw("GET %s HTTP/1.1" % target, "Host: x"), must_close=False)

    # -- framing ---------------------------------------------------------------------

    def test_content_length_and_transfer_encoding(self):
        self.assertRejected(raw("POST /public/a HTTP/1.1", "Host: x", "Content-Length: 5",
                                "Transfer-Encoding: chunked", body=b"0\r\n\r\n"), must_close=True)

    def test_cl_te_smuggling_attempt(self):
        smuggled = b"GET /public/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        self.assertRejected(raw("POST /public/a HTTP/1.1", "Host: x",
                                "Content-Length: %d" % (5 + len(smuggled)),
                                "Transfer-Encoding: chunked", body=b"0\r\n\r\n" + smuggled),
                            must_close=True)
        self.assertNotIn("/public/smuggled", self.app.paths_seen())

    def test_te_cl_smuggling_attempt(self):
        smuggled = b"GET /public/smuggled2 HTTP/1.1\r\nHost: x\r\n\r\n"
        chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (len(smuggled), smuggled)
        self.assertRejected(raw("POST /public/a HTTP/1.1", "Host: x", "Transfer-Encoding: chunked",
                                "Content-Length: 4", body=chunk), must_close=True)
        self.assertNotIn("/public/smuggled2", self.app.paths_seen())

    def test_differing_content_lengths(self):
        self.assertRejected(raw("POST /public/a HTTP/1.1", "Host: x", "Content-Length: 3",
                                "Content-Length: 5", body=b"abcde"), must_close=True)

    def test_repeated_content_length(self):
        self.assertRejected(raw("POST /public/a HTTP/1.1", "Host: x", "Content-Length: 5",
                                "Content-Length: 5", body=b"abcde"), must_close=True)

    def test_content_length_list(self):
        self.assertRejected(raw("POST /public/a HTTP/1.1", "Host: x", "Content-Length: 5, 6",
                                body=b"abcdef"), must_close=True)

    def test_invalid_content_length(self):
        for value in ("-1", "abc", "+5", "0x5", "5 5"):
            with self.subTest(value=value):
                self.assertRejected(raw("POST /public/a HTTP/1.1", "Host: x",
                                        "Content-Length: %s" % value, body=b"abcde"),
                                    must_close=True)

    def test_transfer_encoding_other_than_chunked(self):
        for value in ("gzip", "gzip, chunked", "identity", "xchunked", "chunked, gzip"):
            with self.subTest(te=value):
                self.assertRejected(raw("POST /public/a HTTP/1.1", "Host: x",
                                        "Transfer-Encoding: %s" % value,
                                        body=b"5\r\nabcde\r\n0\r\n\r\n"), must_close=True)

    def test_space_before_colon(self):
        self.assertRejected(raw("POST /public/a HTTP/1.1", "Host: x",
                                "Transfer-Encoding : chunked", "Content-Length: 5",
                                body=b"abcde"), must_close=True)

    def test_control_characters_in_header_value(self):
        self.assertRejected(raw("GET /public/a HTTP/1.1", "Host: x", "X-A: a\rX-B: b"),
                            must_close=True)

    def test_garbage_request_line(self):
        self.assertRejected(raw("HELLO"), must_close=True)

    def test_two_authorization_headers(self):
        tok = self.keys.mint(sub="alice")
        for target in ("/public/a", "/api/a"):
            with self.subTest(target=target):
                self.assertRejected(raw("GET %s HTTP/1.1" % target, "Host: x",
                                        "Authorization: Bearer " + tok,
                                        "Authorization: Bearer " + tok), must_close=False)

    # -- connection reuse ------------------------------------------------------------

    def test_keep_alive(self):
        tok = self.keys.mint(sub="alice")
        with self.gw.connect() as conn:
            for i in range(5):
                resp = conn.request("GET", "/public/k%d" % i)
                self.assertEqual(resp.status, 200, resp)
                self.assertEqual(echo_json(resp)["path"], "/public/k%d" % i)
            # An auth failure or 404 does not end a keep-alive connection.
            self.assertEqual(conn.request("GET", "/api/x").status, 401)
            self.assertEqual(conn.request("GET", "/nowhere").status, 404)
            resp = conn.request("POST", "/api/k", body=b"payload",
                                headers=[("Authorization", "Bearer " + tok)])
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(echo_json(resp)["body_length"], 7)
            time.sleep(0.5)
            self.assertEqual(conn.request("GET", "/public/after-pause").status, 200)

    def test_pipelining(self):
        with self.gw.connect() as conn:
            conn.send(raw("GET /public/p1 HTTP/1.1", "Host: x")
                      + raw("POST /public/p2 HTTP/1.1", "Host: x", "Content-Length: 3", body=b"abc")
                      + raw("GET /api/p3 HTTP/1.1", "Host: x")
                      + raw("GET /public/p4 HTTP/1.1", "Host: x"))
            first = conn.read_response()
            second = conn.read_response()
            third = conn.read_response()
            fourth = conn.read_response()
        self.assertEqual(echo_json(first)["path"], "/public/p1")
        self.assertEqual(echo_json(second)["path"], "/public/p2")
        self.assertEqual(echo_json(second)["body_length"], 3)
        self.assertEqual(third.status, 401)
        self.assertEqual(echo_json(fourth)["path"], "/public/p4")

    def test_deep_pipeline(self):
        count = 50
        with self.gw.connect(timeout=20) as conn:
            conn.send(b"".join(raw("GET /public/deep/%d HTTP/1.1" % i, "Host: x")
                               for i in range(count)))
            paths = [echo_json(conn.read_response())["path"] for _ in range(count)]
        self.assertEqual(paths, ["/public/deep/%d" % i for i in range(count)])

    def test_request_target_with_raw_whitespace_or_controls(self):
        for line in ("GET /public/a b HTTP/1.1", "GET /public/a\x01b HTTP/1.1",
                     "GET /public/a\tb HTTP/1.1"):
            with self.subTest(line=repr(line)):
                self.assertRejected(raw(line, "Host: x"), must_close=True)

    def test_encoded_crlf_in_path_is_not_a_header(self):
        with self.gw.connect() as conn:
            resp = conn.request("GET", "/public/a%0d%0aX-Injected:%20yes")
        if resp.status == 200:
            data = echo_json(resp)
            self.assertNotIn("x-injected", [k.lower() for k, _ in data["headers"]])
            self.assertNotIn("\r", data["path"])
            self.assertNotIn("\n", data["path"])
        else:
            self.assertEqual(resp.status, 400, resp)

    def test_http_1_0(self):
        with self.gw.connect() as conn:
            conn.send(raw("GET /public/old HTTP/1.0", "Host: x"))
            resp = conn.read_response()
            self.assertEqual(resp.status, 200, resp)
            self.assertTrue(resp.version.startswith("HTTP/1."))
            self.assertEqual(echo_json(resp)["path"], "/public/old")
            self.assertTrue(conn.wait_closed(5), "HTTP/1.0 without keep-alive must be closed")

    def test_http_1_0_without_host(self):
        with self.gw.connect() as conn:
            conn.send(raw("GET /public/nohost HTTP/1.0"))
            resp = conn.read_response()
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(echo_json(resp)["path"], "/public/nohost")

    def test_idle_keep_alive_connection_closed(self):
        with self.gw.connect() as conn:
            self.assertEqual(conn.request("GET", "/public/idle").status, 200)
            self.assertTrue(conn.wait_closed(10), "idle connection kept past idle_timeout")

    # -- slowloris -------------------------------------------------------------------

    def test_slowloris_partial_head(self):
        before = self.app.hit_count()
        with self.gw.connect() as conn:
            conn.send(b"GET /public/slow HTTP/1.1\r\nHost: x\r\n")
            start = time.monotonic()
            self.assertTrue(conn.wait_closed(8), "partial head kept open past header_timeout")
            self.assertLess(time.monotonic() - start, 8)
        self.assertEqual(self.app.hit_count(), before)

    def test_slowloris_trickle(self):
        # A byte every 200 ms must not keep extending the head deadline.
        before = self.app.hit_count()
        with self.gw.connect() as conn:
            conn.send(b"GET /public/trickle HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            deadline = time.monotonic() + 8
            closed = False
            while time.monotonic() < deadline:
                try:
                    conn.send(b"a")
                except OSError:
                    closed = True
                    break
                if conn.wait_closed(0.2):
                    closed = True
                    break
            self.assertTrue(closed, "a trickling head was kept open for 8 s (header_timeout 1s)")
        self.assertEqual(self.app.hit_count(), before)


if __name__ == "__main__":
    unittest.main()

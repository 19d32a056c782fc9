"""Bodies are streamed both ways (SPEC section 4): 100 MiB uploads and downloads,
fixed-length and chunked, checked by sha256 on the other side, with the gateway's
peak memory well below the body size; Expect: 100-continue."""

import hashlib
import socket
import time
import unittest

import harness
from harness import (EchoUpstream, GatewayTestCase, HttpConn, TestKeys, echo_json,
                     gateway_config, pattern_chunks, pattern_sha256, provider_config,
                     start_gateway)

BIG = 100 * 1024 * 1024
# Far below BIG: a gateway that buffered a body would exceed it.
PEAK_RSS_LIMIT = 64 * 1024 * 1024
# The body was streamed intact, but a sanitizer's shadow memory and freed-memory
# quarantine make the gateway's RSS say nothing about what it buffered.
RSS_SKIP = "RSS bound not checked: sanitizer shadow memory and quarantine inflate RSS"


class ProxyStreamingTest(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        routes = [
            {"name": "upload", "path_prefix": "/up", "upstream": "app", "auth": "none"},
            {"name": "download", "path_prefix": "/download", "upstream": "app", "auth": "none"},
            {"name": "api", "path_prefix": "/api", "upstream": "app",
             "auth": {"providers": ["corp"]}},
        ]
        config = gateway_config({"app": cls.app.url}, routes,
                                providers={"corp": provider_config(cls.keys)},
                                server={"idle_timeout": "60s"})
        cls.gw = start_gateway(cls, config)
        cls.big_sha = pattern_sha256(BIG)

    def tearDown(self):
        self.assertTrue(self.gw.alive(), "gateway died:\n" + self.gw.stderr_text()[-3000:])

    def peak_rss(self):
        with open("/proc/%d/status" % self.gw.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return 0

    def assertStreamed(self):
        if harness.SANITIZER:
            self.skipTest(RSS_SKIP)
        peak = self.peak_rss()
        self.assertLess(peak, PEAK_RSS_LIMIT,
                        "gateway peak RSS %.1f MiB: the body was held in memory" % (peak / 2**20))

    def upload(self, chunked):
        with self.gw.connect(timeout=120) as conn:
            headers = [("Content-Type", "application/octet-stream")]
            headers.append(("Transfer-Encoding", "chunked") if chunked
                           else ("Content-Length", str(BIG)))
            conn.send(HttpConn.build_head("PUT", "/up/blob", headers))
            for piece in pattern_chunks(BIG, size=1 << 20):
                conn.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                conn.send(b"0\r\n\r\n")
            resp = conn.read_response()
        self.assertEqual(resp.status, 200, resp)
        data = echo_json(resp)
        self.assertEqual(data["method"], "PUT")
        self.assertEqual(data["body_length"], BIG)
        self.assertEqual(data["body_sha256"], self.big_sha)

    def download(self, chunked):
        sink = hashlib.sha256()
        with self.gw.connect(timeout=120) as conn:
            resp = conn.request("GET", "/download/%d%s" % (BIG, "?chunked=1" if chunked else ""),
                                sink=sink)
        self.assertEqual(resp.status, 200, resp)
        if not chunked:
            self.assertEqual(resp.header("Content-Length"), str(BIG))
        self.assertEqual(sink.hexdigest(), self.big_sha)

    def test_upload_content_length(self):
        self.upload(chunked=False)
        self.assertStreamed()

    def test_upload_chunked(self):
        self.upload(chunked=True)
        self.assertStreamed()

    def test_download_content_length(self):
        self.download(chunked=False)
        self.assertStreamed()

    def test_download_chunked(self):
        self.download(chunked=True)
        self.assertStreamed()

    def current_rss(self):
        with open("/proc/%d/status" % self.gw.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def open_connections(self):
        text = self.gw.admin_get("/metrics").body.decode()
        for line in text.splitlines():
            if line.startswith("jwtgate_open_connections"):
                return float(line.split()[-1])
        self.fail("no jwtgate_open_connections in /metrics")

    def test_slow_reader_gets_backpressure(self):
        # The upstream sends as fast as it can; the client reads 1 MiB then stalls.
        # A streaming gateway stops reading the upstream instead of buffering it.
        sink = hashlib.sha256()
        with self.gw.connect(timeout=60) as conn:
            conn.sock.setsockopt(socket.SOL_SOCKET,
                                 socket.SO_RCVBUF, 65536)
            conn.send(HttpConn.build_head("GET", "/download/%d" % BIG, []))
            head = conn.read_head()
            self.assertEqual(head.status, 200, head)
            conn.read_exact(1 << 20, sink=sink)
            time.sleep(2.0)
            rss = self.current_rss()
            if not harness.SANITIZER:
                self.assertLess(rss, PEAK_RSS_LIMIT,
                                "gateway RSS %.1f MiB while the client stalls" % (rss / 2**20))
            conn.read_exact(BIG - (1 << 20), sink=sink)
        self.assertEqual(sink.hexdigest(), self.big_sha)
        if harness.SANITIZER:
            self.skipTest(RSS_SKIP)

    def test_client_aborts_do_not_hurt_the_gateway(self):
        with self.gw.connect(timeout=30) as conn:  # upload cut after 1 MiB of 10 MiB
            conn.send(HttpConn.build_head("POST", "/up/cut", [("Content-Length", str(10 << 20))]))
            for piece in pattern_chunks(1 << 20):
                conn.send(piece)
        with self.gw.connect(timeout=30) as conn:  # download abandoned after 1 MiB
            conn.send(HttpConn.build_head("GET", "/download/%d" % BIG, []))
            self.assertEqual(conn.read_head().status, 200)
            conn.read_exact(1 << 20, sink=hashlib.sha256())
        resp = self.gw.request("POST", "/up/after", body=b"still fine")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(echo_json(resp)["body_length"], 10)
        deadline = time.monotonic() + 10
        while self.open_connections() > 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(self.open_connections(), 0, "client connections leaked")

    def test_expect_100_continue(self):
        size = 4 * 1024 * 1024
        tok = self.keys.mint(sub="uploader")
        with self.gw.connect(timeout=30) as conn:
            conn.send(HttpConn.build_head("POST", "/api/upload", [
                ("Authorization", "Bearer " + tok), ("Content-Length", str(size)),
                ("Expect", "100-continue")]))
            interim = conn.read_head()
            self.assertEqual(interim.status, 100, "want 100 Continue before the body: %r" % interim)
            for piece in pattern_chunks(size):
                conn.send(piece)
            resp = conn.read_response()
        self.assertEqual(resp.status, 200, resp)
        data = echo_json(resp)
        self.assertEqual(data["body_length"], size)
        self.assertEqual(data["body_sha256"], pattern_sha256(size))
        self.assertEqual([v for k, v in data["headers"] if k.lower() == "x-user-id"], ["uploader"])

    def test_expect_100_continue_rejected_without_body(self):
        # The client never sends the body: the 401 must come anyway.
        before = self.app.hit_count()
        with self.gw.connect(timeout=10) as conn:
            conn.send(HttpConn.build_head("POST", "/api/upload", [
                ("Content-Length", str(BIG)), ("Expect", "100-continue")]))
            resp = conn.read_response()
        self.assertAuthError(resp, 401, "missing_token", "missing_token")
        self.assertEqual(self.app.hit_count(), before)


if __name__ == "__main__":
    unittest.main()

"""gRPC through the gateway (SPEC section 9): a real grpcio server behind a
`protocol: h2` upstream and grpcio clients in front, over h2c and over TLS with
ALPN h2. Unary and the three streaming kinds, metadata both ways, trailing
metadata, identity headers seen by the server as metadata (client copies
stripped), grpc-timeout passed through, and the gateway's own answers as
trailers-only gRPC responses with the status of gRPC's HTTP mapping (checked
through grpcio and frame by frame through python3-h2)."""

import hashlib
import json
import shutil
import tempfile
import threading
import time
import unittest
import urllib.parse

import grpc

import harness
from harness import (GatewayTestCase, TestKeys, TestPKI, free_port, gateway_config,
                     provider_config, start_gateway)
from h2support import H2Client, process_status
from grpc_support import (GrpcTestServer, bearer, insecure_channel, metadata_values,
                          secure_channel, server_stream_message)

SVC = "/jwtgate.test.Echo/"
ADMIN = "/jwtgate.test.Admin/"
PUBLIC = "/jwtgate.test.Public/"
SLOW = "/jwtgate.test.Slow/"
DOWN = "/jwtgate.test.Down/"
NOWHERE = "/jwtgate.test.Nowhere/Unary"


class GrpcTest(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.dir = tempfile.mkdtemp(prefix="jwtgate-grpc-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.pki = TestPKI(cls.dir, "grpc CA")
        cls.server = GrpcTestServer()
        cls.addClassCleanup(cls.server.close)
        cls.tls_server = GrpcTestServer(tls=(cls.pki.cert_file, cls.pki.key_file))
        cls.addClassCleanup(cls.tls_server.close)
        upstreams = {
            "grpc": {"url": cls.server.url, "protocol": "h2"},
            "grpc-slow": {"url": cls.server.url, "protocol": "h2", "timeout": "1s"},
            "grpc-tls": {"url": cls.tls_server.url, "protocol": "h2",
                         "tls": {"ca_file": cls.pki.ca_file, "server_name": "localhost"}},
            "grpc-down": {"url": "http://127.0.0.1:%d" % free_port(), "protocol": "h2",
                          "connect_timeout": "1s"},
        }
        corp = {"providers": ["corp"]}
        routes = [
            {"name": "echo", "path_prefix": "/jwtgate.test.Echo", "upstream": "grpc", "auth": corp},
            {"name": "admin", "path_prefix": "/jwtgate.test.Admin", "upstream": "grpc",
             "auth": {"providers": ["corp"], "scopes": ["orders.admin"]}},
            {"name": "public", "path_prefix": "/jwtgate.test.Public", "upstream": "grpc-tls",
             "auth": "none"},
            {"name": "slow", "path_prefix": "/jwtgate.test.Slow", "upstream": "grpc-slow",
             "auth": "none"},
            {"name": "down", "path_prefix": "/jwtgate.test.Down", "upstream": "grpc-down",
             "auth": "none"},
        ]
        config = gateway_config(upstreams, routes, providers={"corp": provider_config(cls.keys)},
                                listen_tls=None)
        cls.gw = start_gateway(cls, config)
        # The same gateway routes on a TLS listener too (h2 through ALPN).
        tls_config = gateway_config(upstreams, routes,
                                    providers={"corp": provider_config(cls.keys)}, admin=False,
                                    listen_tls={"cert_file": cls.pki.cert_file,
                                                "key_file": cls.pki.key_file})
        cls.tls_gw = start_gateway(cls, tls_config)
        cls.channel = insecure_channel(cls.gw.port)
        cls.addClassCleanup(cls.channel.close)

    def tearDown(self):
        for gw in (self.gw, self.tls_gw):
            self.assertTrue(gw.alive(), "gateway died:\n" + gw.stderr_text()[-3000:])

    def token(self, sub="grpc-user", **claims):
        return self.keys.mint(sub=sub, **claims)

    def unary(self, method=SVC + "Unary", channel=None):
        return (channel or self.channel).unary_unary(method)

    def rpc_error(self, fn, *args, **kw):
        with self.assertRaises(grpc.RpcError) as cm:
            fn(*args, **kw)
        return cm.exception

    def http1_description(self, path, token=None):
        """The error_description the gateway gives the same request over HTTP/1.1."""
        resp = self.gw.get(path, token=token, headers=[("Content-Type", "application/json")])
        return resp.json().get("error_description"), resp

    # -- calls -----------------------------------------------------------------------

    def test_unary_with_metadata_both_ways(self):
        tok = self.token(sub="unary-user", realm_access={"roles": ["buyer"]})
        md = bearer(tok) + [("x-client-meta", "abc"), ("x-client-bin", b"\x00\xff\x10")]
        payload = b"\x00\x01order-42\xff" * 100
        resp, call = self.unary().with_call(payload, metadata=md, timeout=10)
        data = json.loads(resp)
        self.assertEqual(data["request_len"], len(payload))
        self.assertEqual(data["request_sha256"], hashlib.sha256(payload).hexdigest())
        got = data["metadata"]
        self.assertEqual(metadata_values(got, "x-client-meta"), ["abc"])
        self.assertEqual(metadata_values(got, "x-client-bin"), ["b64:AP8Q"])
        self.assertEqual(metadata_values(got, "x-user-id"), ["unary-user"])
        self.assertEqual(metadata_values(got, "x-user-roles"), ["buyer"])
        self.assertEqual(len(metadata_values(got, "x-request-id")), 1)
        self.assertEqual(call.code(), grpc.StatusCode.OK)
        self.assertIn(("x-srv-initial", "hello"), [(m.key, m.value) for m in call.initial_metadata()])
        trailing = [(m.key, m.value) for m in call.trailing_metadata()]
        self.assertIn(("x-srv-trailer", "bye"), trailing)
        self.assertIn(("x-srv-trailer-bin", b"\x00\x01\xfe\xff"), trailing)

    def test_client_identity_metadata_stripped(self):
        md = bearer(self.token(sub="real-user")) + [("x-user-id", "admin"),
                                                    ("x-user-roles", "root"),
                                                    ("x-jwt-payload", "e30")]
        data = json.loads(self.unary()(b"", metadata=md, timeout=10))
        self.assertEqual(metadata_values(data["metadata"], "x-user-id"), ["real-user"])
        self.assertEqual(metadata_values(data["metadata"], "x-user-roles"), [])
        self.assertNotIn("e30", metadata_values(data["metadata"], "x-jwt-payload"))

    def test_client_streaming(self):
        msgs = [bytes([i % 256]) * (1000 + i * 37) for i in range(300)]
        fn = self.channel.stream_unary(SVC + "ClientStream")
        resp, call = fn.with_call(iter(msgs), metadata=bearer(self.token(sub="cs")), timeout=20)
        data = json.loads(resp)
        self.assertEqual(data["count"], len(msgs))
        self.assertEqual(data["total"], sum(len(m) for m in msgs))
        self.assertEqual(data["sha256"], hashlib.sha256(b"".join(msgs)).hexdigest())
        self.assertEqual(metadata_values(data["metadata"], "x-user-id"), ["cs"])
        self.assertIn(("x-srv-trailer", "client-stream-done"),
                      [(m.key, m.value) for m in call.trailing_metadata()])

    def test_server_streaming(self):
        fn = self.channel.unary_stream(SVC + "ServerStream")
        call = fn(json.dumps({"n": 500, "size": 2000}).encode(),
                  metadata=bearer(self.token(sub="ss")), timeout=20)
        got = list(call)
        self.assertEqual(len(got), 500)
        for i in (0, 1, 250, 499):
            self.assertEqual(got[i], server_stream_message(i, 2000))
        self.assertEqual(call.code(), grpc.StatusCode.OK)
        self.assertIn(("x-srv-trailer", "server-stream-done"),
                      [(m.key, m.value) for m in call.trailing_metadata()])

    def test_bidi_streaming_interleaved(self):
        fn = self.channel.stream_stream(SVC + "Bidi")
        sent = []
        replies = []
        cond = threading.Condition()

        def requests():
            for i in range(50):
                msg = b"ping-%03d" % i
                sent.append(msg)
                yield msg
                # Ping-pong: the next message only after this one's echo came back.
                with cond:
                    cond.wait_for(lambda: len(replies) > i, timeout=10)

        call = fn(requests(), metadata=bearer(self.token(sub="bidi")), timeout=30)
        for reply in call:
            with cond:
                replies.append(reply)
                cond.notify_all()
        self.assertEqual(replies, [b"echo:" + m for m in sent])
        self.assertEqual(call.code(), grpc.StatusCode.OK)
        self.assertIn(("x-srv-trailer", "bidi-done"),
                      [(m.key, m.value) for m in call.trailing_metadata()])

    def test_upstream_status_and_trailers_relayed(self):
        err = self.rpc_error(self.unary(SVC + "Fail"), b"", metadata=bearer(self.token()),
                             timeout=10)
        self.assertEqual(err.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(err.details(), "no such order")
        self.assertIn(("x-srv-trailer", "failed"),
                      [(m.key, m.value) for m in err.trailing_metadata()])

    def test_grpc_timeout_passes_through(self):
        fn = self.unary(SVC + "Sleep")
        data = json.loads(fn(b"0", metadata=bearer(self.token()), timeout=2.5))
        remaining = data["time_remaining"]
        self.assertIsNotNone(remaining, "the server saw no deadline: grpc-timeout was dropped")
        self.assertLess(remaining, 2.6)
        self.assertGreater(remaining, 0.5)
        # Past the deadline: DEADLINE_EXCEEDED, not a hang.
        start = time.monotonic()
        err = self.rpc_error(fn, b"3", metadata=bearer(self.token()), timeout=1.0)
        self.assertEqual(err.code(), grpc.StatusCode.DEADLINE_EXCEEDED, err)
        self.assertLess(time.monotonic() - start, 3.0)

    def test_concurrent_calls_keep_their_identity(self):
        fn = self.unary()
        futures = []
        for i in range(60):
            sub = "grpc-sub-%d" % (i % 12)
            futures.append((sub, fn.future(b"%d" % i, metadata=bearer(self.token(sub=sub))
                                           + [("x-user-id", "spoof")], timeout=20)))
        for sub, fut in futures:
            data = json.loads(fut.result())
            self.assertEqual(metadata_values(data["metadata"], "x-user-id"), [sub])

    def test_large_messages(self):
        big = bytes(range(256)) * (4 << 12)  # 4 MiB
        data = json.loads(self.unary()(big, metadata=bearer(self.token()), timeout=30))
        self.assertEqual(data["request_len"], len(big))
        self.assertEqual(data["request_sha256"], hashlib.sha256(big).hexdigest())

    def test_tls_listener_and_tls_upstream(self):
        channel = secure_channel(self.tls_gw.port, self.pki.ca_file)
        self.addCleanup(channel.close)
        data = json.loads(self.unary(PUBLIC + "Unary", channel)(b"x", timeout=10))
        self.assertEqual(metadata_values(data["metadata"], "x-user-id"), [])
        data = json.loads(self.unary(SVC + "Unary", channel)(
            b"x", metadata=bearer(self.token(sub="tls-grpc")), timeout=10))
        self.assertEqual(metadata_values(data["metadata"], "x-user-id"), ["tls-grpc"])
        err = self.rpc_error(self.unary(SVC + "Unary", channel), b"", timeout=10)
        self.assertEqual(err.code(), grpc.StatusCode.UNAUTHENTICATED)

    # -- the gateway's own answers ---------------------------------------------------

    def assertDenied(self, err, code, description, www=True):
        self.assertEqual(err.code(), code, "%s %r" % (err.code(), err.details()))
        if description is not None:
            self.assertEqual(err.details(), description)
        trailing = [(m.key, m.value) for m in (err.trailing_metadata() or ())]
        values = [v for k, v in trailing if k == "www-authenticate"]
        if www:
            self.assertEqual(len(values), 1, trailing)
            self.assertTrue(values[0].startswith("Bearer "), values)
        else:
            self.assertEqual(values, [], trailing)

    def test_missing_and_bad_tokens_unauthenticated(self):
        before = self.server.call_count()
        now = int(time.time())
        cases = {
            "missing": None,
            "forged": self.keys.mint_with_secret(self.keys.other_secret, sub="mallory"),
            "expired": self.keys.mint(sub="old", now=now - 3600, ttl=60),
            "garbage": "not.a.jwt",
        }
        for name, tok in cases.items():
            with self.subTest(case=name):
                description, h1 = self.http1_description(SVC + "Unary", tok)
                self.assertEqual(h1.status, 401, h1)
                err = self.rpc_error(self.unary(), b"", metadata=bearer(tok) if tok else None,
                                     timeout=10)
                self.assertDenied(err, grpc.StatusCode.UNAUTHENTICATED, description)
        self.assertEqual(self.server.call_count(), before, "a denied call reached the server")

    def test_wrong_scope_permission_denied(self):
        before = self.server.call_count()
        tok = self.token(scope="orders.read")
        description, h1 = self.http1_description(ADMIN + "Unary", tok)
        self.assertEqual(h1.status, 403, h1)
        err = self.rpc_error(self.unary(ADMIN + "Unary"), b"", metadata=bearer(tok), timeout=10)
        self.assertDenied(err, grpc.StatusCode.PERMISSION_DENIED, description)
        self.assertIn("insufficient_scope", [v for k, v in
                                             ((m.key, m.value) for m in err.trailing_metadata())
                                             if k == "www-authenticate"][0])
        self.assertEqual(self.server.call_count(), before)
        ok = self.unary(ADMIN + "Unary")(b"", metadata=bearer(self.token(scope="orders.admin")),
                                         timeout=10)
        self.assertIn(b"metadata", ok)

    def test_no_route_unimplemented(self):
        description, h1 = self.http1_description(NOWHERE)
        self.assertEqual(h1.status, 404, h1)
        err = self.rpc_error(self.unary(NOWHERE), b"", timeout=10)
        self.assertDenied(err, grpc.StatusCode.UNIMPLEMENTED, description, www=False)

    def test_upstream_down_unavailable(self):
        description, h1 = self.http1_description(DOWN + "Unary")
        self.assertEqual(h1.status, 502, h1)
        err = self.rpc_error(self.unary(DOWN + "Unary"), b"", timeout=10)
        self.assertDenied(err, grpc.StatusCode.UNAVAILABLE, description, www=False)

    def test_upstream_timeout_unavailable(self):
        # The server holds its response head for 3 s; the upstream's timeout is 1 s: 504.
        err = self.rpc_error(self.unary(SLOW + "Sleep"), b"3", timeout=10)
        self.assertDenied(err, grpc.StatusCode.UNAVAILABLE, None, www=False)

    def test_trailers_only_frames(self):
        # The denial is one HEADERS frame with END_STREAM: :status 200, content-type
        # application/grpc, grpc-status, grpc-message, www-authenticate.
        grpc_headers = [("content-type", "application/grpc"), ("te", "trailers")]
        cases = [
            (SVC + "Unary", None, "16", True),
            (SVC + "Unary", self.keys.mint_with_secret(self.keys.other_secret), "16", True),
            (ADMIN + "Unary", self.token(scope="orders.read"), "7", True),
            (NOWHERE, None, "12", False),
            (DOWN + "Unary", None, "14", False),
        ]
        with H2Client(self.gw.port) as c:
            for path, tok, status, www in cases:
                with self.subTest(path=path, grpc_status=status):
                    sid = c.start("POST", path, headers=grpc_headers, token=tok, end_stream=False)
                    c.send_body(sid, b"\x00\x00\x00\x00\x00")  # one empty message
                    resp = c.wait([sid])[0]
                    self.assertTrue(resp.done and resp.reset is None, resp)
                    self.assertEqual(resp.status, 200, resp)
                    self.assertTrue(resp.headers_ended_stream,
                                    "not trailers-only (HEADERS without END_STREAM): %r" % resp)
                    self.assertEqual(resp.length, 0, resp)
                    self.assertTrue(resp.header("content-type", "").startswith("application/grpc"),
                                    resp)
                    self.assertEqual(resp.header("grpc-status"), status, resp)
                    message = resp.header("grpc-message")
                    self.assertTrue(message, resp)
                    description, _ = self.http1_description(path, tok)
                    self.assertEqual(urllib.parse.unquote(message), description)
                    self.assertEqual(resp.header("www-authenticate") is not None, www, resp)

    def test_path_tricks_do_not_bypass_route_auth(self):
        # The public route goes to the TLS server; Admin needs a token with the
        # orders.admin scope. A :path that normalizes into Admin is judged as Admin.
        before = self.server.call_count()
        tls_before = self.tls_server.call_count()
        tricks = [PUBLIC + "../jwtgate.test.Admin/Unary",
                  PUBLIC + "%2e%2e/jwtgate.test.Admin/Unary",
                  PUBLIC + "./../../jwtgate.test.Admin/Unary",
                  "//jwtgate.test.Admin/Unary"]
        with H2Client(self.gw.port) as c:
            for path in tricks:
                with self.subTest(path=path):
                    sid = c.start("POST", path, headers=[("content-type", "application/grpc"),
                                                         ("te", "trailers")], end_stream=False)
                    c.send_body(sid, b"\x00\x00\x00\x00\x00")
                    resp = c.wait([sid])[0]
                    self.assertTrue(resp.done, resp)
                    if resp.reset is None:
                        self.assertEqual(resp.status, 200, resp)
                        self.assertIn(resp.header("grpc-status"), ("16", "13"), resp)
        self.assertEqual(self.server.call_count(), before, "a trick path reached Admin")
        self.assertEqual(self.tls_server.call_count(), tls_before)

    def test_grpc_proto_content_type_is_grpc(self):
        # content-type application/grpc+proto is gRPC too.
        with H2Client(self.gw.port) as c:
            sid = c.start("POST", SVC + "Unary", headers=[("content-type", "application/grpc+proto"),
                                                          ("te", "trailers")], end_stream=False)
            c.send_body(sid, b"\x00\x00\x00\x00\x00")
            resp = c.wait([sid])[0]
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(resp.header("grpc-status"), "16", resp)


class GrpcLimitsTest(GatewayTestCase):
    """Per-stream limits on gRPC calls: what the gateway answers itself is a
    trailers-only gRPC response (SPEC 9: 413/431 -> grpc-status 2), a cancelled
    call reaches the server as a cancellation, and a long server stream passes with
    bounded gateway memory."""

    @classmethod
    def setUpClass(cls):
        cls.server = GrpcTestServer()
        cls.addClassCleanup(cls.server.close)
        config = gateway_config({"grpc": {"url": cls.server.url, "protocol": "h2"}},
                                [{"name": "all", "path_prefix": "/", "upstream": "grpc",
                                  "auth": "none"}],
                                server={"max_header_bytes": 4096, "max_body_bytes": 1 << 20})
        cls.gw = start_gateway(cls, config)
        cls.channel = insecure_channel(cls.gw.port)
        cls.addClassCleanup(cls.channel.close)

    def tearDown(self):
        self.assertTrue(self.gw.alive(), "gateway died:\n" + self.gw.stderr_text()[-3000:])

    def grpc_stream(self, c, path, extra=(), body=b"\x00\x00\x00\x00\x00"):
        sid = c.start("POST", path, headers=[("content-type", "application/grpc"),
                                             ("te", "trailers")] + list(extra), end_stream=False)
        c.send_body(sid, body)
        return c.wait([sid])[0]

    def test_oversized_metadata(self):
        before = self.server.call_count()
        with H2Client(self.gw.port) as c:
            resp = self.grpc_stream(c, PUBLIC + "Unary", extra=[("x-big-bin", "A" * 8000)])
            self.assertTrue(resp.done, resp)
            if resp.reset is None:
                self.assertEqual(resp.status, 200, "431 for gRPC must be trailers-only: %r" % resp)
                self.assertTrue(resp.headers_ended_stream, resp)
                self.assertEqual(resp.header("grpc-status"), "2", resp)
                self.assertTrue(resp.header("grpc-message"), resp)
        self.assertEqual(self.server.call_count(), before)
        # grpcio's own view of it: an error, never OK.
        err = None
        try:
            self.channel.unary_unary(PUBLIC + "Unary")(b"", metadata=[("x-big", "v" * 8000)],
                                                         timeout=10)
        except grpc.RpcError as e:
            err = e
        self.assertIsNotNone(err, "an 8 KB header list passed max_header_bytes 4096")
        self.assertIn(err.code(), (grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAVAILABLE,
                                   grpc.StatusCode.INTERNAL, grpc.StatusCode.RESOURCE_EXHAUSTED))

    def test_oversized_message(self):
        before = self.server.call_count()
        big = b"\x00" + (2 << 20).to_bytes(4, "big") + b"m" * (2 << 20)
        with H2Client(self.gw.port) as c:
            resp = self.grpc_stream(c, PUBLIC + "Unary",
                                    extra=[("content-length", str(len(big)))], body=big)
            self.assertTrue(resp.done, resp)
            if resp.reset is None:
                self.assertEqual(resp.status, 200, "413 for gRPC must be trailers-only: %r" % resp)
                self.assertEqual(resp.header("grpc-status"), "2", resp)
        self.assertEqual(self.server.call_count(), before)
        ok = self.channel.unary_unary(PUBLIC + "Unary")(b"m" * 1000, timeout=10)
        self.assertEqual(json.loads(ok)["request_len"], 1000)

    def test_client_cancel_reaches_server(self):
        fn = self.channel.unary_unary(PUBLIC + "Sleep")
        fut = fn.future(b"3", timeout=20)
        deadline = time.monotonic() + 5
        while self.server.call_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        self.assertTrue(fut.cancel())
        with self.assertRaises(grpc.FutureCancelledError):
            fut.result()
        # The server learns of it (the gateway resets the upstream stream).
        deadline = time.monotonic() + 8
        while not self.server.sleep_active and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.server.sleep_active, [False],
                         "the cancelled call was still active on the server")
        # The channel and the gateway carry on.
        ok = self.channel.unary_unary(PUBLIC + "Unary")(b"after-cancel", timeout=10)
        self.assertEqual(json.loads(ok)["request_len"], len(b"after-cancel"))

    def test_long_server_stream_bounded_memory(self):
        # 200 messages of 512 KiB (100 MiB) read slowly at first.
        fn = self.channel.unary_stream(PUBLIC + "ServerStream")
        call = fn(json.dumps({"n": 200, "size": 512 * 1024}).encode(), timeout=120)
        peak = 0
        count = 0
        for msg in call:
            if count < 5:
                time.sleep(0.3)
            count += 1
            if count % 20 == 0:
                peak = max(peak, process_status(self.gw.proc.pid, "VmRSS"))
        self.assertEqual(count, 200)
        self.assertEqual(call.code(), grpc.StatusCode.OK)
        if not harness.SANITIZER:
            self.assertLess(peak, 150 << 20, "gateway VmRSS %.1f MiB" % (peak / 2**20))
        print("\ngRPC 100 MiB server stream: gateway VmRSS peak %.1f MiB" % (peak / 2**20))


if __name__ == "__main__":
    unittest.main()

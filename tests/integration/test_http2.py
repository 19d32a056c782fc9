"""HTTP/2 toward clients and upstreams (SPEC section 9, with sections 3-5 on every
stream): h2c with prior knowledge and h2 through TLS ALPN, `listen.http2: false`,
an HTTP/1.1 `Upgrade: h2c` not honoured, authorization and identity per stream
(no identity bleed across 50 concurrent streams), translation between HTTP/2 and
HTTP/1.1 both ways, trailers between HTTP/2 peers, per-stream limits and timeouts,
`server.max_concurrent_streams`, and large bodies both ways with bounded memory.

Clients: python3-h2 (frame-level control) and curl's nghttp2; upstreams: the
harness's HTTP/1.1 echo and an h2 echo on python3-h2.

JWTGATE_H2_BIG_BYTES (default 256 MiB, 32 MiB under a sanitizer) sets the size of
the large-body cases; set it to 1073741824 for the 1 GiB run of SPEC 9.
"""

import hashlib
import json
import os
import shutil
import signal
import threading
import tempfile
import time
import unittest

import harness
from harness import (LOCALHOST, EchoUpstream, GatewayTestCase, HttpConn, TestKeys, TestPKI,
                     _RawServer, echo_header, echo_json, gateway_config, pattern_chunks,
                     pattern_sha256, provider_config, read_requests, start_gateway)
from h2support import (CONNECTION_SPECIFIC, PROTOCOL_ERROR, REFUSED_STREAM,
                       SETTINGS_MAX_CONCURRENT_STREAMS, H2Client, H2EchoUpstream, RawH2,
                       RssSampler, curl_h2, h2_tls_context, headers_frame,
                       parse_metrics, process_status, protection_counters, request_headers)

# Sanitized binaries are several times slower: a smaller default there.
BIG = int(os.environ.get("JWTGATE_H2_BIG_BYTES",
                         str((32 << 20) if harness.SANITIZER else (256 << 20))))
RSS_LIMIT = 150 << 20
# What the large-body cases measured, printed at the end of the run.
MEASURED = {}


def h1_headers(data):
    return [(k.lower(), v) for k, v in data["headers"]]


class OddHttp1Upstream(_RawServer):
    """An HTTP/1.1 upstream with keep-alive that answers
      /hop...        200, chunked, with Connection: keep-alive, X-Hop / Keep-Alive /
                     Proxy-Connection / Upgrade / X-Hop fields (none may reach an
                     HTTP/2 client) and an end-to-end X-Kept field
      /odd/bigheaders a 12 KB field, 30 Set-Cookie fields and two Vary fields
      /status/N      status N without a body (204, 304)"""

    def serve(self, conn):
        for method, target, _ in read_requests(conn):
            with self.lock:
                self.hits += 1
            if target.startswith("/odd/bigheaders"):
                cookies = "".join("Set-Cookie: c%d=v%d; Path=/; HttpOnly\r\n" % (i, i)
                                  for i in range(30))
                conn.sendall(("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Big: %s\r\n%s"
                              "Vary: Accept\r\nVary: Origin\r\n\r\nok" % ("b" * 12000, cookies)).encode())
            elif target.startswith("/status/"):
                code = int(target.rsplit("/", 1)[1])
                reason = {204: "No Content", 304: "Not Modified"}.get(code, "X")
                conn.sendall(("HTTP/1.1 %d %s\r\nX-Status-Test: %d\r\nETag: \"v1\"\r\n\r\n"
                              % (code, reason, code)).encode())
            else:
                head_out = ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                            "Connection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5, max=100\r\n"
                            "Proxy-Connection: keep-alive\r\nUpgrade: example/1\r\n"
                            "X-Hop: secret\r\nX-Kept: yes\r\nTransfer-Encoding: chunked\r\n\r\n")
                body = b"" if method == "HEAD" else b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
                conn.sendall(head_out.encode() + body)


def base_routes():
    return [
        {"name": "public", "path_prefix": "/public", "upstream": "app", "auth": "none"},
        {"name": "download", "path_prefix": "/download", "upstream": "app", "auth": "none"},
        {"name": "admin", "path_prefix": "/admin", "upstream": "app",
         "auth": {"providers": ["corp"], "scopes": ["admin"]}},
        {"name": "maybe", "path_prefix": "/maybe", "upstream": "app",
         "auth": {"providers": ["corp"], "optional": True}},
        {"name": "hosted", "path_prefix": "/hosted", "host": "api.example.com",
         "upstream": "app", "auth": "none"},
        {"name": "api", "path_prefix": "/api", "upstream": "app",
         "auth": {"providers": ["corp"]}},
    ]


def corp_provider(keys):
    return provider_config(keys, token_from=[{"header": "Authorization", "prefix": "Bearer "},
                                             {"cookie": "access_token"}])


class H2TestCase(GatewayTestCase):
    gw = None
    config = None  # set by classes whose gateway is restarted after a crash

    def setUp(self):
        # A test that crashed the class's gateway fails in its tearDown; the next
        # tests get a fresh one, so one crash does not hide every other result.
        cls = type(self)
        if cls.config is not None and cls.gw is not None and not cls.gw.alive():
            cls.gw = start_gateway(cls, cls.config)

    def tearDown(self):
        if self.gw is not None:
            self.assertTrue(self.gw.alive(), "gateway died:\n" + self.gw.stderr_text()[-3000:])

    def h2(self, **kw):
        client = H2Client(self.gw.port, **kw)
        self.addCleanup(client.close)
        return client

    def assertAnswered(self, resp):
        """A complete response whose fields are valid HTTP/2 (RFC 9113 8.2)."""
        self.assertTrue(resp.done, "no answer on stream %d: %r" % (resp.stream_id, resp))
        self.assertIsNone(resp.reset, resp)
        self.assertIsNotNone(resp.headers, resp)
        self.assertH2Fields(resp.headers, resp)
        if resp.trailers:
            self.assertH2Fields(resp.trailers, resp, trailers=True)

    def assertH2Fields(self, fields, resp, trailers=False):
        names = [k for k, _ in fields]
        for name in names:
            self.assertEqual(name, name.lower(), "uppercase field name in HTTP/2: %r" % resp)
            self.assertNotIn(name, CONNECTION_SPECIFIC,
                             "connection-specific field in HTTP/2: %r" % resp)
        pseudo = [n for n in names if n.startswith(":")]
        if trailers:
            self.assertEqual(pseudo, [], "pseudo-header in trailers: %r" % resp)
        else:
            self.assertEqual(pseudo, [":status"], "response pseudo-headers: %r" % resp)
            self.assertEqual(names[0], ":status", "pseudo-header after a regular field: %r" % resp)

    def assertMalformed(self, resp, client):
        """RFC 9113 8.1.1: a malformed request is a stream error of type PROTOCOL_ERROR
        (an answer of 400 is accepted too), never forwarded."""
        self.assertTrue(resp.done or client.goaway is not None, resp)
        if resp.reset is not None:
            self.assertEqual(resp.reset, PROTOCOL_ERROR, resp)
        elif resp.headers is not None:
            self.assertEqual(resp.status, 400, resp)
        else:
            self.assertIsNotNone(client.goaway, resp)
            self.assertEqual(client.goaway[0], PROTOCOL_ERROR, client.goaway)


class Http2CleartextTest(H2TestCase):
    """h2c with prior knowledge on a plain listener in front of an HTTP/1.1 echo."""

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        cls.odd = OddHttp1Upstream()
        cls.addClassCleanup(cls.odd.close)
        routes = base_routes() + [
            {"name": "odd", "path_prefix": "/odd", "upstream": "odd", "auth": "none"},
            {"name": "status", "path_prefix": "/status", "upstream": "odd", "auth": "none"},
            {"name": "spa", "path_prefix": "/spa", "upstream": "app",
             "auth": {"providers": ["corp"]},
             "cors": {"allow_origins": ["https://app.example.com"], "allow_methods": ["GET"]}},
        ]
        cls.config = gateway_config({"app": cls.app.url, "odd": cls.odd.url}, routes,
                                    providers={"corp": corp_provider(cls.keys)},
                                    forward_auth={"path": "/_auth"})
        cls.gw = start_gateway(cls, cls.config)

    # -- connection ------------------------------------------------------------------

    def test_prior_knowledge_settings_and_request(self):
        c = self.h2()
        self.assertTrue(c.wait_settings(), "no SETTINGS frame after the client preface")
        self.assertEqual(c.remote_settings.get(SETTINGS_MAX_CONCURRENT_STREAMS), 100,
                         "default server.max_concurrent_streams: %r" % c.remote_settings)
        resp = c.get("/public/hello?x=1")
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.header("x-upstream"), "echo")
        data = resp.json()
        self.assertEqual(data["path"], "/public/hello")
        self.assertEqual(data["query"], "x=1")
        self.assertEqual(data["version"], "HTTP/1.1")
        self.assertEqual(echo_header(echo_json_from(data), "X-Forwarded-Proto"), ["http"])
        self.assertEqual(echo_header(echo_json_from(data), "X-Forwarded-For"), ["127.0.0.1"])
        resp = c.get("/public/xff", headers=[("x-forwarded-for", "10.1.2.3")])
        self.assertEqual(echo_header(echo_json_from(resp.json()), "X-Forwarded-For"),
                         ["10.1.2.3, 127.0.0.1"])
        self.assertTrue(c.ping(), "no PING ACK")

    def test_curl_prior_knowledge(self):
        res = curl_h2("http://%s:%d/public/curl" % (LOCALHOST, self.gw.port), timeout=20)
        self.assertEqual(res.returncode, 0, res)
        self.assertEqual(res.http_version, "2", res)
        self.assertEqual(res.status, 200, res)
        self.assertIn(b'"/public/curl"', res.head)

    def test_http1_still_served_on_the_listener(self):
        resp = self.gw.get("/public/h1")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(echo_json(resp)["path"], "/public/h1")

    def test_upgrade_h2c_not_honoured(self):
        before = len(self.app.requests)
        with self.gw.connect() as conn:
            resp = conn.request("GET", "/public/upgrade", headers=[
                ("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"),
                ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")])
            self.assertEqual(resp.version, "HTTP/1.1", resp)
            self.assertEqual(resp.status, 200, resp)
            data = echo_json(resp)
            for name in ("upgrade", "http2-settings", "connection"):
                self.assertEqual(echo_header(data, name), [], data["headers"])
            # Still HTTP/1.1 on the same connection afterwards.
            again = conn.request("GET", "/public/after-upgrade")
            self.assertEqual(again.version, "HTTP/1.1")
            self.assertEqual(again.status, 200, again)
        self.assertEqual(len(self.app.requests), before + 2)

    # -- authorization per stream ----------------------------------------------------

    def test_valid_token_injects_identity(self):
        c = self.h2()
        tok = self.keys.mint(sub="h2-alice", realm_access={"roles": ["a", "b"]})
        resp = c.get("/api/orders", token=tok)
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        data = echo_json_from(resp.json())
        self.assertEqual(echo_header(data, "X-User-Id"), ["h2-alice"])
        self.assertEqual(echo_header(data, "X-User-Roles"), ["a,b"])
        self.assertEqual(len(echo_header(data, "X-Jwt-Payload")), 1)
        self.assertEqual(len(echo_header(data, "X-Request-Id")), 1)

    def test_denials_match_http1(self):
        now = int(time.time())
        cases = {
            "missing": (None, 401, "missing_token", "missing_token", "/api/x"),
            "expired": (self.keys.mint(sub="old", now=now - 3600, ttl=60), 401, "invalid_token",
                        "expired", "/api/x"),
            "forged": (self.keys.mint_with_secret(self.keys.other_secret, sub="mallory"), 401,
                       "invalid_token", "bad_signature", "/api/x"),
            "garbage": ("not-a-jwt", 401, "invalid_token", "malformed", "/api/x"),
            "scope": (self.keys.mint(sub="u", scope="read"), 403, "insufficient_scope",
                      "insufficient_scope", "/admin/x"),
        }
        c = self.h2()
        before = len(self.app.requests)
        for name, (tok, status, error, reason, path) in cases.items():
            with self.subTest(case=name):
                resp = c.get(path, token=tok)
                self.assertAnswered(resp)
                body = self.assertAuthError(resp, status, error, reason)
                h1 = self.gw.get(path, token=tok)
                self.assertEqual(resp.header("www-authenticate"), h1.header("WWW-Authenticate"))
                self.assertEqual(body, h1.json())
                if name == "missing":
                    self.assertEqual(resp.header("www-authenticate"), 'Bearer realm="jwtgate"')
                if name == "scope":
                    self.assertIn('scope="admin"', resp.header("www-authenticate"))
        seen = self.app.paths_seen()[before:]
        self.assertNotIn("/api/x", seen, "a denied stream reached the upstream")
        self.assertNotIn("/admin/x", seen, "a denied stream reached the upstream")
        resp = c.get("/admin/ok", token=self.keys.mint(sub="root", scope="read admin"))
        self.assertEqual(resp.status, 200, resp)

    def test_two_authorization_fields_are_400(self):
        # SPEC 4: more than one Authorization header is 400, on every route.
        c = self.h2()
        before = len(self.app.requests)
        tok = self.keys.mint(sub="double")
        for path in ("/api/double", "/public/double"):
            with self.subTest(path=path):
                resp = c.get(path, headers=[("authorization", "Bearer " + tok),
                                            ("authorization", "Bearer " + tok)])
                self.assertTrue(resp.done, resp)
                if resp.reset is None:
                    self.assertEqual(resp.status, 400, resp)
        seen = self.app.paths_seen()[before:]
        self.assertNotIn("/api/double", seen)
        self.assertNotIn("/public/double", seen)

    def test_connect_is_not_tunnelled(self):
        c = self.h2()
        before = len(self.app.requests)
        sid = c.start(None, None, pseudo=[(":method", "CONNECT"),
                                          (":authority", "127.0.0.1:%d" % self.app.port)],
                      end_stream=False)
        resp = c.wait([sid], timeout=5)[0]
        self.assertTrue(resp.done or resp.headers is not None, resp)
        self.assertNotEqual(resp.status, 200, "CONNECT opened a tunnel: %r" % resp)
        self.assertEqual(len(self.app.requests), before)

    def metric(self, name):
        for n, labels, value in parse_metrics(self.gw.admin_get("/metrics").body.decode()):
            if n == name and not labels:
                return value
        self.fail("no %s in /metrics" % name)

    def wait_metric(self, name, want, timeout=5.0):
        deadline = time.monotonic() + timeout
        value = self.metric(name)
        while value != want and time.monotonic() < deadline:
            time.sleep(0.1)
            value = self.metric(name)
        return value

    def test_http2_connection_and_stream_metrics(self):
        time.sleep(0.3)  # connections of earlier tests are closed by their cleanups
        open_before = self.metric("jwtgate_http2_connections")
        streams_before = self.metric("jwtgate_http2_streams_total")
        c = H2Client(self.gw.port)
        sids = [c.start("GET", "/public/metric/%d" % i) for i in range(7)]
        for r in c.wait(sids):
            self.assertEqual(r.status, 200, r)
        self.assertEqual(self.wait_metric("jwtgate_http2_connections", open_before + 1),
                         open_before + 1)
        self.assertGreaterEqual(self.metric("jwtgate_http2_streams_total") - streams_before, 7)
        c.close()
        self.assertEqual(self.wait_metric("jwtgate_http2_connections", open_before),
                         open_before, "closed HTTP/2 connection still counted")

    def test_no_route_is_404(self):
        c = self.h2()
        resp = c.get("/nowhere/x")
        self.assertAnswered(resp)
        self.assertErrorReply(resp, 404, resp.json().get("error"))
        self.assertEqual(resp.status, 404)

    def test_path_normalized_before_routing(self):
        c = self.h2()
        resp = c.get("/public/../api/secret")
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 401, resp)
        resp = c.get("/public/a/.//b/%7Euser")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["path"], "/public/a/b/~user")
        resp = c.get("/public/a%2Fb")
        self.assertEqual(resp.status, 400, resp)

    def test_client_identity_headers_stripped(self):
        c = self.h2()
        spoof = [("x-user-id", "admin"), ("x-user-roles", "root"), ("x-jwt-payload", "e30"),
                 ("x-tenant", "other")]
        resp = c.get("/api/x", headers=spoof, token=self.keys.mint(sub="real"))
        self.assertEqual(resp.status, 200, resp)
        data = echo_json_from(resp.json())
        self.assertEqual(echo_header(data, "X-User-Id"), ["real"])
        self.assertEqual(echo_header(data, "X-User-Roles"), [])
        self.assertEqual(echo_header(data, "X-Tenant"), [])
        self.assertNotIn("e30", echo_header(data, "X-Jwt-Payload"))
        # Anonymous on an optional route: still stripped.
        resp = c.get("/maybe/x", headers=spoof)
        self.assertEqual(resp.status, 200, resp)
        data = echo_json_from(resp.json())
        for name in ("X-User-Id", "X-User-Roles", "X-Jwt-Payload", "X-Tenant"):
            self.assertEqual(echo_header(data, name), [], name)

    def test_concurrent_streams_keep_their_own_identity(self):
        c = self.h2()
        self.assertTrue(c.wait_settings())
        subjects = ["subject-%02d" % i for i in range(10)]
        tokens = {s: self.keys.mint(sub=s, alg=("HS256", "RS256", "ES256")[i % 3])
                  for i, s in enumerate(subjects)}
        expected = {}
        for i in range(50):
            sub = subjects[(i * 7) % 10]
            sid = c.start("GET", "/api/who/%d" % i, token=tokens[sub],
                          headers=[("x-user-id", "spoof-%d" % i)])
            expected[sid] = ("/api/who/%d" % i, [sub])
        # Anonymous and forged streams interleaved on the same connection.
        for i in range(5):
            sid = c.start("GET", "/maybe/anon/%d" % i)
            expected[sid] = ("/maybe/anon/%d" % i, [])
        forged = set()
        for i in range(5):
            sid = c.start("GET", "/api/forged/%d" % i,
                          token=self.keys.mint_with_secret(self.keys.other_secret, sub="mallory"))
            forged.add(sid)
        results = c.wait(list(expected) + sorted(forged), timeout=30)
        request_ids = []
        for r in results:
            self.assertAnswered(r)
            if r.stream_id in forged:
                self.assertEqual(r.status, 401, r)
                continue
            self.assertEqual(r.status, 200, r)
            data = echo_json_from(r.json())
            path, ids = expected[r.stream_id]
            self.assertEqual(data["path"], path)
            self.assertEqual(echo_header(data, "X-User-Id"), ids, "identity bleed on %s" % path)
            request_ids.extend(echo_header(data, "X-Request-Id"))
        self.assertEqual(len(set(request_ids)), len(expected), "X-Request-Id shared between streams")

    def test_forward_auth_decision_over_h2(self):
        c = self.h2()
        tok = self.keys.mint(sub="fa-user")
        fa = [("x-forwarded-method", "GET"), ("x-forwarded-uri", "/api/orders?id=1")]
        resp = c.get("/_auth", headers=fa, token=tok)
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.header("x-user-id"), "fa-user")
        resp = c.get("/_auth", headers=fa)
        self.assertAuthError(resp, 401, "missing_token", "missing_token")

    def test_cors_preflight_over_h2(self):
        c = self.h2()
        resp = c.request("OPTIONS", "/spa/items", headers=[
            ("origin", "https://app.example.com"), ("access-control-request-method", "GET")])
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 204, resp)
        self.assertEqual(resp.header("access-control-allow-origin"), "https://app.example.com")
        denied = c.get("/spa/items", headers=[("origin", "https://app.example.com")])
        self.assertEqual(denied.status, 401, denied)
        self.assertEqual(denied.header("access-control-allow-origin"), "https://app.example.com")

    def test_client_flow_control_windows_respected(self):
        # A 16 KiB stream window and the default 64 KiB connection window: the
        # gateway must wait for WINDOW_UPDATEs, never overrun them.
        size = 3 * 1024 * 1024
        c = self.h2(window=16384)
        resp = c.get("/download/%d" % size, keep_body=False, timeout=60)
        self.assertIsNone(c.protocol_error, "the gateway overran a flow-control window")
        self.assertAnswered(resp)
        self.assertEqual(resp.length, size)
        self.assertEqual(resp.sha256, pattern_sha256(size))

    def test_identity_across_connections_under_load(self):
        # 4 connections at once, 3 rounds of 90 streams each, 36 subjects, tokens
        # reused (the verified-token cache) and some anonymous: every answer carries
        # exactly its own stream's identity.
        tokens = {"load-%02d" % i: self.keys.mint(sub="load-%02d" % i,
                                                  alg=("HS256", "RS256", "ES256")[i % 3])
                  for i in range(36)}
        subjects = sorted(tokens)
        errors = []

        def worker(w):
            try:
                with H2Client(self.gw.port, timeout=30) as c:
                    for rnd in range(3):
                        expected = {}
                        for i in range(90):
                            n = (w * 7 + rnd * 13 + i * 5) % 40
                            if n >= 36:
                                sid = c.start("GET", "/maybe/w%d/r%d/%d" % (w, rnd, i),
                                              headers=[("x-user-id", "spoof")])
                                expected[sid] = []
                            else:
                                sid = c.start("GET", "/api/w%d/r%d/%d" % (w, rnd, i),
                                              token=tokens[subjects[n]])
                                expected[sid] = [subjects[n]]
                        for r in c.wait(list(expected), timeout=30):
                            if not r.done or r.status != 200:
                                errors.append("w%d: %r" % (w, r))
                                continue
                            got = echo_header(echo_json_from(r.json()), "X-User-Id")
                            if got != expected[r.stream_id]:
                                errors.append("w%d stream %d: want %r got %r"
                                              % (w, r.stream_id, expected[r.stream_id], got))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append("w%d: %r" % (w, e))

        threads = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        self.assertFalse(any(t.is_alive() for t in threads), "a worker did not finish")
        self.assertEqual(errors[:10], [], "%d bad answers" % len(errors))

    # -- translation -----------------------------------------------------------------

    def test_authority_becomes_host(self):
        c = self.h2()
        resp = c.get("/public/auth", authority="shop.example:8443")
        self.assertEqual(resp.status, 200, resp)
        data = echo_json_from(resp.json())
        self.assertEqual(echo_header(data, "Host"), ["shop.example:8443"])
        self.assertEqual(echo_header(data, "X-Forwarded-Host"), ["shop.example:8443"])
        for name in (":authority", ":method", ":path", ":scheme"):
            self.assertEqual(echo_header(data, name), [])

    def test_route_host_matched_from_authority(self):
        c = self.h2()
        ok = c.get("/hosted/a", authority="api.example.com")
        self.assertEqual(ok.status, 200, ok)
        other = c.get("/hosted/a", authority="www.example.com")
        self.assertEqual(other.status, 404, other)

    def test_host_field_without_authority(self):
        # RFC 9113 8.3.1: a request may carry Host instead of :authority.
        c = self.h2()
        sid = c.start(None, None, pseudo=[(":method", "GET"), (":scheme", "http"),
                                          (":path", "/hosted/h")],
                      headers=[("host", "api.example.com")])
        resp = c.wait([sid])[0]
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(echo_header(echo_json_from(resp.json()), "Host"), ["api.example.com"])

    def test_authority_and_host_disagreeing(self):
        # Routed by one name, forwarded with another, would bypass `host` routes:
        # either malformed, or the upstream sees exactly the name that was routed.
        c = self.h2()
        before = len(self.app.requests)
        resp = c.get("/hosted/x", authority="api.example.com", headers=[("host", "evil.example")])
        self.assertTrue(resp.done, resp)
        if resp.reset is None and resp.status == 200:
            self.assertEqual(echo_header(echo_json_from(resp.json()), "Host"), ["api.example.com"])
        else:
            self.assertTrue(resp.reset == PROTOCOL_ERROR or resp.status in (400, 404), resp)
        resp = c.get("/hosted/y", authority="evil.example", headers=[("host", "api.example.com")])
        self.assertTrue(resp.done, resp)
        if resp.reset is None and resp.status == 200:
            self.assertEqual(echo_header(echo_json_from(resp.json()), "Host"), ["api.example.com"],
                             "routed by the host field, forwarded with another name")
        for req in self.app.requests[before:]:
            hosts = [v for k, v in req["headers"] if k.lower() == "host"]
            self.assertEqual(len(hosts), 1, req)

    def test_split_cookies_are_joined(self):
        c = self.h2()
        resp = c.get("/public/cookies", headers=[("cookie", "a=1"), ("cookie", "b=2"),
                                                 ("cookie", "c=3")])
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(echo_header(echo_json_from(resp.json()), "Cookie"), ["a=1; b=2; c=3"])

    def test_token_from_a_split_cookie(self):
        c = self.h2()
        tok = self.keys.mint(sub="cookie-user")
        resp = c.get("/api/c", headers=[("cookie", "theme=dark"),
                                        ("cookie", "access_token=" + tok), ("cookie", "z=1")])
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(echo_header(echo_json_from(resp.json()), "X-User-Id"), ["cookie-user"])

    def test_connection_specific_request_fields_are_malformed(self):
        cases = [("connection", "keep-alive"), ("keep-alive", "timeout=5"),
                 ("proxy-connection", "keep-alive"), ("transfer-encoding", "chunked"),
                 ("upgrade", "websocket"), ("te", "gzip")]
        c = self.h2()
        before = len(self.app.requests)
        for name, value in cases:
            with self.subTest(field=name):
                resp = c.get("/public/conn-specific", headers=[(name, value)])
                self.assertMalformed(resp, c)
        self.assertNotIn("/public/conn-specific", self.app.paths_seen()[before:],
                         "a malformed stream was forwarded")
        # Stream errors, not connection errors: the connection still serves.
        self.assertEqual(c.get("/public/after").status, 200)

    def test_malformed_pseudo_headers(self):
        cases = {
            "no :path": [(":method", "GET"), (":scheme", "http"), (":authority", "x")],
            "no :method": [(":scheme", "http"), (":authority", "x"), (":path", "/public/p")],
            "unknown pseudo": [(":method", "GET"), (":scheme", "http"), (":authority", "x"),
                               (":path", "/public/p"), (":bogus", "1")],
            "pseudo after regular": [(":method", "GET"), (":scheme", "http"),
                                     ("x-a", "1"), (":authority", "x"), (":path", "/public/p")],
            "uppercase name": [(":method", "GET"), (":scheme", "http"), (":authority", "x"),
                               (":path", "/public/p"), ("X-Upper", "1")],
            "duplicate :path": [(":method", "GET"), (":scheme", "http"), (":authority", "x"),
                                (":path", "/public/p"), (":path", "/api/p")],
        }
        before = len(self.app.requests)
        for name, pseudo in cases.items():
            with self.subTest(case=name):
                c = self.h2()
                sid = c.start(None, None, pseudo=pseudo)
                resp = c.wait([sid])[0]
                self.assertMalformed(resp, c)
        seen = self.app.paths_seen()[before:]
        self.assertNotIn("/public/p", seen, "a malformed stream was forwarded")
        self.assertNotIn("/api/p", seen, "a malformed stream was forwarded")

    # -- HTTP/2 to HTTP/1.1 desync and injection --------------------------------------

    def assertNothingSmuggled(self, before):
        paths = self.app.paths_seen()[before:]
        self.assertNotIn("/public/smuggled", paths, "a request was smuggled to the upstream")
        for req in self.app.requests[before:]:
            names = [k.lower() for k, _ in req["headers"]]
            self.assertNotIn("x-injected", names, "a header was injected: %r" % req)

    def test_content_length_disagreeing_with_data_is_malformed(self):
        smuggled = b"GET /public/smuggled HTTP/1.1\r\nHost: x\r\nX-Injected: 1\r\n\r\n"
        before = len(self.app.requests)
        for name, declared, body in (("longer", 5, b"hello" + smuggled),
                                     ("shorter", 100, b"hello")):
            with self.subTest(data=name):
                c = self.h2()
                sid = c.start("POST", "/public/cl", headers=[("content-length", str(declared))],
                              end_stream=False)
                c.send_body(sid, body)
                resp = c.wait([sid])[0]
                # RFC 9113 8.1.1: malformed. A 200 would mean the upstream got a body
                # other than the one declared.
                self.assertTrue(resp.done, resp)
                if resp.reset is None and resp.headers is not None and resp.status == 200:
                    self.fail("content-length %d with %d DATA bytes was proxied: %r"
                              % (declared, len(body), resp))
                self.assertMalformed(resp, c)
                # The upstream connection is not poisoned: the next requests are intact.
                for i in range(3):
                    ok = c.get("/public/after-cl/%d" % i) if not c.closed else self.h2().get(
                        "/public/after-cl/%d" % i)
                    self.assertEqual(ok.status, 200, ok)
                    self.assertEqual(ok.json()["path"], "/public/after-cl/%d" % i)
        time.sleep(0.3)
        self.assertNothingSmuggled(before)

    def test_forbidden_characters_in_fields_are_malformed(self):
        # RFC 9113 8.2.1: CR, LF, NUL in values, or whitespace at either end;
        # uppercase, whitespace or ':' in names. Forwarded to HTTP/1.1 they would
        # inject fields or requests.
        cases = {
            "crlf in value": [("x-a", "ok\r\nX-Injected: yes")],
            "lf in value": [("x-a", "ok\nX-Injected: yes")],
            "nul in value": [("x-a", "ok\x00bad")],
            "leading space": [("x-a", " padded")],
            "trailing tab": [("x-a", "padded\t")],
            "space in name": [("x a", "1")],
            "colon in name": [("x:a", "1")],
            "crlf in name": [("x-a\r\nx-injected", "1")],
            "empty name": [("", "1")],
        }
        before = len(self.app.requests)
        c = self.h2()
        for name, fields in cases.items():
            with self.subTest(case=name):
                if c.closed or c.goaway is not None:
                    c = self.h2()
                resp = c.get("/public/fields", headers=fields)
                self.assertMalformed(resp, c)
        self.assertNothingSmuggled(before)
        self.assertNotIn("/public/fields", self.app.paths_seen()[before:])

    def test_injection_through_pseudo_headers(self):
        inject = " HTTP/1.1\r\nX-Injected: yes\r\n\r\nGET /public/smuggled"
        cases = {
            ":path": [(":method", "GET"), (":scheme", "http"), (":authority", "gateway.test"),
                      (":path", "/public/x" + inject)],
            ":method": [(":method", "GET /public/smuggled HTTP/1.1\r\nX-Injected: yes\r\n\r\nGET"),
                        (":scheme", "http"), (":authority", "gateway.test"), (":path", "/public/x")],
            ":authority": [(":method", "GET"), (":scheme", "http"),
                           (":authority", "gateway.test\r\nX-Injected: yes"), (":path", "/public/x")],
            "empty :path": [(":method", "GET"), (":scheme", "http"),
                            (":authority", "gateway.test"), (":path", "")],
            "path not starting with /": [(":method", "GET"), (":scheme", "http"),
                                         (":authority", "gateway.test"), (":path", "public/x")],
        }
        before = len(self.app.requests)
        for name, pseudo in cases.items():
            with self.subTest(case=name):
                c = self.h2()
                sid = c.start(None, None, pseudo=pseudo)
                resp = c.wait([sid])[0]
                self.assertTrue(resp.done or c.goaway is not None, resp)
                self.assertFalse(resp.status == 200, "injection was proxied: %r" % resp)
                self.assertMalformed(resp, c)
        time.sleep(0.3)
        self.assertNothingSmuggled(before)

    def test_access_log_has_each_stream(self):
        c = self.h2()
        tok = self.keys.mint(sub="logged-h2")
        sids = [c.start("GET", "/api/logged/%d" % i, token=tok) for i in range(3)]
        c.wait(sids)
        def logged(lines):
            return sum('"/api/logged/' in line for line in lines) >= 3
        lines = self.gw.wait_for_output(logged, timeout=5.0, stream="stdout")
        self.assertIsNotNone(lines, "no access-log line per HTTP/2 stream")
        entries = [e for e in self.gw.access_log() if str(e.get("path", "")).startswith("/api/logged/")]
        self.assertEqual(sorted(e["path"] for e in entries),
                         ["/api/logged/0", "/api/logged/1", "/api/logged/2"])
        for e in entries:
            self.assertEqual(e.get("status"), 200, e)
            self.assertEqual(e.get("subject"), "logged-h2", e)
        self.assertTokenNotLogged(self.gw, tok)

    def test_te_trailers_is_allowed(self):
        c = self.h2()
        resp = c.get("/public/te", headers=[("te", "trailers")])
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)

    def test_connection_specific_response_fields_not_relayed(self):
        c = self.h2()
        resp = c.get("/odd/hop")
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        names = [k.lower() for k, _ in resp.headers]
        for name in CONNECTION_SPECIFIC + ("x-hop",):
            self.assertNotIn(name, names, resp.headers)
        self.assertEqual(resp.header("x-kept"), "yes")
        self.assertEqual(bytes(resp.body), b"hello world")
        self.assertTrue(resp.ended)

    def test_large_response_head_and_set_cookies(self):
        c = self.h2()
        resp = c.get("/odd/bigheaders")
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.header("x-big"), "b" * 12000)
        self.assertEqual(resp.header_all("set-cookie"),
                         ["c%d=v%d; Path=/; HttpOnly" % (i, i) for i in range(30)],
                         "Set-Cookie fields must stay separate (RFC 9113 8.2.3 is for cookie only)")
        self.assertEqual(", ".join(resp.header_all("vary")), "Accept, Origin")
        self.assertEqual(bytes(resp.body), b"ok")

    def test_expect_100_continue(self):
        c = self.h2()
        body = b"e" * 50000
        sid = c.start("POST", "/public/expect", headers=[("expect", "100-continue"),
                                                        ("content-length", str(len(body)))],
                      end_stream=False)
        deadline = time.monotonic() + 1.5
        r = c.streams[sid]
        while not r.informational and r.headers is None and time.monotonic() < deadline:
            c.pump(0.2)
        self.assertIsNone(r.headers, "a final answer before the body: %r" % r)
        for head in r.informational:
            self.assertEqual(dict(head).get(":status"), "100", r.informational)
        c.send_body(sid, body)
        resp = c.wait([sid])[0]
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["body_length"], len(body))

    def test_head(self):
        c = self.h2()
        resp = c.request("HEAD", "/download/1000")
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.length, 0, resp)
        self.assertEqual(resp.header("content-length"), "1000")
        resp = c.request("HEAD", "/odd/hop")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.length, 0, resp)
        self.assertEqual(c.get("/public/after-head").status, 200)

    def test_204_and_304_have_no_body(self):
        c = self.h2()
        for code in (204, 304):
            with self.subTest(status=code):
                resp = c.get("/status/%d" % code)
                self.assertAnswered(resp)
                self.assertEqual(resp.status, code, resp)
                self.assertEqual(resp.length, 0, resp)
                self.assertEqual(resp.header("x-status-test"), str(code))
                self.assertTrue(resp.ended)
        self.assertEqual(c.get("/public/after-204").status, 200)

    def test_bodies_both_ways(self):
        size = 5 * 1024 * 1024 + 123
        body = b"".join(pattern_chunks(size))
        c = self.h2()
        resp = c.request("POST", "/public/upload", headers=[("content-type", "application/x-bin"),
                                                            ("content-length", str(size))],
                         body=body, timeout=60)
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        data = resp.json()
        self.assertEqual(data["method"], "POST")
        self.assertEqual(data["body_length"], size)
        self.assertEqual(data["body_sha256"], hashlib.sha256(body).hexdigest())
        # Without content-length: the gateway frames it for the HTTP/1.1 upstream.
        resp = c.request("PUT", "/public/upload2", body=[body[:1000000], body[1000000:]],
                         timeout=60)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["body_length"], size)
        self.assertEqual(resp.json()["body_sha256"], hashlib.sha256(body).hexdigest())
        for query in ("", "?chunked=1"):
            with self.subTest(download=query or "content-length"):
                resp = c.get("/download/%d%s" % (size, query), keep_body=False, timeout=60)
                self.assertAnswered(resp)
                self.assertEqual(resp.status, 200, resp)
                self.assertEqual(resp.length, size)
                self.assertEqual(resp.sha256, pattern_sha256(size))
                self.assertTrue(resp.ended)

    def test_many_streams_with_bodies_interleaved(self):
        c = self.h2()
        self.assertTrue(c.wait_settings())
        sids = {}
        for i in range(20):
            size = 40000 + i * 1000
            sid = c.start("POST", "/public/multi/%d" % i, end_stream=False)
            sids[sid] = size
        for sid, size in sids.items():
            c.send_body(sid, b"".join(pattern_chunks(size)))
        for r in c.wait(list(sids), timeout=30):
            self.assertAnswered(r)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["body_length"], sids[r.stream_id])
            self.assertEqual(r.json()["body_sha256"], pattern_sha256(sids[r.stream_id]))


def echo_json_from(data):
    """The HTTP/1 echo's JSON (already decoded) with its case-insensitive view."""
    data = dict(data)
    data["headers_lower"] = [(k.lower(), v) for k, v in data["headers"]]
    return data


class Http2TlsTest(H2TestCase):
    """h2 through ALPN on a TLS listener; http/1.1 still negotiable."""

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.dir = tempfile.mkdtemp(prefix="jwtgate-h2tls-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.pki = TestPKI(cls.dir, "h2 listener CA")
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        config = gateway_config({"app": cls.app.url}, base_routes(),
                                providers={"corp": corp_provider(cls.keys)},
                                listen_tls={"cert_file": cls.pki.cert_file,
                                            "key_file": cls.pki.key_file})
        cls.gw = start_gateway(cls, config)

    def test_alpn_h2(self):
        c = self.h2(tls_context=h2_tls_context(self.pki, ("h2", "http/1.1")))
        self.assertEqual(c.alpn, "h2")
        tok = self.keys.mint(sub="tls-h2")
        resp = c.get("/api/x", token=tok, scheme="https")
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        data = echo_json_from(resp.json())
        self.assertEqual(echo_header(data, "X-User-Id"), ["tls-h2"])
        self.assertEqual(echo_header(data, "X-Forwarded-Proto"), ["https"])
        resp = c.get("/api/x", scheme="https")
        self.assertAuthError(resp, 401, "missing_token", "missing_token")

    def test_bodies_over_tls(self):
        size = 48 * 1024 * 1024
        common = ["--cacert", self.pki.ca_file, "--resolve",
                  "localhost:%d:%s" % (self.gw.port, LOCALHOST)]
        down = curl_h2("https://localhost:%d/download/%d" % (self.gw.port, size), args=common,
                       prior_knowledge=False, timeout=120)
        self.assertEqual(down.returncode, 0, down)
        self.assertEqual(down.http_version, "2", down)
        self.assertEqual(down.length, size)
        self.assertEqual(down.sha256, pattern_sha256(size))
        up = curl_h2("https://localhost:%d/public/up" % self.gw.port, args=common,
                     upload=pattern_chunks(size, size=1 << 20), prior_knowledge=False,
                     timeout=120)
        self.assertEqual(up.returncode, 0, up)
        self.assertEqual(up.http_version, "2", up)
        self.assertEqual(up.status, 200, up)
        data = json.loads(up.head)
        self.assertEqual(data["body_length"], size)
        self.assertEqual(data["body_sha256"], pattern_sha256(size))
        # Many streams at once over one TLS connection.
        c = self.h2(tls_context=h2_tls_context(self.pki))
        sids = [c.start("GET", "/download/%d" % (300000 + i), scheme="https", keep_body=False)
                for i in range(20)]
        for i, r in enumerate(c.wait(sids, timeout=60)):
            self.assertAnswered(r)
            self.assertEqual(r.length, 300000 + i)
            self.assertEqual(r.sha256, pattern_sha256(300000 + i))

    def test_alpn_http11_only(self):
        ctx = h2_tls_context(self.pki, ("http/1.1",))
        with HttpConn(LOCALHOST, self.gw.port, tls_context=ctx) as conn:
            self.assertIn(conn.sock.selected_alpn_protocol(), (None, "http/1.1"))
            resp = conn.request("GET", "/public/h1")
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(resp.version, "HTTP/1.1")

    def test_no_alpn_is_http11(self):
        with HttpConn(LOCALHOST, self.gw.port, tls_context=self.pki.client_context()) as conn:
            resp = conn.request("GET", "/public/noalpn")
            self.assertEqual(resp.status, 200, resp)

    def test_curl_alpn(self):
        res = curl_h2("https://localhost:%d/public/curl-tls" % self.gw.port,
                      args=["--cacert", self.pki.ca_file, "--resolve",
                            "localhost:%d:%s" % (self.gw.port, LOCALHOST)],
                      prior_knowledge=False, timeout=20)
        self.assertEqual(res.returncode, 0, res)
        self.assertEqual(res.http_version, "2", res)
        self.assertEqual(res.status, 200, res)


class Http2DisabledTest(H2TestCase):
    """`listen.http2: false`: HTTP/1.x only, on plain and TLS listeners."""

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.dir = tempfile.mkdtemp(prefix="jwtgate-h2off-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.pki = TestPKI(cls.dir, "h2 off CA")
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        plain = gateway_config({"app": cls.app.url}, base_routes(),
                               providers={"corp": corp_provider(cls.keys)})
        plain["listen"]["http2"] = False
        cls.gw = start_gateway(cls, plain)
        tls = gateway_config({"app": cls.app.url}, base_routes(),
                             providers={"corp": corp_provider(cls.keys)}, admin=False,
                             listen_tls={"cert_file": cls.pki.cert_file,
                                         "key_file": cls.pki.key_file})
        tls["listen"]["http2"] = False
        cls.tls_gw = start_gateway(cls, tls)

    def test_preface_refused(self):
        before = self.app.hit_count()
        with RawH2(self.gw.port, timeout=5) as raw:
            raw.read(5.0, until=lambda r: r.closed)
            data = bytes(raw.buf)
            self.assertEqual(raw.server_settings, {}, "an HTTP/2 SETTINGS frame came back")
            self.assertTrue(raw.closed, "the connection stayed open after an HTTP/2 preface")
        self.assertTrue(data == b"" or data.startswith(b"HTTP/1.1 400"), data[:200])
        self.assertEqual(self.app.hit_count(), before)

    def test_http1_works(self):
        resp = self.gw.get("/public/x")
        self.assertEqual(resp.status, 200, resp)

    def test_tls_alpn_does_not_select_h2(self):
        ctx = h2_tls_context(self.pki, ("h2", "http/1.1"))
        with HttpConn(LOCALHOST, self.tls_gw.port, tls_context=ctx) as conn:
            self.assertIn(conn.sock.selected_alpn_protocol(), (None, "http/1.1"))
            resp = conn.request("GET", "/public/tls")
            self.assertEqual(resp.status, 200, resp)


class Http2UpstreamTest(H2TestCase):
    """`upstreams.<name>.protocol: h2`: h2c and h2 over TLS toward the backend;
    trailers relayed between HTTP/2 peers; HTTP/1.1 clients translated."""

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.dir = tempfile.mkdtemp(prefix="jwtgate-h2up-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.pki = TestPKI(cls.dir, "h2 upstream CA")
        cls.h2up = H2EchoUpstream()
        cls.addClassCleanup(cls.h2up.close)
        cls.h2tls = H2EchoUpstream(tls=(cls.pki.cert_file, cls.pki.key_file))
        cls.addClassCleanup(cls.h2tls.close)
        cls.other_pki = TestPKI(cls.dir, "h2 other CA")
        upstreams = {
            "h2c": {"url": cls.h2up.url, "protocol": "h2"},
            "h2tls": {"url": cls.h2tls.url, "protocol": "h2", "tls": {"ca_file": cls.pki.ca_file}},
            "h2wrongca": {"url": cls.h2tls.url, "protocol": "h2",
                          "tls": {"ca_file": cls.other_pki.ca_file}},
        }
        routes = [
            {"name": "h2api", "path_prefix": "/h2api", "upstream": "h2c",
             "auth": {"providers": ["corp"]}},
            {"name": "h2", "path_prefix": "/h2", "upstream": "h2c", "auth": "none"},
            {"name": "h2tls", "path_prefix": "/tls", "upstream": "h2tls", "auth": "none"},
            {"name": "h2wrongca", "path_prefix": "/wrongca", "upstream": "h2wrongca",
             "auth": "none"},
        ]
        config = gateway_config(upstreams, routes, providers={"corp": corp_provider(cls.keys)})
        cls.gw = start_gateway(cls, config)

    def fields(self, data):
        return [(k, v) for k, v in data["headers"]]

    def values(self, data, name):
        return [v for k, v in data["headers"] if k.lower() == name]

    def assertValidH2Request(self, data):
        """What the gateway sent the h2 upstream is a valid HTTP/2 request (RFC 9113
        8.2, 8.3.1): lowercase names, the four pseudo-headers once each and first."""
        names = [k for k, _ in data["headers"]]
        for name in names:
            self.assertEqual(name, name.lower(), "uppercase field name sent upstream: %r" % names)
            self.assertNotIn(name, CONNECTION_SPECIFIC, names)
        pseudo = [n for n in names if n.startswith(":")]
        self.assertEqual(sorted(pseudo), [":authority", ":method", ":path", ":scheme"], names)
        self.assertEqual(names[:4], pseudo, "pseudo-headers not first: %r" % names)

    def test_h2_to_h2(self):
        c = self.h2()
        tok = self.keys.mint(sub="h2-both")
        resp = c.get("/h2api/a/../b//c?q=1", token=tok, authority="svc.example",
                     headers=[("x-user-id", "spoof"), ("cookie", "a=1"), ("cookie", "b=2")])
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.header("x-upstream"), "h2echo")
        data = resp.json()
        self.assertEqual(self.values(data, ":path"), ["/h2api/b/c?q=1"])
        self.assertEqual(self.values(data, ":method"), ["GET"])
        self.assertEqual(self.values(data, ":authority"), ["svc.example"])
        self.assertEqual(self.values(data, "x-user-id"), ["h2-both"])
        self.assertEqual(self.values(data, "x-forwarded-proto"), ["http"])
        names = [k for k, _ in data["headers"]]
        for name in CONNECTION_SPECIFIC + ("host",):
            self.assertNotIn(name, names)
        self.assertValidH2Request(data)
        self.assertEqual("; ".join(self.values(data, "cookie")), "a=1; b=2")
        denied = c.get("/h2api/x")
        self.assertAuthError(denied, 401, "missing_token", "missing_token")

    def test_trailers_relayed_both_ways(self):
        c = self.h2()
        sid = c.start("POST", "/h2/trailers/x", headers=[("te", "trailers"),
                                                        ("content-type", "application/x")],
                      end_stream=False)
        c.send_body(sid, b"payload" * 1000, trailers=[("x-client-trailer", "sent"),
                                                       ("x-client-sum", "42")])
        resp = c.wait([sid])[0]
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        data = resp.json()
        self.assertEqual(data["body_length"], 7000)
        self.assertEqual(self.values(data, "te"), ["trailers"])
        self.assertIn(["x-client-trailer", "sent"], data["trailers"])
        self.assertIn(["x-client-sum", "42"], data["trailers"])
        self.assertIsNotNone(resp.trailers, "the upstream's trailers were not relayed")
        self.assertEqual(resp.trailer("x-upstream-trailer"), "done")
        self.assertEqual(resp.trailer("x-body-sha256"), hashlib.sha256(b"payload" * 1000).hexdigest())

    def test_http1_client_to_h2_upstream(self):
        resp = self.gw.request("POST", "/h2/from-h1", headers=[
            ("Host", "legacy.example"), ("Connection", "keep-alive, X-Drop"), ("X-Drop", "1"),
            ("Keep-Alive", "timeout=5"), ("Content-Type", "text/plain")], body=b"hello h2")
        self.assertEqual(resp.status, 200, resp)
        data = resp.json()
        self.assertEqual(self.values(data, ":authority"), ["legacy.example"])
        self.assertEqual(self.values(data, ":method"), ["POST"])
        self.assertValidH2Request(data)
        names = [k for k, _ in data["headers"]]
        for name in CONNECTION_SPECIFIC + ("host", "x-drop"):
            self.assertNotIn(name, names, data["headers"])
        self.assertEqual(data["body_length"], 8)
        # Chunked from the HTTP/1.1 client, an HTTP/2 stream upstream.
        resp = self.gw.request("POST", "/h2/chunked", body=[b"ab", b"cd"], chunked=True)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["body_length"], 4)
        # A response without content-length reaches HTTP/1.1 chunked (or close-delimited).
        resp = self.gw.get("/h2/trailers/h1")
        self.assertEqual(resp.status, 200, resp)
        self.assertIn("body_sha256", resp.json())
        resp = self.gw.get("/h2/status/204")
        self.assertEqual(resp.status, 204, resp)

    def test_upstream_stream_reset_and_goaway_are_502(self):
        c = self.h2()
        for path in ("/h2/rst-stream", "/h2/goaway", "/h2/goaway-unprocessed"):
            with self.subTest(path=path):
                resp = c.get(path)
                self.assertTrue(resp.done, resp)
                if resp.reset is None:
                    self.assertAnswered(resp)
                    # An unprocessed stream (above GOAWAY's last_stream_id) is safe to
                    # retry; when that fails too, 502.
                    self.assertIn(resp.status, (502, 503) if "unprocessed" in path else (502,),
                                  resp)
                # gRPC sees it as UNAVAILABLE, trailers-only.
                sid = c.start("POST", path, headers=[("content-type", "application/grpc"),
                                                    ("te", "trailers")], end_stream=False)
                c.send_body(sid, b"\x00\x00\x00\x00\x00")
                g = c.wait([sid])[0]
                self.assertAnswered(g)
                self.assertEqual(g.status, 200, g)
                self.assertEqual(g.header("grpc-status"), "14", g)
        self.assertIsNone(c.goaway, "an upstream failure ended the client connection")
        ok = c.get("/h2/after-failures")
        self.assertEqual(ok.status, 200, ok)

    def test_h2_over_tls_upstream(self):
        c = self.h2()
        resp = c.get("/tls/x")
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(self.values(resp.json(), ":scheme"), ["https"])
        self.assertIn("h2", self.h2tls.alpn_seen)

    def test_h2_tls_upstream_with_wrong_ca_is_502(self):
        before = len(self.h2tls.requests)
        c = self.h2()
        resp = c.get("/wrongca/x")
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 502, resp)
        self.assertEqual(len(self.h2tls.requests), before, "a request crossed an unverified TLS link")

    def test_download_and_upload_through_h2_upstream(self):
        size = 8 * 1024 * 1024
        c = self.h2()
        resp = c.get("/h2/download/%d" % size, keep_body=False, timeout=60)
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.length, size)
        self.assertEqual(resp.sha256, pattern_sha256(size))
        resp = c.request("PUT", "/h2/up", body=list(pattern_chunks(size)), timeout=60)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json()["body_length"], size)
        self.assertEqual(resp.json()["body_sha256"], pattern_sha256(size))

    def test_concurrent_streams_identity_toward_h2_upstream(self):
        c = self.h2()
        self.assertTrue(c.wait_settings())
        expected = {}
        for i in range(40):
            sub = "h2sub-%d" % (i % 8)
            sid = c.start("GET", "/h2api/who/%d" % i, token=self.keys.mint(sub=sub))
            expected[sid] = sub
        for r in c.wait(list(expected), timeout=30):
            self.assertAnswered(r)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(self.values(r.json(), "x-user-id"), [expected[r.stream_id]])


class Http2UpstreamStreamLimitTest(H2TestCase):
    """An h2 upstream advertising SETTINGS_MAX_CONCURRENT_STREAMS 2: the gateway
    queues or spreads 12 concurrent client streams, never exceeds the limit."""

    def test_upstream_stream_limit_respected(self):
        up = H2EchoUpstream(max_streams=2, delay=0.3)
        self.addCleanup(up.close)
        config = gateway_config({"h2c": {"url": up.url, "protocol": "h2"}},
                                [{"name": "all", "path_prefix": "/", "upstream": "h2c",
                                  "auth": "none"}])
        self.gw = start_gateway(self, config)
        c = self.h2()
        self.assertTrue(c.wait_settings())
        # One request first: the upstream connection and its SETTINGS are known (a
        # burst on a brand-new connection races the upstream's SETTINGS frame).
        self.assertEqual(c.get("/limited/warm-up").status, 200)
        sids = [c.start("GET", "/limited/%d" % i) for i in range(12)]
        results = c.wait(sids, timeout=30)
        self.assertEqual(up.protocol_errors, [], "the gateway broke the upstream's limit")
        for r in results:
            self.assertAnswered(r)
            self.assertEqual(r.status, 200, r)
        self.assertEqual(sorted(req["path"] for req in up.requests if req["path"] != "/limited/warm-up"),
                         sorted("/limited/%d" % i for i in range(12)))


class Http2TokenSourcesTest(H2TestCase):
    """forward_token: false with a query-parameter token over HTTP/2, toward an
    HTTP/1.1 and an h2 upstream: the token is taken out of :path, the rest of the
    query is kept, the identity is set."""

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        cls.h2up = H2EchoUpstream()
        cls.addClassCleanup(cls.h2up.close)
        provider = provider_config(cls.keys, forward_token=False, token_from=[
            {"header": "Authorization", "prefix": "Bearer "}, {"query": "access_token"},
            {"cookie": "access_token"}])
        config = gateway_config({"app": cls.app.url,
                                 "h2c": {"url": cls.h2up.url, "protocol": "h2"}},
                                [{"name": "h2", "path_prefix": "/h2", "upstream": "h2c",
                                  "auth": {"providers": ["corp"]}},
                                 {"name": "h1", "path_prefix": "/h1", "upstream": "app",
                                  "auth": {"providers": ["corp"]}}],
                                providers={"corp": provider})
        cls.gw = start_gateway(cls, config)

    def test_query_token_removed(self):
        tok = self.keys.mint(sub="query-user")
        c = self.h2()
        resp = c.get("/h1/q?a=1&access_token=%s&b=2" % tok)
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        data = echo_json_from(resp.json())
        self.assertEqual(echo_header(data, "X-User-Id"), ["query-user"])
        self.assertNotIn(tok, data["target"])
        self.assertNotIn("access_token", data["query"])
        self.assertIn("a=1", data["query"])
        self.assertIn("b=2", data["query"])
        resp = c.get("/h2/q?a=1&access_token=%s&b=2" % tok)
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        fields = resp.json()["headers"]
        path = [v for k, v in fields if k == ":path"][0]
        self.assertNotIn(tok, path)
        self.assertTrue(path.startswith("/h2/q?"), path)
        self.assertIn("a=1", path)
        self.assertIn("b=2", path)
        self.assertEqual([v for k, v in fields if k == "x-user-id"], ["query-user"])

    def test_cookie_and_header_tokens_removed(self):
        tok = self.keys.mint(sub="cookie-user")
        c = self.h2()
        resp = c.get("/h2/c", headers=[("cookie", "a=1"), ("cookie", "access_token=" + tok),
                                       ("cookie", "b=2")])
        self.assertAnswered(resp)
        self.assertEqual(resp.status, 200, resp)
        fields = resp.json()["headers"]
        cookies = "; ".join(v for k, v in fields if k == "cookie")
        self.assertNotIn(tok, cookies)
        self.assertIn("a=1", cookies)
        self.assertIn("b=2", cookies)
        resp = c.get("/h2/h", token=tok)
        fields = resp.json()["headers"]
        self.assertEqual([v for k, v in fields if k == "authorization"], [])
        self.assertEqual([v for k, v in fields if k == "x-user-id"], ["cookie-user"])


class Http2ReloadTest(H2TestCase):
    """SIGHUP while an HTTP/2 connection is open: the next stream on that same
    connection uses the new configuration (SPEC 7)."""

    def test_reload_applies_to_new_streams_of_open_connections(self):
        app = EchoUpstream()
        self.addCleanup(app.close)
        config = gateway_config({"app": app.url},
                                [{"name": "v1", "path_prefix": "/v1", "upstream": "app",
                                  "auth": "none"}])
        self.gw = start_gateway(self, config)
        c = self.h2()
        self.assertEqual(c.get("/v1/a").status, 200)
        self.assertEqual(c.get("/v2/a").status, 404)
        new = dict(config)
        new["routes"] = [{"name": "v2", "path_prefix": "/v2", "upstream": "app", "auth": "none"}]
        self.gw.write_config(new)
        self.gw.signal(signal.SIGHUP)
        lines = self.gw.wait_for_output(lambda ls: any("reload" in l for l in ls), timeout=10)
        self.assertIsNotNone(lines, self.gw.stderr_text()[-2000:])
        deadline = time.monotonic() + 5
        status = None
        while time.monotonic() < deadline:
            status = c.get("/v2/b").status
            if status == 200:
                break
            time.sleep(0.1)
        self.assertEqual(status, 200, "the open HTTP/2 connection kept the old routes")
        self.assertEqual(c.get("/v1/b").status, 404)
        self.assertIsNone(c.goaway)


class Http2ConcurrencyLimitTest(H2TestCase):
    """`server.max_concurrent_streams`: advertised in SETTINGS, excess streams
    refused with RST_STREAM REFUSED_STREAM, the others served."""

    @classmethod
    def setUpClass(cls):
        cls.slow = EchoUpstream(delay=1.5)
        cls.addClassCleanup(cls.slow.close)
        config = gateway_config({"slow": cls.slow.url},
                                [{"name": "all", "path_prefix": "/", "upstream": "slow",
                                  "auth": "none"}],
                                server={"max_concurrent_streams": 5})
        cls.gw = start_gateway(cls, config)

    def test_limit_advertised_and_enforced(self):
        before = protection_counters(self.gw).get("stream_limit", 0)
        with RawH2(self.gw.port) as raw:
            raw.read(5.0, until=lambda r: SETTINGS_MAX_CONCURRENT_STREAMS in r.server_settings)
            self.assertEqual(raw.server_settings.get(SETTINGS_MAX_CONCURRENT_STREAMS), 5,
                             raw.server_settings)
            raw.ack_settings()
            # Let the gateway see our ACK before opening more than the limit.
            time.sleep(0.2)
            sids = [1 + 2 * i for i in range(8)]
            for sid in sids:
                self.assertTrue(raw.request(sid, "GET", "/slow/%d" % sid))
            raw.read(20.0, until=lambda r: all(r.stream_done(s) for s in sids))
            refused = [s for s in sids if raw.resets.get(s) == REFUSED_STREAM]
            served = [s for s in sids if raw.status(s) == 200]
            self.assertEqual(refused, sids[5:], "resets %r statuses %r"
                             % (raw.resets, {s: raw.status(s) for s in sids}))
            self.assertEqual(served, sids[:5])
            self.assertIsNone(raw.goaway, "a refused stream is not a connection error")
            # Capacity is back once the first ones finished.
            self.assertTrue(raw.request(17, "GET", "/slow/again"))
            raw.read(10.0, until=lambda r: r.stream_done(17))
            self.assertEqual(raw.status(17), 200)
        self.assertLessEqual(self.slow.hit_count(), 6)
        self.assertGreater(protection_counters(self.gw).get("stream_limit", 0), before,
                           'jwtgate_http2_protection_total{kind="stream_limit"} did not rise')


class Http2StreamLimitsTest(H2TestCase):
    """Per-stream limits (max_header_bytes on the decoded header list, max_body_bytes)
    and the header and idle timeouts on HTTP/2 connections."""

    @classmethod
    def setUpClass(cls):
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        config = gateway_config({"app": cls.app.url},
                                [{"name": "all", "path_prefix": "/", "upstream": "app",
                                  "auth": "none"}],
                                server={"max_header_bytes": 4096, "max_body_bytes": 65536,
                                        "header_timeout": "2s", "idle_timeout": "3s"})
        cls.gw = start_gateway(cls, config)

    def assertRefusedHead(self, resp):
        self.assertTrue(resp.done, resp)
        if resp.reset is None:
            self.assertEqual(resp.status, 431, resp)

    def test_header_list_over_max_header_bytes(self):
        c = self.h2()
        before = self.app.hit_count()
        one_big = c.get("/big", headers=[("x-big", "v" * 6000)])
        self.assertRefusedHead(one_big)
        many = c.get("/many", headers=[("x-h%03d" % i, "v" * 50) for i in range(100)])
        self.assertRefusedHead(many)
        self.assertEqual(self.app.hit_count(), before)
        # Only those streams: the connection (and its HPACK state) still works.
        ok = c.get("/after", headers=[("x-small", "v" * 100)])
        self.assertEqual(ok.status, 200, ok)
        self.assertEqual(ok.json()["path"], "/after")

    def test_body_over_max_body_bytes_fails_only_that_stream(self):
        c = self.h2()
        self.assertTrue(c.wait_settings())
        declared = c.start("POST", "/declared", headers=[("content-length", "100000")],
                           end_stream=False)
        streamed = c.start("POST", "/streamed", end_stream=False)
        fine = c.start("POST", "/fine", end_stream=False)
        c.send_body(fine, b"f" * 60000)
        c.send_body(declared, b"d" * 100000)
        c.send_body(streamed, [b"s" * 30000] * 4)
        r_declared, r_streamed, r_fine = c.wait([declared, streamed, fine], timeout=20)
        self.assertEqual(r_declared.status, 413, r_declared)
        self.assertTrue(r_streamed.status == 413 or r_streamed.reset is not None, r_streamed)
        self.assertEqual(r_fine.status, 200, r_fine)
        self.assertEqual(r_fine.json()["body_length"], 60000)
        self.assertIsNone(c.goaway)
        self.assertEqual(c.get("/after-413").status, 200)

    def test_incomplete_header_block_times_out(self):
        with RawH2(self.gw.port) as raw:
            raw.read(3.0, until=lambda r: r.settings_received)
            raw.ack_settings()
            block = raw.encode(request_headers("GET", "/never"))
            self.assertTrue(raw.send(headers_frame(1, block[:5], end_headers=False)))
            # Another connection is not held up meanwhile.
            ok = H2Client(self.gw.port)
            self.addCleanup(ok.close)
            self.assertEqual(ok.get("/meanwhile").status, 200)
            raw.read(12.0, until=lambda r: r.ended_by_server())
            self.assertTrue(raw.ended_by_server(),
                            "a connection with an unfinished header block was kept past header_timeout")

    def test_idle_connection_gets_goaway(self):
        c = self.h2()
        self.assertEqual(c.get("/before-idle").status, 200)
        start = time.monotonic()
        goaway = c.wait_goaway(15.0)
        self.assertIsNotNone(goaway, "no GOAWAY on an idle HTTP/2 connection (idle_timeout 3s)")
        self.assertEqual(goaway[0], 0, "idle GOAWAY should be NO_ERROR: %r" % (goaway,))
        self.assertGreaterEqual(goaway[1], 1, "GOAWAY last-stream-id must cover the served stream")
        self.assertTrue(c.wait_closed(5.0), "connection not closed after the idle GOAWAY")
        self.assertLess(time.monotonic() - start, 15.0)


class Http2DrainTest(H2TestCase):
    """SIGTERM with a stream in flight: GOAWAY to the HTTP/2 client, the stream
    finishes, then a clean exit (SPEC sections 1 and 9)."""

    def test_sigterm_sends_goaway_and_finishes_streams(self):
        slow = EchoUpstream(delay=2.0)
        self.addCleanup(slow.close)
        config = gateway_config({"slow": slow.url},
                                [{"name": "all", "path_prefix": "/", "upstream": "slow",
                                  "auth": "none"}], server={"drain_timeout": "10s"})
        self.gw = start_gateway(self, config)
        # Frame level: python3-h2 stops accepting frames once it has seen a GOAWAY,
        # but a graceful shutdown sends the in-flight stream's answer after one.
        with RawH2(self.gw.port) as raw:
            raw.read(3.0, until=lambda r: r.settings_received)
            raw.ack_settings()
            self.assertTrue(raw.request(1, "GET", "/in-flight"))
            time.sleep(0.5)  # the request reached the gateway
            self.gw.signal(signal.SIGTERM)
            raw.read(12.0, until=lambda r: 1 in r.ended or 1 in r.resets)
            self.assertTrue(raw.goaways, "no GOAWAY after SIGTERM")
            self.assertEqual(raw.goaways[0][0], 0, raw.goaways)
            self.assertTrue(all(g[1] >= 1 for g in raw.goaways),
                            "the in-flight stream was excluded by GOAWAY: %r" % raw.goaways)
            self.assertNotIn(1, raw.resets, raw.resets)
            self.assertEqual(raw.status(1), 200, raw.headers)
            self.assertIn(1, raw.ended, "the in-flight response did not complete")
            self.assertGreater(raw.data_bytes.get(1, 0), 0)
        self.assertEqual(self.gw.wait_exit(15), 0, self.gw.stderr_text()[-2000:])
        self.gw = None


class Http2LargeBodyTest(H2TestCase):
    """A large body through HTTP/2 both ways (1 GiB with JWTGATE_H2_BIG_BYTES),
    gateway RSS sampled from /proc/PID/status during the transfer."""

    @classmethod
    def setUpClass(cls):
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        cls.h2up = H2EchoUpstream()
        cls.addClassCleanup(cls.h2up.close)
        config = gateway_config({"app": cls.app.url,
                                 "h2c": {"url": cls.h2up.url, "protocol": "h2"}},
                                [{"name": "h2", "path_prefix": "/h2", "upstream": "h2c",
                                  "auth": "none"},
                                 {"name": "all", "path_prefix": "/", "upstream": "app",
                                  "auth": "none"}],
                                server={"idle_timeout": "120s"})
        cls.gw = start_gateway(cls, config)
        cls.big_sha = pattern_sha256(BIG)

    @classmethod
    def tearDownClass(cls):
        if MEASURED:
            print("\nHTTP/2 large bodies, %d bytes each: %s; gateway VmHWM %.1f MiB" % (
                BIG, ", ".join("%s max VmRSS %.1f MiB (%.1f s)" % (k, v[0] / 2**20, v[1])
                               for k, v in sorted(MEASURED.items())),
                process_status(cls.gw.proc.pid, "VmHWM") / 2**20))

    def check_rss(self, name, sampler, elapsed):
        MEASURED[name] = (sampler.max, elapsed)
        if harness.SANITIZER:
            return
        self.assertGreater(sampler.samples, 0)
        self.assertLess(sampler.max, RSS_LIMIT, "gateway VmRSS %.1f MiB during %s: held in memory"
                        % (sampler.max / 2**20, name))

    def test_upload(self):
        url = "http://%s:%d/up/blob" % (LOCALHOST, self.gw.port)
        start = time.monotonic()
        with RssSampler(self.gw.proc.pid) as sampler:
            res = curl_h2(url, upload=pattern_chunks(BIG, size=1 << 20), timeout=600)
        elapsed = time.monotonic() - start
        self.assertEqual(res.returncode, 0, res)
        self.assertEqual(res.http_version, "2", res)
        self.assertEqual(res.status, 200, res)
        data = json.loads(res.head)
        self.assertEqual(data["body_length"], BIG)
        self.assertEqual(data["body_sha256"], self.big_sha)
        self.check_rss("upload h2->h1", sampler, elapsed)

    def test_download(self):
        url = "http://%s:%d/download/%d" % (LOCALHOST, self.gw.port, BIG)
        start = time.monotonic()
        with RssSampler(self.gw.proc.pid) as sampler:
            res = curl_h2(url, timeout=600)
        elapsed = time.monotonic() - start
        self.assertEqual(res.returncode, 0, res)
        self.assertEqual(res.http_version, "2", res)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.length, BIG)
        self.assertEqual(res.sha256, self.big_sha)
        self.check_rss("download h1->h2", sampler, elapsed)

    def test_slow_reader_download_stays_bounded(self):
        # The client reads slowly: the gateway must hold the upstream back (flow
        # control / TCP backpressure) rather than buffer the body.
        size = min(BIG, 128 << 20)
        c = self.h2(window=1 << 20)
        sid = c.start("GET", "/download/%d" % size, keep_body=False)
        with RssSampler(self.gw.proc.pid) as sampler:
            deadline = time.monotonic() + 4.0
            while time.monotonic() < deadline:
                c.pump(0.2)
                time.sleep(0.2)
            resp = c.wait([sid], timeout=120)[0]
        self.assertAnswered(resp)
        self.assertEqual(resp.length, size)
        self.assertEqual(resp.sha256, pattern_sha256(size))
        self.check_rss("slow reader", sampler, 0.0)


class OneShotHttp1Upstream(_RawServer):
    """Answers the first request of each connection with keep-alive framing (a
    Content-Length, no Connection: close), then reads the next one and closes
    without an answer: a pooled connection that looks alive and dies on use, as
    when an upstream's keep-alive timeout strikes while a request is on its way."""

    def __init__(self):
        super().__init__()
        self.dropped = 0

    def serve(self, conn):
        answered = False
        for _ in read_requests(conn):
            with self.lock:
                if answered:
                    self.dropped += 1
                    return  # closed unanswered
                self.hits += 1
            answered = True
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n")


class Http2StalePooledConnectionTest(H2TestCase):
    """An HTTP/2 stream whose pooled upstream connection turns out dead is sent
    again on a fresh one (once, for a request without a body), never answered
    502, and the gateway survives the failed operations of the dead one."""

    @classmethod
    def setUpClass(cls):
        cls.up = OneShotHttp1Upstream()
        cls.addClassCleanup(cls.up.close)
        routes = [{"name": "oneshot", "path_prefix": "/", "upstream": "up", "auth": "none"}]
        cls.config = gateway_config({"up": cls.up.url}, routes)
        cls.gw = start_gateway(cls, cls.config)

    def test_dead_pooled_connections_are_retried(self):
        c = self.h2()
        statuses = []
        for i in range(12):
            resp = c.get("/stale/%d" % i)
            self.assertAnswered(resp)
            statuses.append(resp.status)
        self.assertEqual(statuses, [200] * 12, self.gw.stderr_text()[-2000:])
        self.assertEqual(self.up.hits, 12)
        self.assertGreaterEqual(self.up.dropped, 11, "the pooled connections were not reused")
        # Many at once: streams racing for pooled connections, all of them dead.
        streams = [c.start("GET", "/burst/%d" % i) for i in range(20)]
        answers = c.wait(streams)
        self.assertEqual([a.status for a in answers], [200] * 20, answers)
        self.assertTrue(self.gw.alive())


if __name__ == "__main__":
    unittest.main()

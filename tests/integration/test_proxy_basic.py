"""Statuses the gateway produces (SPEC sections 4 and 5), token sources, optional
routes, the access log and the admin listener."""

import hashlib
import re
import time
import unittest

from harness import (AUDIENCE, ISSUER, BrokenUpstream, ConnectionClosed, EchoUpstream,
                     GatewayTestCase, StaticUpstream, TestKeys, b64url, echo_header, echo_json, free_port,
                     gateway_config, provider_config, start_gateway)

import hmac
import json

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from harness import b64url_decode


def parse_metrics(text):
    """Prometheus text format -> list of (name, {label: value}, float)."""
    samples = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$', line)
        if not m:
            raise AssertionError("not Prometheus text format: %r" % line)
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    return samples


class ProxyBasicTest(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        cls.slow = EchoUpstream(delay=4.0)
        cls.addClassCleanup(cls.slow.close)
        cls.broken = BrokenUpstream()
        cls.addClassCleanup(cls.broken.close)
        corp = provider_config(cls.keys, token_from=[
            {"header": "Authorization", "prefix": "Bearer "},
            {"cookie": "access_token"},
            {"query": "access_token"},
        ])
        partner_secret = cls.keys._write("partner.secret", cls.keys.other_secret)
        partner = {
            "issuer": "https://partner.example",
            "algorithms": ["HS256"],
            "keys": [{"kid": "p1", "alg": "HS256", "secret_file": partner_secret}],
            "headers": {"X-Partner-User": "sub"},
        }
        # No clock skew: a cached verification must still end at `exp`.
        strict = provider_config(cls.keys, clock_skew="0s")
        routes = [
            {"name": "public", "path_prefix": "/public", "upstream": "app", "auth": "none"},
            {"name": "multi", "path_prefix": "/multi", "upstream": "app",
             "auth": {"providers": ["corp", "partner"]}},
            {"name": "strict", "path_prefix": "/strict", "upstream": "app",
             "auth": {"providers": ["strict"]}},
            {"name": "admin", "path_prefix": "/admin", "upstream": "app",
             "auth": {"providers": ["corp"], "scopes": ["admin"]}},
            {"name": "finance", "path_prefix": "/finance", "upstream": "app",
             "auth": {"providers": ["corp"], "claims": {"role": ["admin", "owner"]}}},
            {"name": "maybe", "path_prefix": "/maybe", "upstream": "app",
             "auth": {"providers": ["corp"], "optional": True}},
            {"name": "readonly", "path": "/readonly", "methods": ["GET"], "upstream": "app",
             "auth": "none"},
            {"name": "hosted", "path_prefix": "/hosted", "host": "api.example.com",
             "upstream": "app", "auth": "none"},
            {"name": "slow", "path_prefix": "/slow", "upstream": "slow", "auth": "none"},
            {"name": "dead", "path_prefix": "/dead", "upstream": "dead", "auth": "none"},
            {"name": "broken", "path_prefix": "/broken", "upstream": "broken", "auth": "none"},
            {"name": "api", "path_prefix": "/api", "upstream": "app",
             "auth": {"providers": ["corp"]}},
        ]
        upstreams = {
            "app": cls.app.url,
            "slow": {"url": cls.slow.url, "timeout": "1s"},
            "dead": {"url": "http://127.0.0.1:%d" % free_port(), "connect_timeout": "2s"},
            "broken": cls.broken.url,
        }
        config = gateway_config(upstreams, routes,
                                providers={"corp": corp, "partner": partner, "strict": strict},
                                server={"max_body_bytes": 1024, "max_header_bytes": 4096})
        cls.gw = start_gateway(cls, config)
        cls.tokens_used = []

    def token(self, **kw):
        kw.setdefault("sub", "alice")
        tok = self.keys.mint(**kw)
        self.tokens_used.append(tok)
        return tok

    def assertNotForwarded(self, before, upstream=None):
        upstream = upstream or self.app
        self.assertEqual(upstream.hit_count(), before, "the upstream saw a rejected request")

    def tearDown(self):
        self.assertTrue(self.gw.alive(), "gateway died:\n" + self.gw.stderr_text()[-3000:])

    # -- 200 -----------------------------------------------------------------------

    def test_forward_with_valid_token(self):
        for alg in ("HS256", "RS256", "ES256"):
            with self.subTest(alg=alg):
                resp = self.gw.get("/api/orders?id=7", token=self.token(alg=alg, sub="alg-" + alg))
                self.assertEqual(resp.status, 200, resp)
                self.assertEqual(resp.header("X-Upstream"), "echo")  # the upstream's answer
                data = echo_json(resp)
                self.assertEqual(data["method"], "GET")
                self.assertEqual(data["path"], "/api/orders")
                self.assertEqual(data["query"], "id=7")
                self.assertEqual(echo_header(data, "X-User-Id"), ["alg-" + alg])

    def test_public_route_needs_no_token(self):
        resp = self.gw.get("/public/index.html")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(echo_json(resp)["path"], "/public/index.html")

    def test_post_body_is_forwarded(self):
        body = b"0123456789" * 50
        resp = self.gw.request("POST", "/public/upload", headers=[("Content-Type", "text/plain")],
                               body=body)
        self.assertEqual(resp.status, 200, resp)
        data = echo_json(resp)
        self.assertEqual(data["method"], "POST")
        self.assertEqual(data["body_length"], len(body))
        self.assertEqual(data["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_head_request_keeps_framing(self):
        with self.gw.connect() as conn:
            resp = conn.request("HEAD", "/public/head")
            self.assertEqual(resp.status, 200, resp)
            self.assertIsNotNone(resp.header("Content-Length"))
            self.assertEqual(resp.body, b"")
            resp = conn.request("GET", "/public/after-head")
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(echo_json(resp)["path"], "/public/after-head")

    def test_chunk_extensions_and_trailers(self):
        with self.gw.connect() as conn:
            conn.send(b"POST /public/ext HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
            resp = conn.read_response()
            self.assertEqual(resp.status, 200, resp)
            data = echo_json(resp)
            self.assertEqual(data["body_length"], 11)
            self.assertEqual(data["body_sha256"], hashlib.sha256(b"hello world").hexdigest())
            self.assertEqual(conn.request("GET", "/public/after-trailer").status, 200)

    def test_duplicate_host_header(self):
        before = self.app.hit_count()
        with self.gw.connect() as conn:
            conn.send(b"GET /public/x HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n")
            resp = conn.read_response()
        self.assertEqual(resp.status, 400, resp)
        self.assertEqual(self.app.hit_count(), before)

    def test_upstream_response_with_ambiguous_framing(self):
        # The gateway must not relay a response that frames itself two ways, nor let
        # bytes after it pose as the answer to the client's next request.
        with self.gw.connect(timeout=10) as conn:
            try:
                first = conn.request("GET", "/broken/resp-cl-te")
                second = conn.request("GET", "/public/next")
            except ConnectionClosed:
                return
        self.assertIn(first.status, (200, 502), first)
        self.assertIsNone(first.header("X-Injected"))
        self.assertIsNone(second.header("X-Injected"), second)
        self.assertEqual(echo_json(second)["path"], "/public/next")

    def test_issuer_selects_the_provider(self):
        corp = self.gw.get("/multi/x", token=self.token(sub="corp-user"))
        self.assertEqual(corp.status, 200, corp)
        self.assertEqual(echo_header(echo_json(corp), "X-User-Id"), ["corp-user"])
        self.assertEqual(echo_header(echo_json(corp), "X-Partner-User"), [])
        partner_token = self.keys.mint_with_secret(self.keys.other_secret, kid="p1",
                                                   sub="partner-user", iss="https://partner.example")
        partner = self.gw.get("/multi/x", token=partner_token)
        self.assertEqual(partner.status, 200, partner)
        self.assertEqual(echo_header(echo_json(partner), "X-Partner-User"), ["partner-user"])
        self.assertEqual(echo_header(echo_json(partner), "X-User-Id"), [])
        # Claims to come from the partner, signed with the corp key: the partner judges it.
        forged = self.keys.mint(sub="x", issuer="https://partner.example")
        before = self.app.hit_count()
        resp = self.gw.get("/multi/x", token=forged)
        self.assertAuthError(resp, 401, "invalid_token", ("bad_signature", "unknown_kid"))
        self.assertNotForwarded(before)

    def test_cached_token_expires_on_time(self):
        tok = self.token(sub="short-lived", ttl=2)
        exp = int(time.time()) + 2
        self.assertEqual(self.gw.get("/strict/a", token=tok).status, 200)
        self.assertEqual(self.gw.get("/strict/b", token=tok).status, 200)
        time.sleep(max(0.0, exp - time.time()) + 1.0)
        before = self.app.hit_count()
        resp = self.gw.get("/strict/c", token=tok)
        self.assertAuthError(resp, 401, "invalid_token", "expired")
        self.assertNotForwarded(before)

    # -- 401 -----------------------------------------------------------------------

    def test_missing_token(self):
        before = self.app.hit_count()
        resp = self.gw.get("/api/orders")
        body = self.assertAuthError(resp, 401, "missing_token", "missing_token")
        self.assertEqual(resp.header("WWW-Authenticate"), 'Bearer realm="jwtgate"')
        self.assertEqual(body["reason"], "missing_token")
        self.assertNotForwarded(before)

    def test_invalid_tokens(self):
        now = int(time.time())
        rsa_pem = self.keys.rsa_public_pem
        # alg confusion: HS256 signed with the RSA public key as the HMAC secret
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = b64url(json.dumps({"sub": "mallory", "iss": ISSUER, "aud": AUDIENCE,
                                     "iat": now, "exp": now + 300}).encode())
        confused = "%s.%s.%s" % (header, payload, b64url(
            hmac.new(rsa_pem, ("%s.%s" % (header, payload)).encode(), hashlib.sha256).digest()))
        good = self.token()
        # A key the gateway does not know, offered inside the token itself.
        attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        attacker_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
        embedded = jwt.encode({"sub": "mallory", "iss": ISSUER, "aud": AUDIENCE, "iat": now,
                               "exp": now + 300}, attacker, algorithm="RS256",
                              headers={"jwk": attacker_jwk})
        jku = jwt.encode({"sub": "mallory", "iss": ISSUER, "aud": AUDIENCE, "iat": now,
                          "exp": now + 300}, attacker, algorithm="RS256",
                         headers={"kid": "rs1", "jku": "http://127.0.0.1:1/jwks.json"})
        # kid of the RSA key, but alg HS256 keyed with that RSA public key.
        kid_header = b64url(json.dumps({"alg": "HS256", "kid": "rs1"}).encode())
        kid_confused = "%s.%s.%s" % (kid_header, payload, b64url(
            hmac.new(rsa_pem, ("%s.%s" % (kid_header, payload)).encode(), hashlib.sha256).digest()))
        es = self.token(alg="ES256").split(".")
        raw_sig = b64url_decode(es[2])
        der_sig = encode_dss_signature(int.from_bytes(raw_sig[:32], "big"),
                                       int.from_bytes(raw_sig[32:], "big"))
        es_der = "%s.%s.%s" % (es[0], es[1], b64url(der_sig))
        crit = self.keys.mint(sub="alice", headers={"crit": ["exp"]})
        hs_header = '{"alg":"HS256","kid":"hs1"}'
        claims_tail = '"iss":"%s","aud":"%s","iat":%d' % (ISSUER, AUDIENCE, now)
        duplicate_sub = self.keys.sign_raw(
            hs_header, '{"sub":"alice","sub":"admin",%s,"exp":%d}' % (claims_tail, now + 300))
        duplicate_alg = self.keys.sign_raw(
            '{"alg":"HS256","kid":"hs1","alg":"none"}',
            '{"sub":"alice",%s,"exp":%d}' % (claims_tail, now + 300))
        string_exp = self.keys.sign_raw(
            hs_header, '{"sub":"alice",%s,"exp":"%d"}' % (claims_tail, now + 300))
        array_payload = self.keys.sign_raw(hs_header, '["sub","alice"]')
        cases = {
            "expired": (self.token(now=now - 7200, ttl=3600), ("expired",)),
            "bad_signature": (self.keys.mint_with_secret(self.keys.other_secret, sub="alice"),
                              ("bad_signature",)),
            "alg_none": (self.keys.unsigned(sub="alice"), ("alg_not_allowed", "malformed")),
            "wrong_issuer": (self.token(issuer="https://evil.example"), ("issuer_mismatch",)),
            "wrong_audience": (self.token(audience="other-api"), ("audience_mismatch",)),
            "not_yet_valid": (self.token(nbf=now + 3600), ("not_yet_valid",)),
            "unknown_kid": (self.token(kid="no-such-kid"), ("unknown_kid",)),
            "missing_exp": (self.token(ttl=None), ("missing_claim",)),
            "garbage": ("not-a-jwt", ("malformed",)),
            "padding": (good + "=", ("malformed",)),
            "four_parts": (good + ".AAAA", ("malformed",)),
            "five_parts_jwe": ("eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d",
                               ("unsupported_token", "malformed")),
            "alg_confusion": (confused, ("bad_signature", "alg_not_allowed")),
            "kid_alg_confusion": (kid_confused, ("alg_not_allowed", "bad_signature",
                                                 "unknown_kid")),
            "embedded_jwk": (embedded, ("bad_signature",)),
            "jku_header": (jku, ("bad_signature",)),
            "ecdsa_der_signature": (es_der, ("bad_signature",)),
            "crit_header": (crit, ("malformed",)),
            "duplicate_claim": (duplicate_sub, ("malformed",)),
            "duplicate_header_member": (duplicate_alg, ("malformed",)),
            "string_exp": (string_exp, ("malformed",)),
            "payload_not_object": (array_payload, ("malformed",)),
            "tampered_payload": (good.split(".")[0] + "." + b64url(json.dumps(
                {"sub": "root", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 300}).encode())
                + "." + good.split(".")[2], ("bad_signature",)),
        }
        for name, (tok, reasons) in cases.items():
            with self.subTest(case=name):
                before = self.app.hit_count()
                resp = self.gw.get("/api/orders", token=tok)
                body = self.assertAuthError(resp, 401, "invalid_token", reasons)
                self.assertIn("error_description=", resp.header("WWW-Authenticate"))
                self.assertIsInstance(body["error_description"], str)
                self.assertNotForwarded(before)

    def test_time_and_audience_leeway(self):
        now = int(time.time())
        cases = {
            "exp_within_skew": self.token(now=now - 330, ttl=300),   # expired 30 s ago, skew 60 s
            "nbf_within_skew": self.token(nbf=now + 30),
            "fractional_times": self.keys.sign_raw(
                '{"alg":"HS256","kid":"hs1"}',
                '{"sub":"alice","iss":"%s","aud":"%s","iat":%d.25,"exp":%d.5}'
                % (ISSUER, AUDIENCE, now, now + 300)),
            "audience_array": self.token(audience=["other-api", AUDIENCE]),
        }
        for name, tok in cases.items():
            with self.subTest(case=name):
                resp = self.gw.get("/api/leeway", token=tok)
                self.assertEqual(resp.status, 200, resp)

    # -- 403 -----------------------------------------------------------------------

    def test_insufficient_scope(self):
        before = self.app.hit_count()
        resp = self.gw.get("/admin/users", token=self.token(scope="read write"))
        self.assertAuthError(resp, 403, "insufficient_scope", "insufficient_scope")
        www = resp.header("WWW-Authenticate")
        self.assertIn('error="insufficient_scope"', www)
        self.assertIn('scope="admin"', www)
        self.assertNotForwarded(before)

    def test_scope_from_scope_string_and_scp_array(self):
        for claims in ({"scope": "read admin"}, {"scp": ["read", "admin"]}):
            with self.subTest(claims=claims):
                resp = self.gw.get("/admin/users", token=self.token(**claims))
                self.assertEqual(resp.status, 200, resp)
                self.assertEqual(echo_json(resp)["path"], "/admin/users")

    def test_route_claims(self):
        before = self.app.hit_count()
        resp = self.gw.get("/finance/report", token=self.token(role="guest"))
        self.assertAuthError(resp, 403, "insufficient_scope", ("insufficient_scope", "claim_mismatch"))
        self.assertNotForwarded(before)
        resp = self.gw.get("/finance/report", token=self.token(role="owner"))
        self.assertEqual(resp.status, 200, resp)

    def test_prefix_matches_whole_segments(self):
        # /administrator is not under /admin: no route matches it.
        before = self.app.hit_count()
        resp = self.gw.get("/administrator")
        self.assertEqual(resp.status, 404, resp)
        self.assertNotForwarded(before)
        resp = self.gw.get("/admin")
        self.assertEqual(resp.status, 401, resp)
        resp = self.gw.get("/admin/")
        self.assertEqual(resp.status, 401, resp)

    # -- 404 -----------------------------------------------------------------------

    def test_no_route(self):
        before = self.app.hit_count()
        resp = self.gw.get("/nowhere")
        self.assertEqual(resp.status, 404, resp)
        self.assertIn("json", (resp.header("Content-Type") or "").lower())
        self.assertIn("error", resp.json())
        self.assertNotForwarded(before)

    def test_methods_and_host_restrict_a_route(self):
        self.assertEqual(self.gw.get("/readonly").status, 200)
        before = self.app.hit_count()
        resp = self.gw.request("POST", "/readonly", body=b"x")
        self.assertEqual(resp.status, 404, resp)
        self.assertNotForwarded(before)
        resp = self.gw.get("/hosted/x", headers=[("Host", "api.example.com:8443")])
        self.assertEqual(resp.status, 200, resp)
        resp = self.gw.get("/hosted/x", headers=[("Host", "other.example.com")])
        self.assertEqual(resp.status, 404, resp)

    def test_matching_is_case_sensitive(self):
        before = self.app.hit_count()
        resp = self.gw.get("/API/orders")
        self.assertEqual(resp.status, 404, resp)
        self.assertNotForwarded(before)

    # -- 413 / 431 -----------------------------------------------------------------

    def test_body_too_large_with_content_length(self):
        before = self.app.hit_count()
        resp = self.gw.request("POST", "/public/upload-413", body=b"a" * 2048)
        self.assertEqual(resp.status, 413, resp)
        self.assertIn("error", resp.json())
        self.assertNotIn("/public/upload-413", self.app.paths_seen())
        self.assertNotForwarded(before)

    def test_body_too_large_chunked(self):
        # The length is known only while streaming, so the head may have gone upstream
        # already; the client must still get the 413.
        path = "/public/upload-chunked-413"
        resp = self.gw.request("POST", path, body=[b"a" * 600, b"b" * 600, b"c" * 600],
                               chunked=True)
        self.assertEqual(resp.status, 413, resp)
        self.assertIn("error", resp.json())
        # Let a forwarded head land now, not inside the next test's hit count.
        deadline = time.monotonic() + 3
        while path not in self.app.paths_seen() and time.monotonic() < deadline:
            time.sleep(0.05)

    def test_body_at_limit_passes(self):
        resp = self.gw.request("POST", "/public/upload", body=b"a" * 1024)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(echo_json(resp)["body_length"], 1024)

    def test_head_too_large(self):
        before = self.app.hit_count()
        resp = self.gw.get("/public/x", headers=[("X-Padding", "p" * 6000)])
        self.assertEqual(resp.status, 431, resp)
        self.assertIn("error", resp.json())
        self.assertNotForwarded(before)

    # -- 502 / 504 -----------------------------------------------------------------

    def test_upstream_port_closed(self):
        resp = self.gw.get("/dead/x")
        self.assertEqual(resp.status, 502, resp)
        self.assertIn("error", resp.json())

    def test_upstream_garbage_and_no_answer(self):
        for path in ("/broken/garbage", "/broken/close"):
            with self.subTest(path=path):
                resp = self.gw.get(path)
                self.assertEqual(resp.status, 502, resp)
                self.assertIn("error", resp.json())

    def test_upstream_truncated_body_is_not_completed(self):
        # The head has gone to the client already: the only honest signal left is
        # closing the client connection before the announced length.
        with self.gw.connect(timeout=10) as conn:
            try:
                resp = conn.request("GET", "/broken/truncated")
            except ConnectionClosed:
                return
        # A gateway that read the whole body before answering may say 502 instead.
        self.assertEqual(resp.status, 502, "a truncated upstream body was completed: %r" % resp)

    def test_upstream_timeout(self):
        start = time.monotonic()
        resp = self.gw.get("/slow/x", timeout=15)
        elapsed = time.monotonic() - start
        self.assertEqual(resp.status, 504, resp)
        self.assertIn("error", resp.json())
        self.assertLess(elapsed, 3.8, "504 came only after the upstream answered")

    # -- token sources -------------------------------------------------------------

    def test_token_sources(self):
        cases = {
            "lowercase_prefix": lambda t: ([("Authorization", "bearer " + t)], "/api/x"),
            "uppercase_prefix": lambda t: ([("Authorization", "BEARER " + t)], "/api/x"),
            "cookie": lambda t: ([("Cookie", "theme=dark; access_token=%s; lang=en" % t)], "/api/x"),
            "query": lambda t: ([], "/api/x?a=1&access_token=%s" % t),
        }
        for name, build in cases.items():
            with self.subTest(source=name):
                tok = self.token(sub="src-" + name)
                headers, target = build(tok)
                resp = self.gw.request("GET", target, headers=headers)
                self.assertEqual(resp.status, 200, resp)
                self.assertEqual(echo_header(echo_json(resp), "X-User-Id"), ["src-" + name])

    # -- optional auth -------------------------------------------------------------

    def test_optional_route(self):
        resp = self.gw.get("/maybe/x", headers=[("X-User-Id", "spoofed")])
        self.assertEqual(resp.status, 200, resp)
        data = echo_json(resp)
        for name in ("X-User-Id", "X-User-Roles", "X-Jwt-Payload", "X-Tenant"):
            self.assertEqual(echo_header(data, name), [], name)

        before = self.app.hit_count()
        resp = self.gw.get("/maybe/x", token=self.keys.mint_with_secret(self.keys.other_secret))
        self.assertAuthError(resp, 401, "invalid_token", "bad_signature")
        self.assertNotForwarded(before)

        resp = self.gw.get("/maybe/x", token=self.token(sub="bob"))
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(echo_header(echo_json(resp), "X-User-Id"), ["bob"])

    # -- access log ----------------------------------------------------------------

    FIELD_NAMES = {
        "time": ("time", "ts", "timestamp", "@timestamp"),
        "request_id": ("request_id", "requestId", "id", "req_id", "x_request_id"),
        "method": ("method",),
        "path": ("path",),
        "route": ("route",),
        "status": ("status",),
        "auth": ("auth", "auth_result", "reason", "auth_reason", "result"),
        "subject": ("subject", "sub", "user"),
        "upstream": ("upstream",),
        "duration": ("duration", "duration_ms", "duration_us", "latency", "latency_ms",
                     "duration_s", "elapsed_ms"),
    }

    def _find_entry(self, request_id, timeout=5.0):
        found = []

        def has(_lines):
            found[:] = [e for e in self.gw.access_log() if request_id in map(str, e.values())]
            return bool(found)

        self.gw.wait_for_output(has, timeout=timeout, stream="stdout")
        return found

    def _field(self, entry, concept):
        for name in self.FIELD_NAMES[concept]:
            if name in entry:
                return entry[name]
        self.fail("access log entry has no %s field (%s): %r"
                  % (concept, "/".join(self.FIELD_NAMES[concept]), entry))

    def test_access_log_line_per_request(self):
        tok = self.token(sub="logged-user")
        resp = self.gw.get("/api/logged?x=1", token=tok, headers=[("X-Request-Id", "rid-ok-1")])
        self.assertEqual(resp.status, 200)
        entries = self._find_entry("rid-ok-1")
        self.assertEqual(len(entries), 1, "want exactly one access log line: %r" % entries)
        entry = entries[0]
        self.assertTrue(self._field(entry, "time"))
        self.assertEqual(self._field(entry, "request_id"), "rid-ok-1")
        self.assertEqual(self._field(entry, "method"), "GET")
        self.assertEqual(self._field(entry, "path"), "/api/logged")
        self.assertEqual(self._field(entry, "route"), "api")
        self.assertEqual(int(self._field(entry, "status")), 200)
        self.assertIsNotNone(self._field(entry, "auth"))
        self.assertEqual(self._field(entry, "subject"), "logged-user")
        upstream = json.dumps(self._field(entry, "upstream"))
        self.assertTrue("app" in upstream or str(self.app.port) in upstream, entry)
        self.assertIsInstance(self._field(entry, "duration"), (int, float, str))

        resp = self.gw.get("/api/logged", token=self.token(now=int(time.time()) - 7200, ttl=60),
                           headers=[("X-Request-Id", "rid-expired-1")])
        self.assertEqual(resp.status, 401)
        entries = self._find_entry("rid-expired-1")
        self.assertEqual(len(entries), 1, entries)
        self.assertEqual(int(self._field(entries[0], "status")), 401)
        self.assertIn("expired", json.dumps(entries[0]))

    def test_tokens_never_logged(self):
        tok = self.token(sub="secret-user")
        self.gw.get("/api/x", token=tok, headers=[("X-Request-Id", "rid-secret")])
        self.gw.get("/api/x?access_token=" + tok)
        bad = self.keys.mint_with_secret(self.keys.other_secret, sub="secret-user")
        self.gw.get("/api/x", token=bad, headers=[("X-Request-Id", "rid-secret-bad")])
        self._find_entry("rid-secret-bad")
        for t in [tok, bad] + self.tokens_used:
            self.assertTokenNotLogged(self.gw, t)

    # -- admin ---------------------------------------------------------------------

    def test_admin_health_and_readiness(self):
        resp = self.gw.admin_get("/healthz")
        self.assertEqual(resp.status, 200, resp)
        resp = self.gw.admin_get("/readyz")
        self.assertEqual(resp.status, 200, resp)

    def test_admin_metrics(self):
        self.assertEqual(self.gw.get("/api/metric-probe").status, 401)
        self.assertEqual(self.gw.get("/public/metric-probe").status, 200)
        self.gw.get("/api/x", token=self.token(now=int(time.time()) - 7200, ttl=60))
        resp = self.gw.admin_get("/metrics")
        self.assertEqual(resp.status, 200, resp)
        self.assertIn("text/plain", (resp.header("Content-Type") or ""))
        samples = parse_metrics(resp.body.decode())
        self.assertTrue(samples)
        for name, _, _ in samples:
            self.assertTrue(name.startswith("jwtgate_"), name)
        requests = [(l, v) for n, l, v in samples if n == "jwtgate_requests_total"]
        self.assertTrue(requests, "no jwtgate_requests_total samples")
        by_route_status = {(l.get("route"), l.get("status", l.get("code"))): v
                           for l, v in requests}
        self.assertGreaterEqual(by_route_status.get(("public", "200"), 0), 1, requests)
        self.assertGreaterEqual(by_route_status.get(("api", "401"), 0), 1, requests)
        failures = [(n, l) for n, l, v in samples
                    if l.get("reason") == "expired" and l.get("provider") == "corp" and v >= 1]
        self.assertTrue(failures, "no auth failure sample with provider=corp reason=expired")


if __name__ == "__main__":
    unittest.main()


class KeysFromJwksUrlTest(GatewayTestCase):
    """SPEC section 6, as seen from the proxy: no usable keys -> keys_unavailable and
    /readyz 503; keys fetched from a jwks_url verify tokens."""

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        cls.jwks = StaticUpstream()
        cls.addClassCleanup(cls.jwks.close)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(cls.keys.rsa_key.public_key()))
        jwk.update({"kid": "remote-rs", "alg": "RS256", "use": "sig"})
        cls.jwks.documents["/jwks.json"] = (200, "application/json",
                                            json.dumps({"keys": [jwk]}).encode())
        providers = {
            "remote": {"issuer": ISSUER, "algorithms": ["RS256"],
                       "keys": [{"jwks_url": cls.jwks.url_for("/jwks.json")}],
                       "headers": {"X-User-Id": "sub"}},
            "unreachable": {"issuer": ISSUER, "algorithms": ["RS256"],
                            "keys": [{"jwks_url": "http://127.0.0.1:%d/jwks.json" % free_port()}],
                            "headers": {"X-User-Id": "sub"}},
        }
        routes = [
            {"name": "remote", "path_prefix": "/remote", "upstream": "app",
             "auth": {"providers": ["remote"]}},
            {"name": "unreachable", "path_prefix": "/unreachable", "upstream": "app",
             "auth": {"providers": ["unreachable"]}},
        ]
        cls.gw = start_gateway(cls, gateway_config({"app": cls.app.url}, routes,
                                                   providers=providers))

    def remote_token(self, kid="remote-rs", sub="remote-user"):
        return self.keys.mint(alg="RS256", kid=kid, sub=sub)

    def test_keys_from_jwks_url_verify_tokens(self):
        deadline = time.monotonic() + 5
        resp = None
        while time.monotonic() < deadline:
            resp = self.gw.get("/remote/x", token=self.remote_token())
            if resp.status == 200:
                break
            time.sleep(0.1)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(echo_header(echo_json(resp), "X-User-Id"), ["remote-user"])
        self.assertGreaterEqual(self.jwks.hit_count("/jwks.json"), 1)

    def test_provider_without_keys(self):
        before = self.app.hit_count()
        resp = self.gw.get("/unreachable/x", token=self.remote_token())
        self.assertAuthError(resp, 401, "invalid_token", "keys_unavailable")
        self.assertEqual(self.app.hit_count(), before)
        ready = self.gw.admin_get("/readyz")
        self.assertEqual(ready.status, 503, ready)
        self.assertIsInstance(ready.json(), dict)
        self.assertEqual(self.gw.admin_get("/healthz").status, 200)

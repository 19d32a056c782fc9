"""What the upstream receives (SPEC section 4): identity headers, spoofing defence,
X-Forwarded-*, X-Request-Id, hop-by-hop removal, forward_token, path normalization."""

import json
import unittest

from harness import (EchoUpstream, GatewayTestCase, TestKeys, b64url_decode, echo_header,
                     echo_json, gateway_config, provider_config, start_gateway)

IDENTITY_HEADERS = ("X-User-Id", "X-User-Roles", "X-Tenant", "X-User-Level", "X-Jwt-Payload")


class ProxyHeadersTest(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        token_sources = [{"header": "Authorization", "prefix": "Bearer "},
                         {"cookie": "access_token"}, {"query": "access_token"}]
        providers = {
            "corp": provider_config(cls.keys, token_from=token_sources),
            "stripped": provider_config(cls.keys, token_from=token_sources,
                                        headers={"X-Strip-User": "sub"},
                                        payload_header="X-Strip-Payload",
                                        forward_token=False),
        }
        routes = [
            {"name": "admin", "path_prefix": "/admin", "upstream": "app",
             "auth": {"providers": ["corp"]}},
            {"name": "api", "path_prefix": "/api", "upstream": "app",
             "auth": {"providers": ["corp"]}},
            {"name": "strip", "path_prefix": "/strip", "upstream": "app",
             "auth": {"providers": ["stripped"]}},
            {"name": "rest", "path_prefix": "/", "upstream": "app", "auth": "none"},
        ]
        cls.gw = start_gateway(cls, gateway_config({"app": cls.app.url}, routes,
                                                   providers=providers,
                                                   server={"max_header_bytes": 65536}))

    def tearDown(self):
        self.assertTrue(self.gw.alive(), "gateway died:\n" + self.gw.stderr_text()[-3000:])

    def echo(self, target, headers=None, token=None, method="GET"):
        headers = list(headers or [])
        if token:
            headers.append(("Authorization", "Bearer " + token))
        resp = self.gw.request(method, target, headers=headers)
        self.assertEqual(resp.status, 200, resp)
        return echo_json(resp)

    # -- identity --------------------------------------------------------------------

    def test_identity_headers_from_claims(self):
        tok = self.keys.mint(sub="alice", realm_access={"roles": ["reader", "writer"]},
                             org={"tenant": {"id": "t-42"}}, level=3)
        data = self.echo("/api/me", token=tok)
        self.assertEqual(echo_header(data, "X-User-Id"), ["alice"])
        self.assertEqual(echo_header(data, "X-User-Roles"), ["reader,writer"])
        self.assertEqual(echo_header(data, "X-Tenant"), ["t-42"])
        self.assertEqual(echo_header(data, "X-User-Level"), ["3"])
        payload = echo_header(data, "X-Jwt-Payload")
        self.assertEqual(len(payload), 1)
        self.assertNotIn("=", payload[0])  # unpadded base64url
        self.assertEqual(json.loads(b64url_decode(payload[0])),
                         json.loads(b64url_decode(tok.split(".")[1])))

    def test_absent_claim_sets_no_header(self):
        data = self.echo("/api/me", token=self.keys.mint(sub="bob"))
        self.assertEqual(echo_header(data, "X-User-Id"), ["bob"])
        self.assertEqual(echo_header(data, "X-Tenant"), [])
        self.assertEqual(echo_header(data, "X-User-Roles"), [])

    def test_spoofed_identity_headers_never_arrive(self):
        spoofs = [("X-User-Id", "evil"), ("x-user-id", "evil2"), ("X-USER-ROLES", "admin"),
                  ("x-TeNaNt", "other"), ("X-Jwt-Payload", "e30"), ("x-strip-user", "evil3"),
                  ("X-Strip-Payload", "e30")]
        tok = self.keys.mint(sub="alice", realm_access={"roles": ["reader"]})
        data = self.echo("/api/me", headers=spoofs, token=tok)
        self.assertEqual(echo_header(data, "X-User-Id"), ["alice"])
        self.assertEqual(echo_header(data, "X-User-Roles"), ["reader"])
        self.assertEqual(echo_header(data, "X-Tenant"), [])
        self.assertEqual(echo_header(data, "X-Strip-User"), [])
        self.assertEqual(echo_header(data, "X-Strip-Payload"), [])
        # On a route without auth, too: every provider's injected names are removed.
        data = self.echo("/open/page", headers=spoofs)
        for name in IDENTITY_HEADERS + ("X-Strip-User", "X-Strip-Payload"):
            self.assertEqual(echo_header(data, name), [], name)

    def test_claim_with_control_characters_fails(self):
        for sub in ("alice\r\nX-Evil: 1", "alice\nX-Evil: 1", "alice\x00root"):
            with self.subTest(sub=repr(sub)):
                before = self.app.hit_count()
                resp = self.gw.get("/api/me", token=self.keys.mint(sub=sub))
                self.assertAuthError(resp, 401, "invalid_token", "claim_mismatch")
                self.assertEqual(self.app.hit_count(), before)

    def test_token_over_16_kib_is_malformed(self):
        tok = self.keys.mint(sub="alice", padding="p" * 17000)
        self.assertGreater(len(tok), 16384)
        before = self.app.hit_count()
        resp = self.gw.get("/api/me", token=tok)
        self.assertAuthError(resp, 401, "invalid_token", "malformed")
        self.assertEqual(self.app.hit_count(), before)

    # -- forwarding headers ----------------------------------------------------------

    def test_x_forwarded_for_is_appended(self):
        data = self.echo("/open/xff", headers=[("X-Forwarded-For", "203.0.113.7")])
        chain = [p.strip() for v in echo_header(data, "X-Forwarded-For") for p in v.split(",")]
        self.assertEqual(chain, ["203.0.113.7", "127.0.0.1"])
        data = self.echo("/open/xff")
        chain = [p.strip() for v in echo_header(data, "X-Forwarded-For") for p in v.split(",")]
        self.assertEqual(chain, ["127.0.0.1"])

    def test_forwarded_proto_host_and_host_kept(self):
        data = self.echo("/open/fwd", headers=[("Host", "shop.example.com:8080")])
        self.assertEqual(echo_header(data, "Host"), ["shop.example.com:8080"])
        self.assertEqual(echo_header(data, "X-Forwarded-Proto"), ["http"])
        self.assertIn(echo_header(data, "X-Forwarded-Host"),
                      (["shop.example.com:8080"], ["shop.example.com"]))

    def test_request_id_added_or_kept(self):
        data = self.echo("/open/rid")
        ids = echo_header(data, "X-Request-Id")
        self.assertEqual(len(ids), 1)
        self.assertTrue(ids[0].strip())
        other = echo_header(self.echo("/open/rid"), "X-Request-Id")
        self.assertNotEqual(ids, other, "request ids must differ between requests")
        data = self.echo("/open/rid", headers=[("X-Request-Id", "client-rid-77")])
        self.assertEqual(echo_header(data, "X-Request-Id"), ["client-rid-77"])

    def test_hop_by_hop_headers_removed(self):
        headers = [("Connection", "keep-alive, X-Hop-Secret"), ("X-Hop-Secret", "1"),
                   ("Keep-Alive", "timeout=5"),
                   ("Proxy-Connection", "keep-alive"), ("X-End-To-End", "kept")]
        data = self.echo("/open/hop", headers=headers)
        for name in ("X-Hop-Secret", "Keep-Alive", "Proxy-Connection"):
            self.assertEqual(echo_header(data, name), [], name)
        for value in echo_header(data, "Connection"):
            self.assertNotIn("x-hop-secret", value.lower())
        self.assertEqual(echo_header(data, "X-End-To-End"), ["kept"])

    def test_duplicate_end_to_end_headers_kept(self):
        data = self.echo("/open/dup", headers=[("X-Multi", "a"), ("X-Multi", "b")])
        values = [p.strip() for v in echo_header(data, "X-Multi") for p in v.split(",")]
        self.assertEqual(values, ["a", "b"])

    # -- forward_token ---------------------------------------------------------------

    def test_token_forwarded_by_default(self):
        tok = self.keys.mint(sub="alice")
        data = self.echo("/api/me", token=tok)
        self.assertEqual(echo_header(data, "Authorization"), ["Bearer " + tok])

    def test_forward_token_false_strips_every_source(self):
        tok = self.keys.mint(sub="carol")
        data = self.echo("/strip/h", token=tok)
        self.assertEqual(echo_header(data, "Authorization"), [])
        self.assertEqual(echo_header(data, "X-Strip-User"), ["carol"])

        data = self.echo("/strip/c", headers=[("Cookie", "a=1; access_token=%s; b=2" % tok)])
        self.assertEqual(echo_header(data, "X-Strip-User"), ["carol"])
        cookies = [c.strip() for v in echo_header(data, "Cookie") for c in v.split(";")]
        self.assertIn("a=1", cookies)
        self.assertIn("b=2", cookies)
        self.assertFalse([c for c in cookies if c.startswith("access_token")], cookies)

        data = self.echo("/strip/q?x=1&access_token=%s&y=2" % tok)
        self.assertEqual(echo_header(data, "X-Strip-User"), ["carol"])
        self.assertNotIn(tok, data["target"])
        self.assertEqual([p for p in data["query"].split("&") if p], ["x=1", "y=2"])
        for _, value in data["headers"]:
            self.assertNotIn(tok.rsplit(".", 1)[1], value)

    # -- path normalization ----------------------------------------------------------

    def test_normalized_path_is_forwarded(self):
        cases = {
            "/a/./b/../c": "/a/c",
            "//x": "/x",
            "/%41bc": "/Abc",
            "/a//b///c": "/a/b/c",
            "/a/b/..": "/a/",
            "/../x": "/x",
            "/%7Euser/%2d": "/~user/-",
            "/a/%2e%2e/b": "/b",
        }
        for target, expected in cases.items():
            with self.subTest(target=target):
                data = self.echo(target)
                self.assertEqual(data["path"], expected)

    def test_absolute_form_target(self):
        data = self.echo("http://shop.example.com/a/./b?z=1",
                         headers=[("Host", "shop.example.com")])
        self.assertEqual(data["path"], "/a/b")
        self.assertEqual(data["query"], "z=1")

    def test_query_forwarded_unchanged(self):
        data = self.echo("/open/q?b=2&a=%2F&a=../x&flag")
        self.assertEqual(data["query"], "b=2&a=%2F&a=../x&flag")

    def test_authorization_judges_the_normalized_path(self):
        data = self.echo("/admin/../open/x")
        self.assertEqual(data["path"], "/open/x")
        for target in ("/open/../admin/x", "/%61dmin/x", "/open/%2e%2e/admin/x", "//admin/x",
                       "/admin/./x", "/./admin"):
            with self.subTest(target=target):
                before = self.app.hit_count()
                resp = self.gw.get(target)
                self.assertAuthError(resp, 401, "missing_token", "missing_token")
                self.assertEqual(self.app.hit_count(), before)
        tok = self.keys.mint(sub="alice")
        data = self.echo("/open/%2e%2e/admin/x", token=tok)
        self.assertEqual(data["path"], "/admin/x")


if __name__ == "__main__":
    unittest.main()

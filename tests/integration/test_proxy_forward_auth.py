"""Forward-auth decisions (SPEC section 4): nginx auth_request / Traefik ForwardAuth
style requests to forward_auth.path are judged, never proxied."""

import unittest

from harness import (EchoUpstream, GatewayTestCase, TestKeys, echo_json, gateway_config,
                     provider_config, start_gateway)

NGINX = ("X-Original-Method", "X-Original-URI")
TRAEFIK = ("X-Forwarded-Method", "X-Forwarded-Uri")


class ProxyForwardAuthTest(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        routes = [
            {"name": "admin", "path_prefix": "/admin", "upstream": "app",
             "auth": {"providers": ["corp"], "scopes": ["admin"]}},
            {"name": "decide_only", "path_prefix": "/decide-only",
             "auth": {"providers": ["corp"]}},
            {"name": "public", "path_prefix": "/public", "upstream": "app", "auth": "none"},
            {"name": "writes", "path_prefix": "/writes", "methods": ["POST"], "upstream": "app",
             "auth": {"providers": ["corp"]}},
            {"name": "api", "path_prefix": "/api", "upstream": "app",
             "auth": {"providers": ["corp"]}},
        ]
        config = gateway_config({"app": cls.app.url}, routes,
                                providers={"corp": provider_config(cls.keys)},
                                forward_auth={"path": "/_auth"})
        cls.gw = start_gateway(cls, config)

    def tearDown(self):
        self.assertTrue(self.gw.alive(), "gateway died:\n" + self.gw.stderr_text()[-3000:])

    def decide(self, uri, method="GET", token=None, style=NGINX, extra=()):
        headers = [(style[0], method), (style[1], uri)]
        if token is not None:
            headers.append(("Authorization", "Bearer " + token))
        headers.extend(extra)
        before = self.app.hit_count()
        resp = self.gw.get("/_auth", headers=headers)
        self.assertEqual(self.app.hit_count(), before, "a forward-auth request was proxied")
        return resp

    def test_valid_token_both_header_styles(self):
        tok = self.keys.mint(sub="alice", realm_access={"roles": ["a", "b"]})
        for style in (NGINX, TRAEFIK):
            with self.subTest(style=style[1]):
                resp = self.decide("/api/orders?id=1", token=tok, style=style,
                                   extra=[("X-User-Id", "spoofed")])
                self.assertEqual(resp.status, 200, resp)
                self.assertEqual(resp.header_all("X-User-Id"), ["alice"])
                self.assertEqual(resp.header_all("X-User-Roles"), ["a,b"])

    def test_missing_token(self):
        for style in (NGINX, TRAEFIK):
            with self.subTest(style=style[1]):
                resp = self.decide("/api/orders", style=style)
                self.assertAuthError(resp, 401, "missing_token", "missing_token")
                self.assertEqual(resp.header("WWW-Authenticate"), 'Bearer realm="jwtgate"')
                self.assertEqual(resp.header_all("X-User-Id"), [])

    def test_invalid_token(self):
        bad = self.keys.mint(sub="alice", ttl=-3600)
        resp = self.decide("/api/orders", token=bad)
        self.assertAuthError(resp, 401, "invalid_token", "expired")

    def test_insufficient_scope(self):
        resp = self.decide("/admin/panel", token=self.keys.mint(sub="alice", scope="read"))
        self.assertAuthError(resp, 403, "insufficient_scope", "insufficient_scope")
        self.assertIn('scope="admin"', resp.header("WWW-Authenticate"))
        resp = self.decide("/admin/panel", token=self.keys.mint(sub="alice", scope="admin"))
        self.assertEqual(resp.status, 200, resp)

    def test_original_uri_is_normalized(self):
        self.assertEqual(self.decide("/admin/../public/x").status, 200)
        for uri in ("/public/../admin/x", "/%61dmin/x", "//admin/x"):
            with self.subTest(uri=uri):
                resp = self.decide(uri)
                self.assertAuthError(resp, 401, "missing_token", "missing_token")
        resp = self.decide("/public/a%2Fb")
        self.assertEqual(resp.status, 400, resp)

    def test_original_method_is_matched(self):
        tok = self.keys.mint(sub="alice")
        self.assertEqual(self.decide("/writes/x", method="POST", token=tok).status, 200)
        self.assertEqual(self.decide("/writes/x", method="GET", token=tok).status, 404)

    def test_no_route(self):
        self.assertEqual(self.decide("/nowhere").status, 404)

    def test_decision_only_route(self):
        tok = self.keys.mint(sub="alice")
        resp = self.decide("/decide-only/x", token=tok)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.header_all("X-User-Id"), ["alice"])
        before = self.app.hit_count()
        resp = self.gw.get("/decide-only/x", token=tok)
        self.assertEqual(resp.status, 404, resp)
        self.assertEqual(self.app.hit_count(), before)

    def test_ordinary_requests_still_proxied(self):
        resp = self.gw.get("/public/x")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(echo_json(resp)["path"], "/public/x")


if __name__ == "__main__":
    unittest.main()

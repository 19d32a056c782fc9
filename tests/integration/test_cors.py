"""CORS for browser clients (SPEC section 10), over raw HTTP against the real binary:
preflights answered by the gateway (204/403, never proxied, matched by the method
they ask for), CORS fields on every response to an allowed origin, the gateway's
own errors included, the upstream's Access-Control-* replaced, Vary: Origin."""

import unittest

from test_jwks import wait_until

from harness import (GatewayTestCase, EchoUpstream, TestKeys, _RawServer, gateway_config,
                     provider_config, start_gateway)

APP = "https://app.example.test"
OTHER = "https://evil.example.test"


class CorsUpstream(_RawServer):
    """Answers every request 200 with its own (wrong) CORS fields."""

    def serve(self, conn):
        while True:
            head, _ = self.read_head(conn)
            if head is None:
                return
            with self.lock:
                self.hits += 1
            body = b'{"upstream":true}'
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Access-Control-Allow-Origin: *\r\n"
                         b"access-control-allow-credentials: false\r\n"
                         b"Access-Control-Expose-Headers: X-Secret\r\n"
                         b"Vary: Accept-Encoding\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)


def cors_fields(resp):
    return {k.lower(): v for k, v in resp.headers if k.lower().startswith("access-control-")}


class Cors(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.echo = EchoUpstream()
        cls.addClassCleanup(cls.echo.close)
        cls.raw = CorsUpstream()
        cls.addClassCleanup(cls.raw.close)
        cors = {"allow_origins": [APP, "http://127.0.0.1:5173"],
                "allow_methods": ["GET", "POST", "PUT"],
                "allow_headers": ["Authorization", "Content-Type"],
                "expose_headers": ["X-Request-Id", "X-Upstream"],
                "allow_credentials": True, "max_age": "10m"}
        routes = [
            {"name": "put-only", "path_prefix": "/api/items", "methods": ["PUT"], "upstream": "app",
             "auth": {"providers": ["corp"]},
             "cors": {"allow_origins": ["https://put.example.test"], "allow_methods": ["PUT"]}},
            {"name": "api", "path_prefix": "/api", "upstream": "app",
             "auth": {"providers": ["corp"]}, "cors": cors},
            {"name": "raw", "path_prefix": "/raw", "upstream": "raw", "auth": "none", "cors": cors},
            {"name": "plain-raw", "path_prefix": "/plain-raw", "upstream": "raw", "auth": "none"},
            {"name": "down", "path_prefix": "/down", "upstream": "down", "auth": "none", "cors": cors},
            {"name": "decisions", "path_prefix": "/decide", "auth": "none", "cors": cors},
            {"name": "plain", "path_prefix": "/plain", "upstream": "app", "auth": {"providers": ["corp"]}},
        ]
        config = gateway_config(
            upstreams={"app": cls.echo.url, "raw": cls.raw.url,
                       "down": {"url": "http://127.0.0.1:1", "connect_timeout": "1s"}},
            routes=routes, providers={"corp": provider_config(cls.keys)})
        cls.gw = start_gateway(cls, config)

    def preflight(self, path, origin=APP, method="POST", headers=None, host=None):
        h = [("Origin", origin), ("Access-Control-Request-Method", method)]
        if headers is not None:
            h.append(("Access-Control-Request-Headers", headers))
        return self.gw.request("OPTIONS", path, headers=h)

    # -- preflights ------------------------------------------------------------------

    def test_preflight_is_answered_without_a_token_and_never_proxied(self):
        before = self.echo.hit_count()
        resp = self.preflight("/api/orders", headers="authorization, content-type")
        self.assertEqual(resp.status, 204, resp)
        f = cors_fields(resp)
        self.assertEqual(f["access-control-allow-origin"], APP)
        self.assertEqual(f["access-control-allow-methods"], "GET, POST, PUT")
        self.assertEqual(f["access-control-allow-headers"], "Authorization, Content-Type")
        self.assertEqual(f["access-control-max-age"], "600")
        self.assertEqual(f["access-control-allow-credentials"], "true")
        self.assertIn("Origin", resp.header_all("Vary"))
        self.assertIsNone(resp.header("WWW-Authenticate"))
        self.assertEqual(self.echo.hit_count(), before)
        rid = resp.header("X-Request-Id")
        self.assertTrue(wait_until(lambda: any(e.get("request_id") == rid for e in self.gw.access_log()), 5))
        entry = [e for e in self.gw.access_log() if e.get("request_id") == rid][0]
        self.assertEqual((entry["status"], entry["auth"], entry["route"], entry["method"]),
                         (204, "preflight", "api", "OPTIONS"))

    def test_preflight_refusals_are_403_without_allow_fields(self):
        before = self.echo.hit_count()
        for origin, method, headers in [(OTHER, "POST", None), ("null", "GET", None),
                                        (APP + "/", "GET", None), ("https://app.example.test.evil.test", "GET", None),
                                        ("http://app.example.test", "GET", None),
                                        (APP, "DELETE", None), (APP, "GET", "x-admin"),
                                        (APP, "GET", "authorization, x-admin")]:
            resp = self.preflight("/api/orders", origin=origin, method=method, headers=headers)
            self.assertEqual(resp.status, 403, (origin, method, headers, resp))
            self.assertFalse([k for k in cors_fields(resp) if k.startswith("access-control-allow-")],
                             (origin, resp))
            self.assertEqual(resp.json()["error"], "forbidden")
        self.assertEqual(self.echo.hit_count(), before)

    def test_preflight_is_matched_by_the_requested_method(self):
        # PUT /api/items goes to the put-only route (its own origins), GET to the api route.
        put = self.preflight("/api/items/1", origin="https://put.example.test", method="PUT")
        self.assertEqual(put.status, 204, put)
        self.assertEqual(cors_fields(put)["access-control-allow-methods"], "PUT")
        self.assertNotIn("access-control-allow-credentials", cors_fields(put))
        self.assertEqual(self.preflight("/api/items/1", origin=APP, method="PUT").status, 403)
        get = self.preflight("/api/items/1", origin=APP, method="GET")
        self.assertEqual(get.status, 204, get)
        self.assertEqual(cors_fields(get)["access-control-allow-methods"], "GET, POST, PUT")

    def test_options_without_preflight_fields_is_an_ordinary_request(self):
        # No Access-Control-Request-Method: not a preflight, so the route's auth applies.
        resp = self.gw.request("OPTIONS", "/api/orders", headers=[("Origin", APP)])
        self.assertAuthError(resp, 401, "missing_token", "missing_token")
        self.assertEqual(cors_fields(resp)["access-control-allow-origin"], APP)
        # A preflight on a route without `cors` is not answered by the gateway either.
        resp = self.preflight("/plain/x", method="GET")
        self.assertAuthError(resp, 401, "missing_token", "missing_token")
        self.assertEqual(cors_fields(resp), {})
        # A preflight whose method matches no route: the usual 404, no CORS fields.
        resp = self.preflight("/nowhere", method="GET")
        self.assertEqual(resp.status, 404, resp)
        self.assertEqual(cors_fields(resp), {})

    # -- actual requests -------------------------------------------------------------

    def test_allowed_origin_gets_cors_fields_on_upstream_answers(self):
        token = self.keys.mint(sub="alice")
        resp = self.gw.get("/api/orders", headers=[("Origin", APP)], token=token)
        self.assertEqual(resp.status, 200, resp)
        f = cors_fields(resp)
        self.assertEqual(f, {"access-control-allow-origin": APP,
                             "access-control-allow-credentials": "true",
                             "access-control-expose-headers": "X-Request-Id, X-Upstream"})
        self.assertIn("Origin", resp.header_all("Vary"))
        # The Origin header itself reaches the upstream unchanged.
        self.assertIn(["Origin", APP], resp.json()["headers"])

    def test_gateway_errors_carry_cors_fields(self):
        h = [("Origin", APP)]
        cases = [
            (self.gw.get("/api/orders", headers=h), 401),
            (self.gw.get("/api/orders", headers=h, token="not.a.token"), 401),
            (self.gw.get("/api/orders", headers=h, token=self.keys.mint_with_secret(self.keys.other_secret)), 401),
            (self.gw.get("/down/x", headers=h), 502),
            (self.gw.get("/decide/x", headers=h), 404),
        ]
        for resp, status in cases:
            self.assertEqual(resp.status, status, resp)
            f = cors_fields(resp)
            self.assertEqual(f.get("access-control-allow-origin"), APP, resp)
            self.assertEqual(f.get("access-control-allow-credentials"), "true", resp)
            self.assertIn("Origin", resp.header_all("Vary"), resp)
            self.assertIn("json", resp.header("Content-Type"))

    def test_upstream_cors_fields_are_replaced(self):
        resp = self.gw.get("/raw/x", headers=[("Origin", APP)])
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.header_all("Access-Control-Allow-Origin"), [APP])
        self.assertEqual(resp.header_all("Access-Control-Allow-Credentials"), ["true"])
        self.assertEqual(resp.header_all("Access-Control-Expose-Headers"), ["X-Request-Id, X-Upstream"])
        vary = ",".join(resp.header_all("Vary"))
        self.assertIn("Accept-Encoding", vary)
        self.assertIn("Origin", vary)
        # Another origin: no CORS field at all, the upstream's included.
        other = self.gw.get("/raw/x", headers=[("Origin", OTHER)])
        self.assertEqual(other.status, 200)
        self.assertEqual(cors_fields(other), {})
        # A route without `cors` relays the upstream's fields untouched.
        plain = self.gw.get("/plain-raw/x", headers=[("Origin", OTHER)])
        self.assertEqual(plain.header("Access-Control-Allow-Origin"), "*")

    def test_other_origins_and_no_origin_get_no_cors_fields(self):
        token = self.keys.mint(sub="alice")
        for origin in (OTHER, "null", APP + "/", "https://APP.example.test.evil.test", None):
            h = [("Origin", origin)] if origin else []
            ok = self.gw.get("/api/orders", headers=h, token=token)
            self.assertEqual(ok.status, 200, ok)
            self.assertEqual(cors_fields(ok), {}, origin)
            denied = self.gw.get("/api/orders", headers=h)
            self.assertEqual(denied.status, 401)
            self.assertEqual(cors_fields(denied), {}, origin)

    def test_port_and_scheme_are_exact(self):
        token = self.keys.mint(sub="alice")
        self.assertEqual(cors_fields(self.gw.get("/api/x", headers=[("Origin", "http://127.0.0.1:5173")],
                                                 token=token))["access-control-allow-origin"],
                         "http://127.0.0.1:5173")
        for origin in ("http://127.0.0.1:5174", "https://127.0.0.1:5173", "http://localhost:5173",
                       "http://127.0.0.1"):
            self.assertEqual(cors_fields(self.gw.get("/api/x", headers=[("Origin", origin)], token=token)), {},
                             origin)


if __name__ == "__main__":
    unittest.main()

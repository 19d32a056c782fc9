"""TLS on both sides (SPEC section 2): an HTTPS listener, and https:// upstreams
verified against a configured CA (a wrong CA is a 502, never a silent pass)."""

import ssl
import tempfile
import shutil
import unittest

from harness import (LOCALHOST, EchoUpstream, GatewayTestCase, HttpConn, TestKeys, TestPKI,
                     echo_header, echo_json, gateway_config, provider_config, start_gateway)


class ProxyTlsTest(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.dir = tempfile.mkdtemp(prefix="jwtgate-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.listener_pki = TestPKI(cls.dir, "listener CA")
        cls.upstream_pki = TestPKI(cls.dir, "upstream CA")
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        cls.secure = EchoUpstream(tls=(cls.upstream_pki.cert_file, cls.upstream_pki.key_file))
        cls.addClassCleanup(cls.secure.close)
        upstreams = {
            "app": cls.app.url,
            "secure": {"url": cls.secure.url, "tls": {"ca_file": cls.upstream_pki.ca_file}},
            "secure_by_name": {"url": cls.secure.url,
                               "tls": {"ca_file": cls.upstream_pki.ca_file,
                                       "server_name": "localhost"}},
            "wrong_ca": {"url": cls.secure.url, "tls": {"ca_file": cls.listener_pki.ca_file}},
            "wrong_name": {"url": cls.secure.url,
                           "tls": {"ca_file": cls.upstream_pki.ca_file,
                                   "server_name": "not-this-host.example"}},
            "unverified": {"url": cls.secure.url,
                           "tls": {"ca_file": cls.listener_pki.ca_file, "verify": False}},
        }
        routes = [{"name": name, "path_prefix": "/" + name, "upstream": name, "auth": "none"}
                  for name in upstreams]
        routes.append({"name": "api", "path_prefix": "/api", "upstream": "secure",
                       "auth": {"providers": ["corp"]}})
        config = gateway_config(upstreams, routes, providers={"corp": provider_config(cls.keys)},
                                listen_tls={"cert_file": cls.listener_pki.cert_file,
                                            "key_file": cls.listener_pki.key_file})
        cls.gw = start_gateway(cls, config)

    def tearDown(self):
        self.assertTrue(self.gw.alive(), "gateway died:\n" + self.gw.stderr_text()[-3000:])

    def https_get(self, target, headers=None):
        with HttpConn(LOCALHOST, self.gw.port, timeout=10,
                      tls_context=self.listener_pki.client_context()) as conn:
            return conn.request("GET", target, headers=headers)

    def test_https_listener(self):
        resp = self.https_get("/app/x")
        self.assertEqual(resp.status, 200, resp)
        data = echo_json(resp)
        self.assertEqual(data["path"], "/app/x")
        self.assertEqual(echo_header(data, "X-Forwarded-Proto"), ["https"])

    def test_listener_certificate_is_the_configured_one(self):
        ctx = ssl.create_default_context(cafile=self.upstream_pki.ca_file)
        with self.assertRaises(ssl.SSLError):
            HttpConn(LOCALHOST, self.gw.port, timeout=10, tls_context=ctx).close()

    def test_https_listener_keep_alive_and_auth(self):
        tok = self.keys.mint(sub="tls-user")
        with HttpConn(LOCALHOST, self.gw.port, timeout=10,
                      tls_context=self.listener_pki.client_context()) as conn:
            resp = conn.request("GET", "/api/a")
            self.assertEqual(resp.status, 401)
            resp = conn.request("GET", "/api/b", headers=[("Authorization", "Bearer " + tok)])
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(echo_header(echo_json(resp), "X-User-Id"), ["tls-user"])

    def test_https_upstream_verified_with_ca_file(self):
        for prefix in ("/secure", "/secure_by_name"):
            with self.subTest(upstream=prefix):
                resp = self.https_get(prefix + "/y")
                self.assertEqual(resp.status, 200, resp)
                self.assertEqual(echo_json(resp)["path"], prefix + "/y")

    def test_https_upstream_with_wrong_ca_is_502(self):
        before = self.secure.hit_count()
        for prefix in ("/wrong_ca", "/wrong_name"):
            with self.subTest(upstream=prefix):
                resp = self.https_get(prefix + "/z")
                self.assertEqual(resp.status, 502, resp)
                self.assertIn("error", resp.json())
        self.assertEqual(self.secure.hit_count(), before, "a request crossed an unverified TLS link")

    def test_https_upstream_verify_false(self):
        resp = self.https_get("/unverified/w")
        self.assertEqual(resp.status, 200, resp)


if __name__ == "__main__":
    unittest.main()

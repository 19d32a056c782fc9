"""Keys over time: jwks_url sources, OpenID discovery, readiness and their metrics.

A local JWKS server (HTTP, or HTTPS with a test CA) that can rotate keys, fail,
serve garbage and count hits stands in for the identity provider. PyJWT mints
the tokens.
"""

import json
import os
import re
import shutil
import ssl
import tempfile
import threading
import time
import unittest
import http.server
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

import harness
from harness import LOCALHOST, EchoUpstream, HttpConn

ISSUER_PATH = "/realms/test"


class JwksServer:
    """Serves /jwks.json and /realms/test/.well-known/openid-configuration."""

    def __init__(self, tls=None):
        self.lock = threading.Lock()
        self.keys = {}          # kid -> private key
        self.published = []     # kids served
        self.mode = "ok"        # ok | status503 | garbage | reset
        self.hits = {}          # path -> count
        self.max_age = None
        self.cache_control = None  # a whole Cache-Control value, sent as is
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                with server.lock:
                    server.hits[path] = server.hits.get(path, 0) + 1
                    mode = server.mode
                if mode == "reset":
                    self.close_connection = True
                    self.connection.close()
                    return
                if mode == "status503":
                    return self.reply(503, b'{"error":"down"}')
                if mode == "garbage":
                    return self.reply(200, b"<html>this is not a key set</html>")
                if path == "/jwks.json":
                    return self.reply(200, json.dumps(server.jwks()).encode())
                if path == ISSUER_PATH + "/.well-known/openid-configuration":
                    doc = {"issuer": server.issuer, "jwks_uri": server.url + "/jwks.json"}
                    return self.reply(200, json.dumps(doc).encode())
                self.reply(404, b"{}")

            def reply(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if server.max_age is not None:
                    self.send_header("Cache-Control", "max-age=%d" % server.max_age)
                if server.cache_control is not None:
                    self.send_header("Cache-Control", server.cache_control)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer((LOCALHOST, 0), Handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls.cert_file, tls.key_file)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "%s://%s:%d" % (self.scheme, LOCALHOST, self.port)

    @property
    def issuer(self):
        return self.url + ISSUER_PATH

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def add_key(self, kid, kind="RS256", publish=True):
        key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "RS256"
               else ec.generate_private_key(ec.SECP256R1()))
        with self.lock:
            self.keys[kid] = (kind, key)
            if publish:
                self.published.append(kid)
        return key

    def publish_only(self, kids):
        with self.lock:
            self.published = list(kids)

    def set_mode(self, mode):
        with self.lock:
            self.mode = mode

    def hit_count(self, path="/jwks.json"):
        with self.lock:
            return self.hits.get(path, 0)

    def jwks(self):
        out = []
        with self.lock:
            for kid in self.published:
                kind, key = self.keys[kid]
                algo = jwt.algorithms.RSAAlgorithm if kind == "RS256" else jwt.algorithms.ECAlgorithm
                jwk = json.loads(algo.to_jwk(key.public_key()))
                jwk.update({"kid": kid, "alg": kind, "use": "sig"})
                out.append(jwk)
        return {"keys": out}

    def mint(self, kid, sub="alice", issuer=None, ttl=300):
        with self.lock:
            kind, key = self.keys[kid]
        now = int(time.time())
        return jwt.encode({"sub": sub, "iss": issuer or self.issuer, "iat": now, "exp": now + ttl},
                          key, algorithm=kind, headers={"kid": kid})


def parse_metrics(text):
    """Prometheus text -> {(name, frozenset(labels)): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)', line)
        if not m:
            continue
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def metric(metrics, name, **labels):
    want = set(labels.items())
    return sum(v for (n, l), v in metrics.items() if n == name and want <= set(l))


def wait_until(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class JwksCase(harness.GatewayTestCase):
    def start(self, jwks, provider_extra=None, key_extra=None):
        self.app = EchoUpstream()
        self.addCleanup(self.app.close)
        key = {"jwks_url": jwks.url + "/jwks.json"}
        key.update(key_extra or {})
        provider = {
            "issuer": jwks.issuer,
            "algorithms": ["RS256", "ES256"],
            "keys": [key],
            "jwks_refresh": "1s",
            "jwks_min_refresh": "1s",
            "headers": {"X-User-Id": "sub"},
        }
        provider.update(provider_extra or {})
        config = harness.gateway_config(
            upstreams={"app": self.app.url},
            providers={"idp": provider},
            routes=[{"name": "api", "path_prefix": "/", "upstream": "app",
                     "auth": {"providers": ["idp"]}}])
        return harness.start_gateway(self, config)

    def metrics(self, gw):
        res = gw.admin_get("/metrics")
        self.assertEqual(res.status, 200)
        return parse_metrics(res.body.decode())


class JwksUrl(JwksCase):
    def setUp(self):
        self.jwks = JwksServer()
        self.addCleanup(self.jwks.close)
        self.jwks.add_key("k1")

    def test_keys_from_url_verify_tokens_and_readiness_is_200(self):
        gw = self.start(self.jwks)
        self.assertTrue(wait_until(lambda: gw.admin_get("/readyz").status == 200, 10))
        token = self.jwks.mint("k1")
        for _ in range(3):
            res = gw.get("/x", token=token)
            self.assertEqual(res.status, 200, res.body)
        m = self.metrics(gw)
        self.assertGreaterEqual(metric(m, "jwtgate_jwks_fetches_total", provider="idp", result="ok"), 1)
        self.assertEqual(metric(m, "jwtgate_key_set_keys", provider="idp"), 1)
        self.assertGreaterEqual(metric(m, "jwtgate_key_set_age_seconds", provider="idp"), 0)
        self.assertLess(metric(m, "jwtgate_key_set_age_seconds", provider="idp"), 30)
        # Two event loops: the first request on each loop misses, the rest hit.
        self.assertGreaterEqual(metric(m, "jwtgate_token_cache_hits_total"), 1)
        self.assertGreaterEqual(metric(m, "jwtgate_token_cache_misses_total"), 1)
        self.assertEqual(metric(m, "jwtgate_token_cache_hits_total") + metric(m, "jwtgate_token_cache_misses_total"), 3)
        self.assertGreaterEqual(metric(m, "jwtgate_auth_latency_seconds_count"), 3)
        self.assertEqual(metric(m, "jwtgate_auth_latency_seconds_bucket", le="+Inf"),
                         metric(m, "jwtgate_auth_latency_seconds_count"))

    def test_rotation_is_picked_up_on_an_unknown_kid_within_a_second(self):
        gw = self.start(self.jwks, provider_extra={"jwks_refresh": "1h", "jwks_min_refresh": "1s"})
        self.assertTrue(wait_until(lambda: gw.admin_get("/readyz").status == 200, 10))
        time.sleep(1.1)  # past jwks_min_refresh of the start-up fetch
        self.jwks.add_key("k2", kind="ES256")
        token = self.jwks.mint("k2", sub="rotated")
        first = gw.get("/x", token=token)
        if first.status != 200:
            self.assertAuthError(first, 401, "invalid_token", ["unknown_kid"])
        started = time.monotonic()
        ok = wait_until(lambda: gw.get("/x", token=token).status == 200, 1.0)
        self.assertTrue(ok, "rotated key not picked up within 1s of the unknown kid")
        self.assertLess(time.monotonic() - started, 1.5)
        self.assertEqual(self.jwks.hit_count(), 2)

    def test_flood_of_unknown_kids_fetches_at_most_once_per_min_refresh(self):
        gw = self.start(self.jwks, provider_extra={"jwks_refresh": "1h", "jwks_min_refresh": "5s"})
        self.assertTrue(wait_until(lambda: gw.admin_get("/readyz").status == 200, 10))
        time.sleep(5.2)  # past jwks_min_refresh of the start-up fetch: the flood may trigger one
        before = self.jwks.hit_count()
        flood_started = time.monotonic()
        self.jwks.add_key("attacker", publish=False)
        statuses = []
        lock = threading.Lock()

        def flood(n):
            with gw.connect(timeout=10) as conn:
                for _ in range(n):
                    kid = uuid.uuid4().hex
                    token = jwt.encode({"sub": "x", "iss": self.jwks.issuer, "exp": int(time.time()) + 60},
                                       self.jwks.keys["attacker"][1], algorithm="RS256",
                                       headers={"kid": kid})
                    res = conn.request("GET", "/x", headers=[("Authorization", "Bearer " + token)])
                    with lock:
                        statuses.append(res.status)

        threads = [threading.Thread(target=flood, args=(50,)) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        self.assertEqual(len(statuses), 1000)
        self.assertEqual(set(statuses), {401})
        elapsed = time.monotonic() - flood_started
        time.sleep(0.5)
        fetches = self.jwks.hit_count() - before
        allowed = 1 + int(elapsed // 5)
        self.assertGreaterEqual(fetches, 1, "an unknown kid must trigger a refresh")
        self.assertLessEqual(fetches, allowed, "a flood of unknown kids over %.1fs caused %d fetches" % (elapsed, fetches))
        print("\nflood: 1000 unknown-kid requests in %.1fs -> %d JWKS fetch(es), jwks_min_refresh 5s" % (elapsed, fetches))

    def test_outage_keeps_the_last_good_keys(self):
        gw = self.start(self.jwks)
        self.assertTrue(wait_until(lambda: gw.admin_get("/readyz").status == 200, 10))
        token = self.jwks.mint("k1")
        for mode in ("status503", "garbage", "reset"):
            self.jwks.set_mode(mode)
            before = self.jwks.hit_count()
            self.assertTrue(wait_until(lambda: self.jwks.hit_count() > before, 5),
                            "no refresh attempt during the %s outage" % mode)
            res = gw.get("/x", token=token)
            self.assertEqual(res.status, 200, "%s: %r" % (mode, res.body))
            self.assertEqual(gw.admin_get("/readyz").status, 200)
        m = self.metrics(gw)
        self.assertGreaterEqual(metric(m, "jwtgate_jwks_fetches_total", provider="idp", result="bad_status"), 1)
        self.assertGreaterEqual(metric(m, "jwtgate_jwks_fetches_total", provider="idp", result="bad_document"), 1)
        self.assertGreaterEqual(metric(m, "jwtgate_jwks_fetches_total", provider="idp", result="network_error"), 1)
        self.jwks.set_mode("ok")
        self.assertEqual(gw.get("/x", token=token).status, 200)

    def test_readiness_goes_from_503_to_200_when_the_jwks_server_comes_up(self):
        self.jwks.set_mode("status503")
        gw = self.start(self.jwks)
        self.assertTrue(wait_until(lambda: self.jwks.hit_count() >= 1, 5))
        ready = gw.admin_get("/readyz")
        self.assertEqual(ready.status, 503)
        res = gw.get("/x", token=self.jwks.mint("k1"))
        self.assertAuthError(res, 401, "invalid_token", ["keys_unavailable"])
        self.jwks.set_mode("ok")
        self.assertTrue(wait_until(lambda: gw.admin_get("/readyz").status == 200, 8),
                        "readiness did not turn 200 after the JWKS server came up")
        self.assertEqual(gw.get("/x", token=self.jwks.mint("k1")).status, 200)
        m = self.metrics(gw)
        self.assertGreaterEqual(metric(m, "jwtgate_jwks_fetches_total", provider="idp", result="bad_status"), 1)
        self.assertGreaterEqual(metric(m, "jwtgate_jwks_fetches_total", provider="idp", result="ok"), 1)
        self.assertGreaterEqual(metric(m, "jwtgate_auth_failures_total", provider="idp", reason="keys_unavailable"), 1)


class Discovery(JwksCase):
    def test_discovery_finds_jwks_uri_and_checks_the_issuer(self):
        jwks = JwksServer()
        self.addCleanup(jwks.close)
        jwks.add_key("k1")
        app = EchoUpstream()
        self.addCleanup(app.close)
        config = harness.gateway_config(
            upstreams={"app": app.url},
            providers={"idp": {"issuer": jwks.issuer, "discovery": True, "algorithms": ["RS256"],
                               "jwks_refresh": "1h", "headers": {"X-User-Id": "sub"}}},
            routes=[{"name": "api", "path_prefix": "/", "upstream": "app",
                     "auth": {"providers": ["idp"]}}])
        gw = harness.start_gateway(self, config)
        self.assertTrue(wait_until(lambda: gw.admin_get("/readyz").status == 200, 10))
        res = gw.get("/x", token=jwks.mint("k1", sub="discovered"))
        self.assertEqual(res.status, 200, res.body)
        self.assertEqual(harness.echo_header(harness.echo_json(res), "X-User-Id"), ["discovered"])
        self.assertEqual(jwks.hit_count(ISSUER_PATH + "/.well-known/openid-configuration"), 1)

    def test_discovery_document_with_another_issuer_is_refused(self):
        jwks = JwksServer()
        self.addCleanup(jwks.close)
        jwks.add_key("k1")
        app = EchoUpstream()
        self.addCleanup(app.close)
        # The configured issuer differs (trailing path) from the one the document names.
        fake_issuer = jwks.url + ISSUER_PATH + "/"
        config = harness.gateway_config(
            upstreams={"app": app.url},
            providers={"idp": {"issuer": fake_issuer, "discovery": True, "algorithms": ["RS256"]}},
            routes=[{"name": "api", "path_prefix": "/", "upstream": "app",
                     "auth": {"providers": ["idp"]}}])
        gw = harness.start_gateway(self, config)
        self.assertTrue(wait_until(
            lambda: jwks.hit_count(ISSUER_PATH + "/.well-known/openid-configuration") >= 1, 5))
        time.sleep(0.3)
        self.assertEqual(gw.admin_get("/readyz").status, 503)
        self.assertEqual(jwks.hit_count(), 0, "keys must not be fetched from an unverified document")


class CacheControl(JwksCase):
    """SPEC section 11: Cache-Control may shorten the periodic refresh, never
    lengthen it past jwks_refresh; no-store, no-cache and max-age=0 refresh at
    jwks_refresh. Fetches are counted at the JWKS server."""

    def fetches_with(self, cache_control, refresh, min_refresh=None):
        jwks = JwksServer()
        self.addCleanup(jwks.close)
        jwks.add_key("k1")
        jwks.cache_control = cache_control
        provider = {"jwks_refresh": refresh, "jwks_min_refresh": min_refresh or "30s"}
        gw = self.start(jwks, provider_extra=provider)
        self.assertTrue(wait_until(lambda: jwks.hit_count() >= 1, 10))
        return gw, jwks

    def test_cache_directives_never_slow_the_refresh_down(self):
        # jwks_refresh 2s below the default jwks_min_refresh (30s): every form must
        # still refresh about every 2 s, not every 30 s or max-age.
        for cc in ("no-store", "no-cache", "max-age=0", "max-age=1", "max-age=3600", "public, max-age=86400",
                   "max-age=99999999999999999999", None):
            with self.subTest(cache_control=cc):
                gw, jwks = self.fetches_with(cc, "2s")
                self.assertTrue(wait_until(lambda: jwks.hit_count() >= 3, 9), (cc, jwks.hit_count()))
                gw.stop()

    def test_a_shorter_max_age_shortens_the_refresh(self):
        gw, jwks = self.fetches_with("max-age=1", "1h", "1s")
        self.assertTrue(wait_until(lambda: jwks.hit_count() >= 3, 9), jwks.hit_count())

    def test_no_store_no_cache_and_zero_refresh_at_jwks_refresh(self):
        # With jwks_refresh 1h these must not refresh sooner (not at jwks_min_refresh).
        servers = []
        for cc in ("no-store", "no-cache", "max-age=0"):
            servers.append((cc,) + self.fetches_with(cc, "1h", "1s"))
        time.sleep(3)
        for cc, gw, jwks in servers:
            self.assertEqual(jwks.hit_count(), 1, cc)


class DiscoveryOverHttps(JwksCase):
    def test_discovery_uses_the_providers_ca_file(self):
        d = tempfile.mkdtemp(prefix="jwtgate-disc-tls-")
        self.addCleanup(shutil.rmtree, d, True)
        pki = harness.TestPKI(d, name="idp CA")
        jwks = JwksServer(tls=pki)
        self.addCleanup(jwks.close)
        jwks.add_key("k1")
        app = EchoUpstream()
        self.addCleanup(app.close)
        config = harness.gateway_config(
            upstreams={"app": app.url},
            providers={"idp": {"issuer": jwks.issuer, "discovery": True, "ca_file": pki.ca_file,
                               "algorithms": ["RS256"], "jwks_refresh": "1h"}},
            routes=[{"name": "api", "path_prefix": "/", "upstream": "app", "auth": {"providers": ["idp"]}}])
        gw = harness.start_gateway(self, config)
        self.assertTrue(wait_until(lambda: gw.admin_get("/readyz").status == 200, 10), gw.stderr_text())
        self.assertEqual(gw.get("/x", token=jwks.mint("k1")).status, 200)
        self.assertEqual(jwks.hit_count(ISSUER_PATH + "/.well-known/openid-configuration"), 1)


class JwksOverHttps(JwksCase):
    def test_https_jwks_with_test_ca(self):
        d = tempfile.mkdtemp(prefix="jwtgate-jwks-tls-")
        self.addCleanup(shutil.rmtree, d, True)
        pki = harness.TestPKI(d, name="jwks test CA")
        jwks = JwksServer(tls=pki)
        self.addCleanup(jwks.close)
        jwks.add_key("k1")
        gw = self.start(jwks, key_extra={"ca_file": pki.ca_file})
        self.assertTrue(wait_until(lambda: gw.admin_get("/readyz").status == 200, 10))
        self.assertEqual(gw.get("/x", token=jwks.mint("k1")).status, 200)

    def test_https_jwks_with_an_untrusted_certificate_is_not_used(self):
        d = tempfile.mkdtemp(prefix="jwtgate-jwks-tls-")
        self.addCleanup(shutil.rmtree, d, True)
        pki = harness.TestPKI(d, name="jwks test CA")
        other = harness.TestPKI(d, name="another CA")
        jwks = JwksServer(tls=pki)
        self.addCleanup(jwks.close)
        jwks.add_key("k1")
        gw = self.start(jwks, key_extra={"ca_file": other.ca_file})
        time.sleep(1.5)
        self.assertEqual(gw.admin_get("/readyz").status, 503)
        res = gw.get("/x", token=jwks.mint("k1"))
        self.assertAuthError(res, 401, "invalid_token", ["keys_unavailable"])
        m = self.metrics(gw)
        self.assertGreaterEqual(metric(m, "jwtgate_jwks_fetches_total", provider="idp", result="network_error"), 1)


if __name__ == "__main__":
    unittest.main()

"""A large configuration (10,000 routes, 1,000 JWKS keys) reloaded with SIGHUP
while clients keep sending requests: no request is lost or refused, and the new
configuration takes over."""
import base64
import json
import os
import random
import secrets
import signal
import threading
import time
import unittest

import jwt

from harness import EchoUpstream, GatewayTestCase, HttpConn, LOCALHOST, gateway_config, start_gateway

ROUTES = 10000
KEYS = 1000
CLIENTS = 4


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class ScaleReloadTest(GatewayTestCase):

    def setUp(self):
        self.app = EchoUpstream()
        self.addCleanup(self.app.close)
        self.secrets = [secrets.token_bytes(32) for _ in range(KEYS)]
        # One JWKS file of 1,000 HS256 keys; the gateway reads it at every load.
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="jwtgate-scale-")
        self.jwks = os.path.join(self.dir, "jwks.json")
        with open(self.jwks, "w") as f:
            json.dump({"keys": [{"kty": "oct", "kid": "k%d" % i, "alg": "HS256", "k": b64url(s)}
                                for i, s in enumerate(self.secrets)]}, f)
        self.gw = start_gateway(self, self.config(0))

    def config(self, generation):
        # Generation 0: /t0 ... /t9999 in order; generation 1: reversed, plus /gen1.
        order = list(range(ROUTES))
        routes = []
        if generation % 2:
            order.reverse()
            routes.append({"name": "gen1", "path": "/gen1", "upstream": "app", "auth": "none"})
        routes += [{"name": "t%d" % i, "path_prefix": "/t%d/api" % i, "upstream": "app",
                    "auth": {"providers": ["corp"]}} for i in order]
        providers = {"corp": {"algorithms": ["HS256"], "keys": [{"jwks_file": self.jwks}],
                              "require_claims": ["exp"]}}
        return gateway_config({"app": self.app.url}, routes, providers=providers,
                              server={"access_log": "off", "threads": 2})

    def token(self, i):
        now = int(time.time())
        return jwt.encode({"sub": "user-%d" % i, "iat": now, "exp": now + 600}, self.secrets[i],
                          algorithm="HS256", headers={"kid": "k%d" % i})

    def test_sighup_under_load_loses_no_request(self):
        tokens = [self.token(i) for i in (0, 1, KEYS // 2, KEYS - 1)]
        stop = threading.Event()
        results = []  # per client: [ok count, failures]
        lock = threading.Lock()

        def client(seed):
            rng = random.Random(seed)
            ok, failures = 0, []
            conn = None
            deadline = time.monotonic() + 120
            while not stop.is_set() and time.monotonic() < deadline:
                # Mostly keep-alive; every 20th request on a fresh connection.
                if conn is None or rng.random() < 0.05:
                    if conn is not None:
                        conn.close()
                    conn = HttpConn(LOCALHOST, self.gw.port, timeout=10)
                target = "/t%d/api/orders/%d" % (rng.randrange(ROUTES), rng.randrange(100))
                try:
                    resp = conn.request("GET", target, headers=[
                        ("Authorization", "Bearer " + tokens[rng.randrange(len(tokens))])])
                except Exception as exc:  # a lost request
                    failures.append("%s: %r" % (target, exc))
                    conn.close()
                    conn = None
                    continue
                if resp.status == 200:
                    ok += 1
                else:
                    failures.append("%s: %d %r" % (target, resp.status, resp.body[:200]))
            if conn is not None:
                conn.close()
            with lock:
                results.append((ok, failures))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        try:
            time.sleep(1.0)
            reload_seconds = []
            for generation in (1, 2, 3):
                self.gw.write_config(self.config(generation))
                before = self.gw.stderr_text().count("configuration reloaded")
                started = time.monotonic()
                self.gw.signal(signal.SIGHUP)
                lines = self.gw.wait_for_output(
                    lambda ls: sum("configuration reloaded" in l for l in ls) > before, timeout=60)
                self.assertIsNotNone(lines, self.gw.stderr_text()[-3000:])
                reload_seconds.append(time.monotonic() - started)
                want = 200 if generation % 2 else 404
                self.assertEqual(self.gw.get("/gen1").status, want, "generation %d" % generation)
                time.sleep(0.5)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(len(results), CLIENTS)
        failures = [f for _, fs in results for f in fs]
        total = sum(ok for ok, _ in results)
        self.assertEqual(failures, [], "%d failed of %d" % (len(failures), total + len(failures)))
        self.assertGreater(total, 100)
        self.assertTrue(self.gw.alive())
        print("\n%d requests across 3 reloads of %d routes and %d keys; SIGHUP to "
              "'configuration reloaded': %s s" % (total, ROUTES, KEYS,
                                                  ", ".join("%.2f" % s for s in reload_seconds)))


if __name__ == "__main__":
    unittest.main()

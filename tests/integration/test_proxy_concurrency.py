"""200 concurrent clients, each with its own subject: every response carries the
identity of its own request (no bleed between requests, caches or pooled
upstream connections)."""

import threading
import unittest

from harness import (EchoUpstream, GatewayTestCase, TestKeys, echo_header, echo_json,
                     gateway_config, provider_config, start_gateway)

CLIENTS = 200
REQUESTS_PER_CLIENT = 3


class ProxyConcurrencyTest(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        routes = [{"name": "api", "path_prefix": "/api", "upstream": "app",
                   "auth": {"providers": ["corp"]}}]
        config = gateway_config({"app": {"url": cls.app.url, "max_idle_connections": 16}},
                                routes, providers={"corp": provider_config(cls.keys)})
        cls.gw = start_gateway(cls, config)

    def test_no_cross_request_bleed(self):
        algs = ("HS256", "RS256", "ES256")
        tokens = [self.keys.mint(alg=algs[i % 3], sub="user-%03d" % i,
                                 realm_access={"roles": ["role-%03d" % i]})
                  for i in range(CLIENTS)]
        barrier = threading.Barrier(CLIENTS, timeout=30)
        errors = []
        results = {}
        lock = threading.Lock()

        def client(i):
            try:
                barrier.wait()
                with self.gw.connect(timeout=60) as conn:
                    seen = []
                    for n in range(REQUESTS_PER_CLIENT):
                        resp = conn.request("GET", "/api/who/%d/%d" % (i, n), headers=[
                            ("Authorization", "Bearer " + tokens[i]),
                            ("X-Request-Id", "req-%d-%d" % (i, n))])
                        data = echo_json(resp) if resp.status == 200 else {}
                        seen.append((resp.status, data.get("path"),
                                     echo_header(data, "X-User-Id") if data else None,
                                     echo_header(data, "X-User-Roles") if data else None,
                                     echo_header(data, "X-Request-Id") if data else None))
                with lock:
                    results[i] = seen
            except Exception as exc:  # collected and reported below
                with lock:
                    errors.append((i, repr(exc)))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertFalse([t for t in threads if t.is_alive()], "clients still running after 120 s")
        self.assertEqual(errors, [])
        self.assertEqual(len(results), CLIENTS)
        for i, seen in results.items():
            for n, (status, path, user, roles, rid) in enumerate(seen):
                self.assertEqual(status, 200, (i, n))
                self.assertEqual(path, "/api/who/%d/%d" % (i, n))
                self.assertEqual(user, ["user-%03d" % i], (i, n))
                self.assertEqual(roles, ["role-%03d" % i], (i, n))
                self.assertEqual(rid, ["req-%d-%d" % (i, n)], (i, n))
        self.assertTrue(self.gw.alive())


if __name__ == "__main__":
    unittest.main()

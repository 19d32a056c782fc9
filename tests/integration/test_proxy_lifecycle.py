"""Process lifecycle (SPEC sections 1 and 7): config errors at start, SIGHUP reload
(good and broken files), SIGTERM/SIGINT drain."""

import copy
import os
import re
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import (LOCALHOST, TIME_SCALE, ConnectionClosed, EchoUpstream, Gateway, GatewayTestCase,
                     HttpConn, TestKeys, echo_header, echo_json, gateway_binary, gateway_config,
                     provider_config, start_gateway, to_yaml)


def routes_for(*prefixes, upstream="app"):
    return [{"name": p.strip("/") or "root", "path_prefix": p, "upstream": upstream, "auth": "none"}
            for p in prefixes]


class ProxyReloadTest(GatewayTestCase):

    def setUp(self):
        self.app = EchoUpstream()
        self.addCleanup(self.app.close)
        self.slow = EchoUpstream(delay=2.0)
        self.addCleanup(self.slow.close)
        self.config = gateway_config({"app": self.app.url, "slow": self.slow.url},
                                     routes_for("/v1") + routes_for("/slow", upstream="slow"))
        self.gw = start_gateway(self, self.config)

    def wait_status(self, target, status, timeout=5.0):
        deadline = time.monotonic() + timeout
        resp = None
        while time.monotonic() < deadline:
            resp = self.gw.get(target)
            if resp.status == status:
                return resp
            time.sleep(0.1)
        self.fail("%s never answered %d (last: %r)" % (target, status, resp))

    def test_reload_adds_a_route(self):
        self.assertEqual(self.gw.get("/v2/x").status, 404)
        new = copy.deepcopy(self.config)
        new["routes"] = routes_for("/v1", "/v2") + routes_for("/slow", upstream="slow")
        self.gw.write_config(new)
        self.gw.signal(signal.SIGHUP)
        resp = self.wait_status("/v2/x", 200)
        self.assertEqual(echo_json(resp)["path"], "/v2/x")
        self.assertEqual(self.gw.get("/v1/x").status, 200)
        self.assertTrue(self.gw.alive())
        self.assertEqual(self.gw.listening_ports()[0], self.gw.port)

    def test_broken_file_keeps_the_old_config(self):
        text = to_yaml(self.config)
        bad_line = len(text.splitlines()) + 1
        self.gw.write_config(text + "surprise_key: 1\n")
        self.gw.signal(signal.SIGHUP)
        pattern = re.compile(r"jwtgate\.yaml:%d:\d+" % bad_line)
        lines = self.gw.wait_for_output(lambda ls: any(pattern.search(l) for l in ls), timeout=5 * TIME_SCALE)
        self.assertIsNotNone(lines, "no FILE:LINE:COL error for line %d in stderr:\n%s"
                             % (bad_line, self.gw.stderr_text()[-3000:]))
        self.assertTrue(self.gw.alive())
        self.assertEqual(self.gw.get("/v1/still").status, 200)

    def test_invalid_reference_keeps_the_old_config(self):
        new = copy.deepcopy(self.config)
        new["routes"] = routes_for("/v1", "/v3", upstream="missing")
        self.gw.write_config(new)
        self.gw.signal(signal.SIGHUP)
        lines = self.gw.wait_for_output(
            lambda ls: any(re.search(r"jwtgate\.yaml:\d+:\d+", l) and "missing" in l for l in ls),
            timeout=5 * TIME_SCALE)
        self.assertIsNotNone(lines, self.gw.stderr_text()[-3000:])
        self.assertEqual(self.gw.get("/v1/still").status, 200)
        self.assertEqual(self.gw.get("/v3/x").status, 404)

    def test_request_in_flight_finishes_with_its_config(self):
        result = {}

        def slow_request():
            try:
                result["resp"] = self.gw.get("/slow/inflight", timeout=15)
            except Exception as exc:  # reported by the assertion below
                result["error"] = exc

        t = threading.Thread(target=slow_request)
        t.start()
        deadline = time.monotonic() + 5
        while self.slow.hit_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        new = copy.deepcopy(self.config)
        new["routes"] = routes_for("/v1")  # the /slow route goes away
        self.gw.write_config(new)
        self.gw.signal(signal.SIGHUP)
        t.join(20)
        self.assertIn("resp", result, result)
        self.assertEqual(result["resp"].status, 200, result["resp"])
        self.wait_status("/slow/after", 404)


class ReloadKeyChangeTest(GatewayTestCase):
    """A verified-token cache entry never outlives a key-set change (SPEC section 7)."""

    def test_new_secret_invalidates_cached_tokens(self):
        keys = TestKeys.get()
        app = EchoUpstream()
        self.addCleanup(app.close)
        secret_file = keys._write("rotating.secret", keys.hs_secret)
        provider = provider_config(keys, algorithms=["HS256"])
        provider["keys"] = [{"kid": "hs1", "alg": "HS256", "secret_file": secret_file}]
        routes = [{"name": "api", "path_prefix": "/api", "upstream": "app",
                   "auth": {"providers": ["corp"]}}]
        config = gateway_config({"app": app.url}, routes, providers={"corp": provider})
        gw = start_gateway(self, config)
        old_token = keys.mint(sub="before-rotation")
        for _ in range(3):  # verified, then served from the cache
            self.assertEqual(gw.get("/api/x", token=old_token).status, 200)

        with open(secret_file, "wb") as f:
            f.write(keys.other_secret)
        gw.write_config(config)
        gw.signal(signal.SIGHUP)
        new_token = keys.mint_with_secret(keys.other_secret, kid="hs1", sub="after-rotation")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and gw.get("/api/x", token=new_token).status != 200:
            time.sleep(0.1)
        resp = gw.get("/api/x", token=new_token)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(echo_header(echo_json(resp), "X-User-Id"), ["after-rotation"])
        before = app.hit_count()
        resp = gw.get("/api/x", token=old_token)
        self.assertAuthError(resp, 401, "invalid_token", "bad_signature")
        self.assertEqual(app.hit_count(), before)


class CpuAffinityTest(GatewayTestCase):
    """server.cpu_affinity pins event loop k to the k-th CPU the process may use,
    and refuses (with a warning, still serving) when there are more loops than CPUs."""

    def start(self, threads):
        app = EchoUpstream()
        self.addCleanup(app.close)
        routes = [{"name": "all", "path_prefix": "/", "upstream": "app", "auth": "none"}]
        return start_gateway(self, gateway_config({"app": app.url}, routes,
                                                  server={"threads": threads, "cpu_affinity": True}))

    def loop_cpu_lists(self, gw):
        """Cpus_allowed_list of every thread of the gateway."""
        lists = []
        for tid in os.listdir("/proc/%d/task" % gw.proc.pid):
            with open("/proc/%d/task/%s/status" % (gw.proc.pid, tid)) as f:
                for line in f:
                    if line.startswith("Cpus_allowed_list:"):
                        lists.append(line.split()[1])
        return lists

    def test_one_loop_is_pinned_to_the_first_allowed_cpu(self):
        allowed = sorted(os.sched_getaffinity(0))
        gw = self.start(1)
        self.assertEqual(gw.get("/x").status, 200)
        deadline = time.monotonic() + 5
        while "pinned to CPU" not in gw.stderr_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("event loop 0 pinned to CPU %d" % allowed[0], gw.stderr_text())
        self.assertIn(str(allowed[0]), self.loop_cpu_lists(gw),
                      "one thread runs on the first allowed CPU only")

    def test_threads_zero_counts_the_allowed_cpus_only(self):
        allowed = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {allowed[-1]})  # the gateway inherits this set
        try:
            gw = self.start(0)
        finally:
            os.sched_setaffinity(0, set(allowed))
        self.assertEqual(gw.get("/x").status, 200)
        deadline = time.monotonic() + 5
        while "pinned to CPU" not in gw.stderr_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("event loop 0 pinned to CPU %d" % allowed[-1], gw.stderr_text())
        self.assertNotIn("event loop 1", gw.stderr_text(), "one usable CPU, one event loop")

    def test_more_loops_than_cpus_are_left_unpinned(self):
        gw = self.start(len(os.sched_getaffinity(0)) + 1)
        self.assertEqual(gw.get("/x").status, 200)
        deadline = time.monotonic() + 5
        while "are not pinned" not in gw.stderr_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("the loops are not pinned", gw.stderr_text())
        self.assertNotIn("pinned to CPU", gw.stderr_text())


class ProxyDrainTest(GatewayTestCase):

    def start(self, delay, drain_timeout):
        self.app = EchoUpstream()
        self.addCleanup(self.app.close)
        self.slow = EchoUpstream(delay=delay)
        self.addCleanup(self.slow.close)
        config = gateway_config({"app": self.app.url, "slow": self.slow.url},
                                routes_for("/fast") + routes_for("/slow", upstream="slow"),
                                server={"drain_timeout": drain_timeout})
        self.gw = start_gateway(self, config)

    def start_slow_request(self):
        result = {}

        def run():
            try:
                result["resp"] = self.gw.get("/slow/inflight", timeout=20)
            except Exception as exc:
                result["error"] = exc

        t = threading.Thread(target=run)
        t.start()
        deadline = time.monotonic() + 5
        while self.slow.hit_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.slow.hit_count(), 1, "the slow request never reached its upstream")
        return t, result

    def test_sigterm_drains_in_flight_requests(self):
        self.start(delay=2.0, drain_timeout="10s")
        keep_alive = self.gw.connect(timeout=10)
        self.addCleanup(keep_alive.close)
        self.assertEqual(keep_alive.request("GET", "/fast/warm").status, 200)
        fast_hits = self.app.hit_count()

        thread, result = self.start_slow_request()
        sent = time.monotonic()
        self.gw.signal(signal.SIGTERM)
        time.sleep(0.3)

        # New connections are refused (or, if one slips in, answered 503).
        try:
            with HttpConn(LOCALHOST, self.gw.port, timeout=5) as conn:
                resp = conn.request("GET", "/fast/new")
                self.assertEqual(resp.status, 503, resp)
                self.assertIn("error", resp.json())
        except (ConnectionRefusedError, ConnectionClosed, ConnectionResetError):
            pass

        # A new request on an open connection is not proxied: 503 or a closed connection.
        try:
            resp = keep_alive.request("GET", "/fast/late")
            self.assertEqual(resp.status, 503, resp)
            self.assertIn("error", resp.json())
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
            pass
        self.assertEqual(self.app.hit_count(), fast_hits, "a request was proxied while draining")

        thread.join(20)
        self.assertIn("resp", result, "in-flight request failed during drain: %r" % result)
        self.assertEqual(result["resp"].status, 200, result["resp"])
        self.assertEqual(echo_json(result["resp"])["path"], "/slow/inflight")

        code = self.gw.wait_exit(15)
        self.assertEqual(code, 0, "exit status after drain; stderr:\n" + self.gw.stderr_text()[-2000:])
        self.assertLess(time.monotonic() - sent, 10.5, "drain took longer than drain_timeout")

    def test_drain_timeout_bounds_the_wait(self):
        self.start(delay=8.0, drain_timeout="1s")
        thread, result = self.start_slow_request()
        sent = time.monotonic()
        self.gw.signal(signal.SIGTERM)
        code = self.gw.wait_exit(10)
        elapsed = time.monotonic() - sent
        self.assertEqual(code, 0, self.gw.stderr_text()[-2000:])
        self.assertLess(elapsed, 5.0, "exit waited for the upstream, not drain_timeout")
        thread.join(15)
        resp = result.get("resp")
        self.assertFalse(resp is not None and resp.status == 200,
                         "a request that outlived drain_timeout cannot have completed")

    def test_sigint_stops_cleanly(self):
        self.start(delay=0, drain_timeout="5s")
        self.assertEqual(self.gw.get("/fast/x").status, 200)
        self.gw.signal(signal.SIGINT)
        self.assertEqual(self.gw.wait_exit(10), 0, self.gw.stderr_text()[-2000:])
        with self.assertRaises(OSError):
            socket.create_connection((LOCALHOST, self.gw.port), timeout=2).close()


class ConfigErrorAtStartTest(GatewayTestCase):

    def test_serve_refuses_an_invalid_config(self):
        app = EchoUpstream()
        self.addCleanup(app.close)
        config = gateway_config({"app": app.url}, routes_for("/a", upstream="nope"))
        text = to_yaml(config)
        lines = text.splitlines()
        route_line = next(i for i, l in enumerate(lines, 1) if '"nope"' in l)
        text += "unknown_top_level: true\n"
        unknown_line = len(lines) + 1
        gw = Gateway(text)
        self.addCleanup(gw.cleanup)
        proc = subprocess.run([gateway_binary(), "serve", "-c", gw.config_path],
                              capture_output=True, timeout=15, stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, 1, proc)
        err = proc.stderr.decode(errors="replace") + proc.stdout.decode(errors="replace")
        self.assertNotIn("listening on", err)
        # Every problem at once, each as FILE:LINE:COL.
        self.assertRegex(err, r"jwtgate\.yaml:%d:\d+" % unknown_line)
        self.assertRegex(err, r"jwtgate\.yaml:%d:\d+" % route_line)


if __name__ == "__main__":
    unittest.main()

"""Revocation with the local store (SPEC 8): each entry kind refuses exactly the
tokens it names, cached or not; the admin API's auth and input checks; the
journal across restarts; `jwtgate revoke`; metrics and the access log."""

import json
import os
import subprocess
import tempfile
import time
import unittest

from harness import (ISSUER, EchoUpstream, Gateway, TestKeys, gateway_binary, gateway_config,
                     provider_config, start_gateway, to_yaml)
from revocation_support import ADMIN_TOKEN, admin_call, entries, metric, revoke


def revocation_config(journal=None, **extra):
    r = {"store": "local", "admin_token_env": "JWTGATE_ADMIN_TOKEN"}
    if journal:
        r["file"] = journal
    r.update(extra)
    return r


def make_config(upstream, keys, revocation):
    cfg = gateway_config(
        {"app": upstream.url},
        [{"name": "api", "path_prefix": "/", "upstream": "app", "auth": {"providers": ["corp"]}}],
        providers={"corp": provider_config(keys)})
    cfg["revocation"] = revocation
    return cfg


ENV = dict(os.environ, JWTGATE_ADMIN_TOKEN=ADMIN_TOKEN)


class RevocationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.upstream = EchoUpstream()
        cls.addClassCleanup(cls.upstream.close)
        cls.dir = tempfile.mkdtemp(prefix="jwtgate-revocation-")
        cls.gw = start_gateway(cls, make_config(cls.upstream, cls.keys, revocation_config()), env=ENV)

    def status(self, token, gw=None):
        return (gw or self.gw).get("/x", token=token).status

    def assert_revoked(self, token, gw=None):
        resp = (gw or self.gw).get("/x", token=token)
        self.assertEqual(resp.status, 401, resp.body)
        self.assertEqual(resp.json()["reason"], "revoked")
        self.assertEqual(resp.json()["error"], "invalid_token")
        self.assertIn('error="invalid_token"', resp.header("WWW-Authenticate"))

    def test_jti_entry_refuses_that_token_only_even_from_the_cache(self):
        t1 = self.keys.mint(sub="alice", jti="jti-one")
        t2 = self.keys.mint(sub="alice", jti="jti-two")
        for _ in range(3):  # verified once, then from the token cache
            self.assertEqual(self.status(t1), 200)
        self.assertEqual(self.status(t2), 200)
        stored = revoke(self, self.gw, {"jti": "jti-one"})
        self.assertEqual(stored["jti"], "jti-one")
        self.assertGreater(stored["exp"], time.time() + 719 * 3600)  # default_ttl 720h
        hits = self.upstream.hit_count()
        for _ in range(3):
            self.assert_revoked(t1)
        self.assertEqual(self.upstream.hit_count(), hits, "a revoked token reached the upstream")
        self.assertEqual(self.status(t2), 200)
        other_issuer_sub = self.keys.mint(sub="jti-one")
        self.assertEqual(self.status(other_issuer_sub), 200)  # a sub equal to a revoked jti

    def test_sub_entry_cuts_off_by_iat(self):
        now = int(time.time())
        old = self.keys.mint(sub="bob", now=now - 30, jti="b1")
        no_iat = self.keys.sign_raw('{"alg":"HS256","kid":"hs1"}', json.dumps(
            {"sub": "bob", "iss": ISSUER, "aud": "orders-api", "exp": now + 300}))
        other = self.keys.mint(sub="carol", now=now - 30)
        self.assertEqual(self.status(old), 200)
        self.assertEqual(self.status(no_iat), 200)
        revoke(self, self.gw, {"sub": "bob", "before": now - 5})
        self.assert_revoked(old)
        self.assert_revoked(no_iat)  # no iat counts as issued before
        self.assertEqual(self.status(other), 200)
        fresh = self.keys.mint(sub="bob", now=now - 4, jti="b2")  # logged in again after the cut-off
        self.assertEqual(self.status(fresh), 200)

    def test_sub_entry_before_defaults_to_now(self):
        now = int(time.time())
        t = self.keys.mint(sub="dave", now=now - 2)
        stored = revoke(self, self.gw, {"sub": "dave"})
        self.assertLessEqual(abs(stored["before"] - time.time()), 5)
        self.assert_revoked(t)
        later = self.keys.mint(sub="dave", now=stored["before"] + 1)
        self.assertEqual(self.status(later), 200)

    def test_sid_entry(self):
        a = self.keys.mint(sub="erin", sid="session-a")
        b = self.keys.mint(sub="erin", sid="session-b")
        revoke(self, self.gw, {"sid": "session-a"})
        self.assert_revoked(a)
        self.assertEqual(self.status(b), 200)

    def test_issuer_scoping(self):
        t = self.keys.mint(sub="frank", jti="scoped-jti")
        revoke(self, self.gw, {"jti": "scoped-jti", "iss": "https://someone.else"})
        self.assertEqual(self.status(t), 200)
        revoke(self, self.gw, {"jti": "scoped-jti", "iss": ISSUER})
        self.assert_revoked(t)

    def test_entry_expires_by_itself(self):
        t = self.keys.mint(sub="gina", jti="short-lived")
        revoke(self, self.gw, {"jti": "short-lived", "exp": int(time.time()) + 2})
        self.assert_revoked(t)
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline and self.status(t) != 200:
            time.sleep(0.2)
        self.assertEqual(self.status(t), 200)

    def test_delete_and_list(self):
        t = self.keys.mint(sub="hank", jti="to-delete")
        revoke(self, self.gw, {"jti": "to-delete"})
        self.assertIn("to-delete", [e.get("jti") for e in entries(self.gw)])
        self.assert_revoked(t)
        resp = admin_call(self.gw, "DELETE", {"jti": "to-delete"})
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(self.status(t), 200)
        self.assertNotIn("to-delete", [e.get("jti") for e in entries(self.gw)])
        self.assertEqual(admin_call(self.gw, "DELETE", {"jti": "to-delete"}).status, 404)
        self.assertEqual(admin_call(self.gw, "DELETE", {"jti": "never-there"}).status, 404)

    def test_admin_auth(self):
        body = {"jti": "auth-check"}
        for token in (None, "wrong", ADMIN_TOKEN + "x", ADMIN_TOKEN[:-1], ""):
            resp = admin_call(self.gw, "POST", body, token=token)
            self.assertEqual(resp.status, 401, (token, resp.body))
            self.assertIn("Bearer", resp.header("WWW-Authenticate"))
        resp = admin_call(self.gw, "GET", token=None, headers=[("Authorization", "Basic " + ADMIN_TOKEN)])
        self.assertEqual(resp.status, 401)
        resp = admin_call(self.gw, "GET", headers=[("Authorization", "Bearer " + ADMIN_TOKEN)])
        self.assertEqual(resp.status, 401, "two Authorization headers")
        resp = admin_call(self.gw, "GET", token=None, headers=[("Authorization", "bearer " + ADMIN_TOKEN)])
        self.assertEqual(resp.status, 200)
        self.assertNotIn("auth-check", json.dumps(entries(self.gw)))

    def test_malformed_entries_are_400_with_a_reason(self):
        cases = [b"", b"not json", b"[]", b"{}", b'{"jti": 1}', b'{"jti": ""}', b'{"jti":"a","sub":"b"}',
                 b'{"jti":"a","before":1}', b'{"sub":"a","before":"x"}', b'{"jti":"a","exp":1}',
                 b'{"jti":"a","exp":"soon"}', b'{"jti":"a","iss":5}', b'{"jti":"a","color":"red"}',
                 b'{"jti":"a","jti":"b"}', b'{"jti":"' + b"x" * 2000 + b'"}']
        before = len(entries(self.gw))
        for body in cases:
            resp = admin_call(self.gw, "POST", body)
            self.assertEqual(resp.status, 400, body)
            self.assertTrue(resp.json()["error_description"], body)
            self.assertEqual(admin_call(self.gw, "DELETE", body).status, 400, body)
        self.assertEqual(len(entries(self.gw)), before)
        self.assertEqual(admin_call(self.gw, "PUT", {"jti": "a"}).status, 405)

    def test_metrics_and_access_log(self):
        t = self.keys.mint(sub="ivan", jti="metric-jti")
        revoke(self, self.gw, {"jti": "metric-jti"})
        self.assert_revoked(t)
        self.assertGreaterEqual(metric(self.gw, 'jwtgate_revocation_entries{kind="jti"}'), 1)
        self.assertGreaterEqual(metric(self.gw, 'jwtgate_revocation_refused_total{reason="revoked"}'), 1)
        self.assertEqual(metric(self.gw, 'jwtgate_revocation_store_up{store="local"}'), 1)
        self.assertGreaterEqual(metric(self.gw, 'jwtgate_auth_failures_total{provider="corp",reason="revoked"}'), 1)
        deadline = time.monotonic() + 5
        logged = []
        while time.monotonic() < deadline and not logged:
            logged = [e for e in self.gw.access_log() if e.get("auth") == "revoked" and e.get("subject") == "ivan"]
            time.sleep(0.05)
        self.assertTrue(logged)
        self.assertEqual(logged[-1]["status"], 401)
        self.assertNotIn(t, self.gw.output_text())


class AdminTokenUnsetTest(unittest.TestCase):
    def test_api_answers_403_without_the_variable(self):
        keys = TestKeys.get()
        upstream = EchoUpstream()
        self.addCleanup(upstream.close)
        env = {k: v for k, v in os.environ.items() if k != "JWTGATE_ADMIN_TOKEN"}
        gw = start_gateway(self, make_config(upstream, keys, revocation_config()), env=env)
        resp = admin_call(gw, "POST", {"jti": "x"})
        self.assertEqual(resp.status, 403)
        self.assertIn("admin_token_env", resp.json()["error_description"])


class JournalRestartTest(unittest.TestCase):
    def setUp(self):
        self.keys = TestKeys.get()
        self.upstream = EchoUpstream()
        self.addCleanup(self.upstream.close)
        self.dir = tempfile.mkdtemp(prefix="jwtgate-journal-")
        self.journal = os.path.join(self.dir, "revocations")
        self.config = make_config(self.upstream, self.keys, revocation_config(journal=self.journal))

    def test_entries_survive_restart_and_a_torn_tail(self):
        gw = start_gateway(self, self.config, env=ENV)
        t1 = self.keys.mint(sub="u1", jti="persist-1")
        t2 = self.keys.mint(sub="u2", sid="persist-sid")
        t3 = self.keys.mint(sub="u3", jti="persist-3")
        revoke(self, gw, {"jti": "persist-1"})
        revoke(self, gw, {"sid": "persist-sid"})
        revoke(self, gw, {"jti": "persist-3"})
        self.assertEqual(admin_call(gw, "DELETE", {"jti": "persist-3"}).status, 200)
        gw.stop()
        # A crash in the middle of an append leaves a partial last record.
        with open(self.journal, "ab") as f:
            f.write(b'0badc0de + {"jti":"half')
        gw2 = start_gateway(self, self.config, env=ENV)
        self.assertEqual(gw2.get("/x", token=t1).status, 401)
        self.assertEqual(gw2.get("/x", token=t2).status, 401)
        self.assertEqual(gw2.get("/x", token=t3).status, 200)
        self.assertTrue(gw2.wait_for_output(lambda lines: any("incomplete last record" in l for l in lines)))
        self.assertEqual(sorted(e.get("jti", e.get("sid")) for e in entries(gw2)), ["persist-1", "persist-sid"])
        with open(self.journal, "rb") as f:
            text = f.read()
        self.assertEqual(text.count(b"\n"), 2, "compacted on start")
        self.assertNotIn(b"half", text)

    def test_damaged_journal_refuses_to_start(self):
        with open(self.journal, "wb") as f:
            f.write(b'00000000 + {"jti":"x","exp":4000000000}\n00000000 + {"jti":"y","exp":4000000000}\n')
        gw = Gateway(self.config, env=ENV)
        self.addCleanup(gw.cleanup)
        with self.assertRaises(AssertionError):
            gw.start()
        self.assertIn("damaged revocation record", gw.stderr_text())


class RevokeCliTest(unittest.TestCase):
    def test_revoke_list_and_delete_through_the_cli(self):
        keys = TestKeys.get()
        upstream = EchoUpstream()
        self.addCleanup(upstream.close)
        cfg = make_config(upstream, keys, revocation_config())
        gw = start_gateway(self, cfg, env=ENV)
        # The CLI reads the admin listener from the file: give it the real port.
        cli_cfg = json.loads(json.dumps(cfg))
        cli_cfg["admin"]["port"] = gw.admin_port
        path = os.path.join(tempfile.mkdtemp(prefix="jwtgate-cli-"), "gateway.yaml")
        with open(path, "w") as f:
            f.write(to_yaml(cli_cfg))

        def cli(*args, env=ENV):
            return subprocess.run([gateway_binary(), "revoke", "-c", path, *args], env=env,
                                  capture_output=True, text=True, timeout=30)

        t = keys.mint(sub="cli-user", jti="cli-jti")
        self.assertEqual(gw.get("/x", token=t).status, 200)
        r = cli("--jti", "cli-jti", "--iss", ISSUER, "--ttl", "1h")
        self.assertEqual(r.returncode, 0, r.stderr)
        stored = json.loads(r.stdout)
        self.assertEqual(stored["iss"], ISSUER)
        self.assertLess(abs(stored["exp"] - (time.time() + 3600)), 60)
        self.assertEqual(gw.get("/x", token=t).status, 401)
        r = cli("--list")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([e["jti"] for e in json.loads(r.stdout)["entries"]], ["cli-jti"])
        r = cli("--sub", "someone", "--before", "1700000000")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["before"], 1700000000)
        r = cli("--jti", "cli-jti", "--iss", ISSUER, "--delete")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(gw.get("/x", token=t).status, 200)
        self.assertEqual(cli("--jti", "a", "--sid", "b").returncode, 2)
        self.assertEqual(cli("--jti", "a", "--exp", "soon").returncode, 2)
        r = cli("--jti", "a", "--exp", "1")  # in the past: the gateway refuses it
        self.assertEqual(r.returncode, 1)
        self.assertIn("future", r.stdout)
        no_token = {k: v for k, v in ENV.items() if k != "JWTGATE_ADMIN_TOKEN"}
        r = cli("--list", env=no_token)
        self.assertEqual(r.returncode, 2)
        self.assertIn("JWTGATE_ADMIN_TOKEN", r.stderr)


if __name__ == "__main__":
    unittest.main()

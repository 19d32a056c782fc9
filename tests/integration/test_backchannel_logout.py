"""OpenID Connect Back-Channel Logout 1.0 (SPEC 8): logout tokens minted by PyJWT,
the sid and sub entries they add, and a 400 without any entry for each refusal."""

import json
import os
import socket
import time
import unittest
import urllib.parse

import jwt

from harness import ISSUER, EchoUpstream, TestKeys, gateway_config, provider_config, start_gateway
from revocation_support import ADMIN_TOKEN, entries

EVENT = "http://schemas.openid.net/event/backchannel-logout"
PATH = "/oidc/backchannel-logout"


class BackchannelLogoutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.upstream = EchoUpstream()
        cls.addClassCleanup(cls.upstream.close)
        provider = provider_config(cls.keys, backchannel_logout={"path": PATH, "audiences": ["web-client"]})
        cfg = gateway_config(
            {"app": cls.upstream.url},
            [{"name": "api", "path_prefix": "/", "upstream": "app", "auth": {"providers": ["corp"]}}],
            providers={"corp": provider})
        cfg["revocation"] = {"store": "local"}
        cls.gw = start_gateway(cls, cfg, env=dict(os.environ, JWTGATE_ADMIN_TOKEN=ADMIN_TOKEN))

    def logout_token(self, drop=(), secret=None, alg="HS256", headers=None, **claims):
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": "web-client", "iat": now, "jti": os.urandom(8).hex(),
                   "events": {EVENT: {}}, "sub": "logout-user"}
        payload.update(claims)
        for name in drop:
            payload.pop(name, None)
        key = secret or self.keys.hs_secret
        return jwt.encode(payload, key, algorithm=alg, headers=headers or {"kid": "hs1", "typ": "logout+jwt"})

    def post(self, body, content_type="application/x-www-form-urlencoded", method="POST"):
        headers = [("Content-Type", content_type)] if content_type else []
        data = body.encode() if isinstance(body, str) else body
        return self.gw.request(method, PATH, headers=headers, body=data)

    def post_token(self, token):
        return self.post(urllib.parse.urlencode({"logout_token": token}))

    def test_sid_logout_revokes_that_session(self):
        a = self.keys.mint(sub="sid-user", sid="sess-A")
        b = self.keys.mint(sub="sid-user", sid="sess-B")
        self.assertEqual(self.gw.get("/x", token=a).status, 200)
        hits = self.upstream.hit_count()
        resp = self.post_token(self.logout_token(sid="sess-A", sub="sid-user"))
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(resp.header("Cache-Control"), "no-store")
        self.assertEqual(self.upstream.hit_count(), hits, "the logout was proxied")
        denied = self.gw.get("/x", token=a)
        self.assertEqual(denied.status, 401)
        self.assertEqual(denied.json()["reason"], "revoked")
        self.assertEqual(self.gw.get("/x", token=b).status, 200)
        stored = [e for e in entries(self.gw) if e.get("sid") == "sess-A"]
        self.assertEqual(len(stored), 1)
        self.assertEqual(stored[0]["iss"], ISSUER)

    def test_sub_logout_revokes_tokens_issued_before(self):
        now = int(time.time())
        old = self.keys.mint(sub="sub-user", now=now - 20)
        self.assertEqual(self.gw.get("/x", token=old).status, 200)
        resp = self.post_token(self.logout_token(sub="sub-user"))
        self.assertEqual(resp.status, 200, resp.body)
        self.assertEqual(self.gw.get("/x", token=old).status, 401)
        newer = self.keys.mint(sub="sub-user", now=now + 2)
        self.assertEqual(self.gw.get("/x", token=newer).status, 200)
        stored = [e for e in entries(self.gw) if e.get("sub") == "sub-user"]
        self.assertEqual(len(stored), 1)
        self.assertLessEqual(abs(stored[0]["before"] - now), 5)

    def test_replayed_jti_is_refused(self):
        token = self.logout_token(sub="replay-user")
        self.assertEqual(self.post_token(token).status, 200)
        resp = self.post_token(token)
        self.assertEqual(resp.status, 400)
        self.assertIn("replay", resp.json()["error_description"])

    def test_every_refusal_is_400_and_adds_nothing(self):
        now = int(time.time())
        cases = {
            "bad signature": self.logout_token(secret=self.keys.other_secret, sub="r1"),
            "wrong iss": self.logout_token(iss="https://evil.example", sub="r2"),
            "no iss": self.logout_token(drop=("iss",), sub="r3"),
            "wrong aud": self.logout_token(aud="orders-api", sub="r4"),
            "no aud": self.logout_token(drop=("aud",), sub="r5"),
            "iat too old": self.logout_token(iat=now - 400, sub="r6"),
            "iat in the future": self.logout_token(iat=now + 600, sub="r7"),
            "no iat": self.logout_token(drop=("iat",), sub="r8"),
            "expired": self.logout_token(exp=now - 120, sub="r9"),
            "no events": self.logout_token(drop=("events",), sub="r10"),
            "events without the logout member": self.logout_token(events={"other": {}}, sub="r11"),
            "events not an object": self.logout_token(events=[EVENT], sub="r12"),
            "nonce": self.logout_token(nonce="n-1", sub="r13"),
            "no jti": self.logout_token(drop=("jti",), sub="r14"),
            "neither sub nor sid": self.logout_token(drop=("sub",)),
            "unsigned": jwt.encode({"iss": ISSUER, "aud": "web-client", "iat": now, "jti": "u",
                                    "events": {EVENT: {}}, "sub": "r15"}, None, algorithm="none"),
            "not a JWT": "abc.def",
        }
        before = entries(self.gw)
        for name, token in cases.items():
            resp = self.post_token(token)
            self.assertEqual(resp.status, 400, name)
            self.assertEqual(resp.json()["error"], "invalid_request", name)
            self.assertTrue(resp.json()["error_description"], name)
        good = urllib.parse.urlencode({"logout_token": self.logout_token(sub="r16")})
        for name, resp in {
            "GET": self.gw.request("GET", PATH),
            "JSON body": self.post(good, content_type="application/json"),
            "no content type": self.post(good, content_type=None),
            "no logout_token": self.post("token=x"),
            "empty body": self.post(""),
            "two logout_tokens": self.post(good + "&" + good),
        }.items():
            self.assertEqual(resp.status, 400, name)
            self.assertEqual(resp.json()["error"], "invalid_request", name)
        self.assertEqual(entries(self.gw), before)

    def test_keep_alive_after_a_logout(self):
        body = urllib.parse.urlencode({"logout_token": self.logout_token(sub="ka-user")}).encode()
        with self.gw.connect() as conn:
            r1 = conn.request("POST", PATH, headers=[("Content-Type", "application/x-www-form-urlencoded")],
                              body=body)
            self.assertEqual(r1.status, 200)
            r2 = conn.request("GET", "/x", headers=[("Authorization", "Bearer " + self.keys.mint(sub="k"))])
            self.assertEqual(r2.status, 200)

    def test_logouts_whose_clients_leave_at_once(self):
        # The store answers on the control loop while the session waits on its
        # own loop; whichever thread lets go last, the session must be destroyed
        # on its own loop (under make test-tsan a session destroyed elsewhere is
        # a data race on the loop's session set). Some clients read the answer
        # and close, some close before it comes.
        subs = ["leave-%d" % i for i in range(24)]
        for i, sub in enumerate(subs):
            body = urllib.parse.urlencode({"logout_token": self.logout_token(sub=sub)}).encode()
            if i % 2 == 0:
                resp = self.post(body)
                self.assertEqual(resp.status, 200, resp.body)
                continue
            with socket.create_connection(("127.0.0.1", self.gw.port), timeout=10) as sock:
                sock.sendall(b"POST %s HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                             b"Content-Length: %d\r\n\r\n" % (PATH.encode(), len(body)) + body)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            stored = {e.get("sub") for e in entries(self.gw)}
            if stored.issuperset(subs):
                break
            time.sleep(0.1)
        self.assertTrue(set(subs).issubset({e.get("sub") for e in entries(self.gw)}))
        self.assertEqual(self.gw.get("/x", token=self.keys.mint(sub="after-leavers")).status, 200)


class BackchannelConfigTest(unittest.TestCase):
    def test_needs_revocation(self):
        import subprocess, tempfile
        from harness import gateway_binary, to_yaml
        keys = TestKeys.get()
        cfg = gateway_config({"app": "http://127.0.0.1:9"},
                             [{"path_prefix": "/", "upstream": "app", "auth": {"providers": ["corp"]}}],
                             providers={"corp": provider_config(keys, backchannel_logout={"path": PATH,
                                                                                          "audiences": ["w"]})})
        path = os.path.join(tempfile.mkdtemp(prefix="jwtgate-bcl-"), "c.yaml")
        with open(path, "w") as f:
            f.write(to_yaml(cfg))
        r = subprocess.run([gateway_binary(), "check", "-c", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("needs a revocation section", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()

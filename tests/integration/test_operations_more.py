"""SPEC section 11 and loose ends, with the real binary: `types:` (RFC 9068 typ),
claims of the wrong JSON type, SIGUSR1 reopening the access log (a logrotate-style
rename), `jwtgate verify` fetching jwks_url and discovery sources, TLS client
connections ending with close_notify, and an upstream's early answer to a body
it did not read being relayed instead of a 502."""

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import (LOCALHOST, EchoUpstream, GatewayTestCase, HttpConn, TestKeys, TestPKI,
                     _RawServer, gateway_binary, gateway_config, provider_config, start_gateway)
from test_jwks import ISSUER_PATH, JwksServer, wait_until


class TokenTypes(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.echo = EchoUpstream()
        cls.addClassCleanup(cls.echo.close)
        config = gateway_config(
            upstreams={"app": cls.echo.url},
            providers={"corp": provider_config(cls.keys, types=["at+jwt"])},
            routes=[{"name": "api", "path_prefix": "/", "upstream": "app", "auth": {"providers": ["corp"]}}])
        cls.gw = start_gateway(cls, config)

    def test_typ_at_jwt_in_any_case_and_with_application_prefix(self):
        for typ in ("at+jwt", "AT+JWT", "application/at+jwt", "Application/At+Jwt"):
            resp = self.gw.get("/x", token=self.keys.mint(headers={"typ": typ}))
            self.assertEqual(resp.status, 200, (typ, resp))

    def test_other_or_missing_typ_is_type_mismatch(self):
        for headers in ({"typ": "JWT"}, {"typ": "application/jwt"}, {"typ": "at+jwt2"}, {}):
            token = self.keys.mint(headers=headers)
            if not headers:  # PyJWT adds typ: JWT by default; build one without it
                token = self.keys.sign_raw('{"alg":"HS256","kid":"hs1"}', json.dumps(
                    {"iss": harness.ISSUER, "aud": harness.AUDIENCE, "exp": int(time.time()) + 300}))
            resp = self.gw.get("/x", token=token)
            self.assertAuthError(resp, 401, "invalid_token", "type_mismatch")

    def test_issuer_and_audience_of_the_wrong_json_type_are_mismatches(self):
        now = int(time.time())
        for payload, reason in ([{"iss": 7, "aud": harness.AUDIENCE}, "issuer_mismatch"],
                                [{"iss": [harness.ISSUER], "aud": harness.AUDIENCE}, "issuer_mismatch"],
                                [{"iss": harness.ISSUER, "aud": 12}, "audience_mismatch"],
                                [{"iss": harness.ISSUER, "aud": {"a": harness.AUDIENCE}}, "audience_mismatch"]):
            payload["exp"] = now + 300
            token = self.keys.sign_raw('{"alg":"HS256","kid":"hs1","typ":"at+jwt"}', json.dumps(payload))
            self.assertAuthError(self.gw.get("/x", token=token), 401, "invalid_token", reason)


class AccessLogReopen(GatewayTestCase):
    def test_sigusr1_reopens_the_access_log_after_a_rename(self):
        d = tempfile.mkdtemp(prefix="jwtgate-logrotate-")
        self.addCleanup(shutil.rmtree, d, True)
        log = os.path.join(d, "access.log")
        echo = EchoUpstream()
        self.addCleanup(echo.close)
        config = gateway_config(upstreams={"app": echo.url},
                                routes=[{"name": "all", "path_prefix": "/", "upstream": "app", "auth": "none"}],
                                server={"access_log": log})
        gw = start_gateway(self, config)

        def lines(path):
            try:
                with open(path) as f:
                    return [json.loads(x) for x in f if x.strip()]
            except FileNotFoundError:
                return []

        self.assertEqual(gw.get("/before").status, 200)
        self.assertTrue(wait_until(lambda: [e["path"] for e in lines(log)] == ["/before"], 5), lines(log))
        os.rename(log, log + ".1")  # what logrotate does before it signals
        self.assertEqual(gw.get("/between").status, 200)  # still written to the renamed file
        self.assertTrue(wait_until(lambda: len(lines(log + ".1")) == 2, 5), lines(log + ".1"))
        gw.signal(signal.SIGUSR1)
        self.assertIsNotNone(gw.wait_for_output(lambda ls: any("access log reopened" in x for x in ls), 5),
                             gw.stderr_text())
        self.assertEqual(gw.get("/after").status, 200)
        self.assertTrue(wait_until(lambda: [e["path"] for e in lines(log)] == ["/after"], 5), lines(log))
        self.assertEqual([e["path"] for e in lines(log + ".1")], ["/before", "/between"])
        self.assertTrue(gw.alive())
        # Reopening where the file cannot be created is logged and the gateway keeps serving.
        os.rename(log, log + ".2")
        os.chmod(d, 0o500)
        self.addCleanup(os.chmod, d, 0o700)
        if os.access(d, os.W_OK):  # root ignores the mode: nothing to check
            return
        gw.signal(signal.SIGUSR1)
        self.assertIsNotNone(gw.wait_for_output(lambda ls: any("cannot reopen the access log" in x for x in ls), 5))
        self.assertEqual(gw.get("/lost").status, 200)


class SilentServer(_RawServer):
    """Accepts connections and never answers."""

    def serve(self, conn):
        self.stopping.wait(30)


class VerifyFetchesRemoteKeys(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="jwtgate-verify-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write_config(self, provider_yaml):
        path = os.path.join(self.dir, "gw.yaml")
        with open(path, "w") as f:
            f.write("upstreams:\n  app:\n    url: http://127.0.0.1:9\nproviders:\n  idp:\n" + provider_yaml +
                    "routes:\n  - {name: all, path_prefix: /, upstream: app, auth: {providers: [idp]}}\n")
        return path

    def verify(self, config, token, *extra, timeout=30):
        return subprocess.run([gateway_binary(), "verify", "-c", config, *extra, token],
                              capture_output=True, text=True, timeout=timeout)

    def test_jwks_url_is_fetched(self):
        jwks = JwksServer()
        self.addCleanup(jwks.close)
        jwks.add_key("k1")
        config = self.write_config("    issuer: %s\n    algorithms: [RS256]\n    keys:\n"
                                   "      - jwks_url: %s/jwks.json\n" % (jwks.issuer, jwks.url))
        out = self.verify(config, jwks.mint("k1"))
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("valid", out.stdout.splitlines())
        self.assertEqual(jwks.hit_count(), 1)

    def test_discovery_over_https_with_the_providers_ca_file(self):
        pki = TestPKI(self.dir, name="idp CA")
        jwks = JwksServer(tls=pki)
        self.addCleanup(jwks.close)
        jwks.add_key("k1")
        config = self.write_config("    issuer: %s\n    discovery: true\n    ca_file: %s\n    algorithms: [RS256]\n"
                                   % (jwks.issuer, pki.ca_file))
        out = self.verify(config, jwks.mint("k1"))
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertEqual(jwks.hit_count(ISSUER_PATH + "/.well-known/openid-configuration"), 1)
        self.assertEqual(jwks.hit_count(), 1)

    def test_unreachable_source_gives_a_clear_message(self):
        port = harness.free_port()
        config = self.write_config("    algorithms: [RS256]\n    keys:\n      - jwks_url: http://127.0.0.1:%d/jwks.json\n"
                                   % port)
        jwks = JwksServer()
        self.addCleanup(jwks.close)
        jwks.add_key("k1")
        out = self.verify(config, jwks.mint("k1"))
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("keys_unavailable", out.stdout)
        self.assertIn("provider 'idp'", out.stderr)
        self.assertIn("127.0.0.1:%d" % port, out.stderr)  # the jwks: line naming the URL

    def test_a_silent_source_times_out(self):
        silent = SilentServer()
        self.addCleanup(silent.close)
        config = self.write_config("    algorithms: [RS256]\n    keys:\n      - jwks_url: %s/jwks.json\n" % silent.url)
        jwks = JwksServer()
        self.addCleanup(jwks.close)
        jwks.add_key("k1")
        started = time.monotonic()
        out = self.verify(config, jwks.mint("k1"), "--timeout", "1s")
        self.assertLess(time.monotonic() - started, 15)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("keys_unavailable", out.stdout)
        self.assertIn("no keys fetched within 1000 ms", out.stderr)


class TlsCloseNotify(GatewayTestCase):
    def test_connection_close_over_tls_ends_with_close_notify(self):
        d = tempfile.mkdtemp(prefix="jwtgate-tls-close-")
        self.addCleanup(shutil.rmtree, d, True)
        pki = TestPKI(d, "listener CA")
        echo = EchoUpstream()
        self.addCleanup(echo.close)
        config = gateway_config(upstreams={"app": echo.url},
                                routes=[{"name": "all", "path_prefix": "/", "upstream": "app", "auth": "none"}],
                                listen_tls={"cert_file": pki.cert_file, "key_file": pki.key_file})
        gw = start_gateway(self, config)
        ctx = pki.client_context()
        # OpenSSL 3 may be told to take a bare TCP close as a clean end: not here.
        ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
        for target in ("/x", "/nowhere-but-proxied"):
            raw = socket.create_connection((LOCALHOST, gw.port), timeout=10)
            # suppress_ragged_eofs=False: a close without close_notify raises SSLEOFError.
            tls = ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
            try:
                tls.sendall(b"GET %s HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n" % target.encode())
                data = b""
                while True:
                    chunk = tls.recv(65536)  # b"" only after the peer's close_notify
                    if not chunk:
                        break
                    data += chunk
                self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])
            finally:
                tls.close()


class RefusesBody(_RawServer):
    """Reads the request head only, answers 413 at once and closes, leaving the
    body unread (as a backend with a small body limit does)."""

    def serve(self, conn):
        head, _ = self.read_head(conn)
        if head is None:
            return
        with self.lock:
            self.hits += 1
        body = b'{"error":"too big for me"}'
        conn.sendall(b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
                     b"X-From: upstream\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        time.sleep(0.2)


class EarlyUpstreamAnswer(GatewayTestCase):
    def test_an_answer_before_the_body_is_read_is_relayed(self):
        up = RefusesBody()
        self.addCleanup(up.close)
        config = gateway_config(upstreams={"app": up.url},
                                routes=[{"name": "all", "path_prefix": "/", "upstream": "app", "auth": "none"}],
                                server={"threads": 1})
        gw = start_gateway(self, config)
        size = 32 * 1024 * 1024  # far more than socket buffers hold
        for chunked in (False, True):
            sock = socket.create_connection((LOCALHOST, gw.port), timeout=15)
            framing = b"Transfer-Encoding: chunked\r\n" if chunked else b"Content-Length: %d\r\n" % size
            sock.sendall(b"POST /upload HTTP/1.1\r\nHost: gw.test\r\n" + framing + b"\r\n")

            def pump():
                piece = b"x" * 65536
                sent = 0
                try:
                    while sent < size:
                        sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                        sent += len(piece)
                except OSError:
                    pass  # the gateway stopped reading: expected

            t = threading.Thread(target=pump, daemon=True)
            t.start()
            data = b""
            try:
                while b"too big for me" not in data:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except (ConnectionResetError, socket.timeout) as e:
                self.fail("no relayed answer (%s); got %r" % (e, data[:300]))
            finally:
                sock.close()
                t.join(15)
            self.assertTrue(data.startswith(b"HTTP/1.1 413"), data[:300])
            self.assertIn(b"X-From: upstream", data)
            self.assertIn(b"Connection: close", data)
        self.assertTrue(gw.alive())
        statuses = lambda: [e["status"] for e in gw.access_log() if e.get("path") == "/upload"]
        self.assertTrue(wait_until(lambda: statuses() == [413, 413], 5), statuses())


if __name__ == "__main__":
    unittest.main()

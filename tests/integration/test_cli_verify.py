"""jwtgate verify against tokens minted by PyJWT (an independent implementation)."""

import os
import subprocess
import tempfile
import time
import unittest

import jwt  # Debian's python3-jwt

BINARY = os.environ.get("JWTGATE_BINARY", "jwtgate")
ISSUER = "https://id.example.com"
SECRET = b"s" * 32


class VerifyCommandTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        secret_path = os.path.join(cls.tmp.name, "secret")
        with open(secret_path, "wb") as f:
            f.write(SECRET)
        cls.config = os.path.join(cls.tmp.name, "gw.yaml")
        with open(cls.config, "w") as f:
            f.write(
                "upstreams:\n"
                "  app:\n"
                "    url: http://127.0.0.1:9\n"
                "providers:\n"
                "  corp:\n"
                f"    issuer: {ISSUER}\n"
                "    algorithms: [HS256]\n"
                "    keys:\n"
                f"      - secret_file: {secret_path}\n"
                "        alg: HS256\n"
                "routes:\n"
                "  - name: all\n"
                "    path_prefix: /\n"
                "    upstream: app\n"
                "    auth: {providers: [corp]}\n"
            )

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def mint(self, key=SECRET, **overrides):
        claims = {"sub": "alice", "iss": ISSUER, "exp": int(time.time()) + 600, "role": "admin"}
        claims.update(overrides)
        return jwt.encode(claims, key, algorithm="HS256")

    def verify(self, *args, stdin=None):
        proc = subprocess.run(
            [BINARY, "verify", "-c", self.config, *args],
            input=stdin, capture_output=True, text=True, timeout=30,
        )
        return proc.returncode, proc.stdout, proc.stderr

    def verdict(self, stdout):
        lines = stdout.strip().splitlines()
        self.assertGreaterEqual(len(lines), 2, stdout)
        return lines[-2]

    def test_valid_token(self):
        code, out, _ = self.verify(self.mint())
        self.assertEqual(code, 0, out)
        self.assertEqual(self.verdict(out), "valid")
        self.assertIn('"sub": "alice"', out)
        self.assertIn('"alg": "HS256"', out)

    def test_expired_token_still_prints_claims(self):
        code, out, _ = self.verify(self.mint(exp=int(time.time()) - 3600))
        self.assertEqual(code, 1)
        self.assertEqual(self.verdict(out), "expired")
        self.assertIn('"role": "admin"', out)

    def test_bad_signature(self):
        code, out, _ = self.verify(self.mint(key=b"x" * 32))
        self.assertEqual(code, 1)
        self.assertEqual(self.verdict(out), "bad_signature")

    def test_wrong_issuer(self):
        code, out, _ = self.verify(self.mint(iss="https://evil.example.com"))
        self.assertEqual(code, 1)
        self.assertEqual(self.verdict(out), "issuer_mismatch")

    def test_garbage(self):
        code, out, _ = self.verify("this.is.garbage")
        self.assertEqual(code, 1)
        self.assertEqual(self.verdict(out), "malformed")

    def test_token_from_stdin_is_trimmed(self):
        code, out, _ = self.verify(stdin="\n  " + self.mint() + "  \n")
        self.assertEqual(code, 0, out)
        self.assertEqual(self.verdict(out), "valid")
        code, out, _ = self.verify("-", stdin=self.mint(key=b"y" * 32) + "\n")
        self.assertEqual(code, 1)
        self.assertEqual(self.verdict(out), "bad_signature")

    def test_named_provider(self):
        code, out, _ = self.verify("--provider", "corp", self.mint())
        self.assertEqual(code, 0, out)
        code, _, err = self.verify("--provider", "nobody", self.mint())
        self.assertEqual(code, 2)
        self.assertIn("nobody", err)

    def test_usage_errors_exit_2(self):
        proc = subprocess.run([BINARY, "verify"], capture_output=True, text=True, timeout=30)
        self.assertEqual(proc.returncode, 2)
        code, _, _ = self.verify("--bogus", self.mint())
        self.assertEqual(code, 2)
        code, _, _ = self.verify("a", "b")
        self.assertEqual(code, 2)


if __name__ == "__main__":
    unittest.main()

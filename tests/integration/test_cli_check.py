"""`jwtgate check -c FILE` (SPEC sections 1 and 2).

- every example under config/ is accepted (exit 0) and summarized;
- every file under tests/fixtures/config/broken/ is refused (exit 1): each line
  marked `# ERROR: text` in the file must be reported as `FILE:LINE:COL: ...text`
  on stderr, and nothing else may be reported as an error;
- usage: --help exits 0, usage mistakes exit 2.
"""

import os
import re
import subprocess
import tempfile
import unittest

BINARY = os.environ.get("JWTGATE_BINARY", "")
FIXTURES = os.environ.get("JWTGATE_FIXTURES", "")
REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(REPO_ROOT, "config")
BROKEN = os.path.join(FIXTURES, "config", "broken")

# At least 64 bytes, so that it is long enough for any HS algorithm.
EXAMPLE_SECRET = "example-secret-for-tests-0123456789abcdef0123456789abcdef01234567"
EXPECTED_MARK = re.compile(r"#\s*ERROR:\s*(.+?)\s*$")
ERROR_LINE = re.compile(r"^(.+?):(\d+):(\d+): (.*)$")


def check(path, env_overrides=None, args=None):
    env = dict(os.environ)
    env.pop("JWTGATE_TEST_UNSET_SECRET", None)
    env["JWTGATE_TEST_EMPTY_SECRET"] = ""
    env["JWT_SECRET"] = EXAMPLE_SECRET
    env.update(env_overrides or {})
    cmd = [BINARY, "check"] + (args if args is not None else ["-c", path])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env)


def expected_errors(path):
    """{line number: expected text} from the `# ERROR: text` marks of a file."""
    marks = {}
    with open(path) as f:
        for number, line in enumerate(f, start=1):
            m = EXPECTED_MARK.search(line)
            if m and not line.lstrip().startswith("#"):
                marks[number] = m.group(1)
    return marks


def reported_errors(stderr, path):
    """[(line, message)] of the FILE:LINE:COL lines that name `path`, warnings excluded."""
    out = []
    for line in stderr.splitlines():
        m = ERROR_LINE.match(line)
        if m and m.group(1) == path and not m.group(4).startswith("warning:"):
            out.append((int(m.group(2)), m.group(4)))
    return out


@unittest.skipUnless(BINARY and os.path.exists(BINARY), "JWTGATE_BINARY is not built")
class ExampleConfigs(unittest.TestCase):
    def example_files(self):
        names = sorted(n for n in os.listdir(EXAMPLES) if n.endswith(".yaml"))
        return [os.path.join(EXAMPLES, n) for n in names]

    def test_the_three_operator_examples_exist(self):
        names = {os.path.basename(p) for p in self.example_files()}
        for required in ("fronting-backend.yaml", "sidecar-jwks.yaml", "forward-auth-nginx.yaml"):
            self.assertIn(required, names)

    def test_every_example_is_accepted(self):
        for path in self.example_files():
            with self.subTest(config=os.path.basename(path)):
                result = check(path)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("configuration is valid", result.stdout)
                self.assertIn("routes", result.stdout)

    def test_summary_of_fronting_backend(self):
        path = os.path.join(EXAMPLES, "fronting-backend.yaml")
        result = check(path)
        self.assertEqual(result.returncode, 0, result.stderr)
        out = result.stdout
        self.assertRegex(out, r"http\s+0\.0\.0\.0:8080")
        self.assertRegex(out, r"admin\s+127\.0\.0\.1:9901")
        self.assertIn("backend: http://127.0.0.1:9000", out)
        self.assertIn("internal: algorithms HS256", out)
        self.assertIn("key secret_env JWT_SECRET alg HS256", out)
        self.assertIn("static keys loaded: 1", out)
        self.assertRegex(out, r"health: path /healthz -> backend, auth none")
        self.assertRegex(out, r"orders-write: prefix /orders methods POST,PUT,PATCH,DELETE -> backend, "
                              r"auth required \(providers internal; scopes orders:write\)")
        self.assertNotIn(EXAMPLE_SECRET, out + result.stderr, "the secret is never printed")

    def test_summary_of_sidecar_and_forward_auth(self):
        sidecar = check(os.path.join(EXAMPLES, "sidecar-jwks.yaml"))
        self.assertEqual(sidecar.returncode, 0, sidecar.stderr)
        self.assertIn("jwks_url https://", sidecar.stdout)
        self.assertIn("plus keys fetched at run time", sidecar.stdout)
        self.assertIn("X-User-Roles=realm_access.roles", sidecar.stdout)
        self.assertRegex(sidecar.stdout, r"admin\s+0\.0\.0\.0:9901")

        nginx = check(os.path.join(EXAMPLES, "forward-auth-nginx.yaml"))
        self.assertEqual(nginx.returncode, 0, nginx.stderr)
        self.assertIn("forward_auth: /_auth", nginx.stdout)
        self.assertIn("(decisions only)", nginx.stdout)

    def test_fronting_backend_without_its_secret_is_refused(self):
        path = os.path.join(EXAMPLES, "fronting-backend.yaml")
        env = dict(os.environ)
        env.pop("JWT_SECRET", None)
        result = subprocess.run([BINARY, "check", "-c", path], capture_output=True, text=True,
                                timeout=30, env=env)
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, re.escape(path) + r":\d+:\d+: .*JWT_SECRET.*not set")

    def test_fronting_backend_with_a_short_secret_is_refused(self):
        path = os.path.join(EXAMPLES, "fronting-backend.yaml")
        result = check(path, {"JWT_SECRET": "too-short"})
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, re.escape(path) + r":\d+:\d+: ")


@unittest.skipUnless(BINARY and os.path.exists(BINARY), "JWTGATE_BINARY is not built")
class BrokenConfigs(unittest.TestCase):
    def broken_files(self):
        return sorted(os.path.join(BROKEN, n) for n in os.listdir(BROKEN) if n.endswith(".yaml"))

    def test_there_is_one_broken_config_per_refusal(self):
        self.assertGreaterEqual(len(self.broken_files()), 40)

    def test_every_broken_config_is_refused_at_the_marked_lines(self):
        for path in self.broken_files():
            name = os.path.basename(path)
            with self.subTest(config=name):
                expected = expected_errors(path)
                self.assertTrue(expected, f"{name} marks no `# ERROR:` line")
                result = check(path)
                self.assertEqual(result.returncode, 1, f"{name} was accepted:\n{result.stdout}")
                self.assertEqual(result.stdout, "", "nothing on stdout for an invalid config")
                reported = reported_errors(result.stderr, path)
                for line, text in expected.items():
                    self.assertIn(f"{path}:{line}:", result.stderr)
                    self.assertTrue(any(l == line and text in msg for l, msg in reported),
                                    f"{name}:{line}: expected '{text}', got:\n{result.stderr}")
                unexpected = [(l, m) for l, m in reported if l not in expected]
                self.assertEqual(unexpected, [], f"{name}: errors on unmarked lines")

    def test_all_errors_are_reported_at_once_in_file_order(self):
        path = os.path.join(BROKEN, "several-errors.yaml")
        result = check(path)
        self.assertEqual(result.returncode, 1)
        lines = [line for line, _ in reported_errors(result.stderr, path)]
        self.assertEqual(lines, sorted(lines))
        self.assertEqual(set(lines), set(expected_errors(path)))
        self.assertIn(f"{path}: {len(lines)} errors", result.stderr)

    def test_relative_paths_are_resolved_against_the_config_directory(self):
        # Run from another directory: ../keys/... must still be found next to the file.
        path = os.path.join(FIXTURES, "config", "valid", "relative-keys.yaml")
        with tempfile.TemporaryDirectory() as elsewhere:
            result = subprocess.run([BINARY, "check", "-c", path], capture_output=True, text=True,
                                    timeout=30, cwd=elsewhere)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("static keys loaded: 1", result.stdout)


@unittest.skipUnless(BINARY and os.path.exists(BINARY), "JWTGATE_BINARY is not built")
class Usage(unittest.TestCase):
    def test_help(self):
        result = check(None, args=["--help"])
        self.assertEqual(result.returncode, 0)
        self.assertIn("usage: jwtgate check -c FILE", result.stdout)

    def test_usage_errors_exit_2(self):
        for args in ([], ["-c"], ["--bogus"], ["-c", "a.yaml", "-c", "b.yaml"], ["a.yaml"]):
            with self.subTest(args=args):
                result = check(None, args=args)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn("usage: jwtgate check", result.stderr)

    def test_missing_file_exits_1_with_its_name(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "nope.yaml")
            result = check(path)
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{path}: cannot read", result.stderr)

    def test_long_option_forms(self):
        path = os.path.join(EXAMPLES, "forward-auth-nginx.yaml")
        for args in (["--config", path], [f"--config={path}"]):
            with self.subTest(args=args):
                self.assertEqual(check(None, args=args).returncode, 0)


if __name__ == "__main__":
    unittest.main()

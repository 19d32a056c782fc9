"""The deployment files under deploy/ and config/ are usable as shipped.

- the runtime stage of deploy/Dockerfile installs every package the binary links
  against (there is no Docker engine here, so `ldd` stands in for the container);
- every Kubernetes manifest parses, and every config it embeds passes `jwtgate check`;
- the systemd unit carries its hardening, reload and secrets settings;
- a real nginx with deploy/nginx/jwtgate-auth.conf, calling jwtgate's forward-auth
  endpoint, lets a valid token through with identity headers copied by nginx, and
  answers 401 without a token and 403 without the required scope.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import yaml

import harness
from harness import REPO_ROOT, EchoUpstream, Gateway, HttpConn, LOCALHOST

DEPLOY = os.path.join(REPO_ROOT, "deploy")
SECRET = "k8s-test-secret-0123456789abcdef0123456789"


def runtime_packages():
    with open(os.path.join(DEPLOY, "runtime-packages.txt")) as f:
        return {line.strip() for line in f if line.strip() and not line.startswith("#")}


def run_check(config_text, env=None):
    d = tempfile.mkdtemp(prefix="jwtgate-deploy-")
    try:
        path = os.path.join(d, "jwtgate.yaml")
        with open(path, "w") as f:
            f.write(config_text)
        full_env = dict(os.environ)
        full_env.update(env or {})
        return subprocess.run([harness.gateway_binary(), "check", "-c", path],
                              capture_output=True, text=True, timeout=30, env=full_env)
    finally:
        shutil.rmtree(d, ignore_errors=True)


class RuntimePackages(unittest.TestCase):
    @harness.skip_under_sanitizer("the binary links the sanitizer runtimes, which no "
                                  "deployed image carries")
    def test_every_linked_library_comes_from_a_runtime_package(self):
        out = subprocess.run(["ldd", harness.gateway_binary()], capture_output=True,
                             text=True, timeout=30, check=True).stdout
        self.assertNotIn("not found", out)
        libs = re.findall(r"=>\s+(/\S+)", out)
        self.assertGreater(len(libs), 3, out)
        wanted = runtime_packages()
        missing = {}
        for lib in libs:
            real = os.path.realpath(lib)
            owner = None
            for candidate in (lib, real, lib.replace("/lib/", "/usr/lib/", 1)):
                res = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
                if res.returncode == 0:
                    owner = res.stdout.split(":", 1)[0].strip()
                    break
            self.assertIsNotNone(owner, "no Debian package owns %s" % lib)
            if owner not in wanted:
                missing[lib] = owner
        self.assertEqual(missing, {}, "libraries whose package deploy/runtime-packages.txt lacks")

    def test_dockerfile_installs_the_list_and_runs_unprivileged(self):
        with open(os.path.join(DEPLOY, "Dockerfile")) as f:
            text = f.read()
        self.assertIn("runtime-packages.txt", text)
        self.assertRegex(text, r"(?m)^FROM debian:12\S* AS build")
        self.assertRegex(text, r"(?m)^FROM debian:12\S* AS runtime")
        self.assertRegex(text, r"(?m)^USER 10001")
        self.assertIn('"serve", "-c"', text)


class KubernetesManifests(unittest.TestCase):
    def manifests(self):
        folder = os.path.join(DEPLOY, "kubernetes")
        docs = []
        for name in sorted(os.listdir(folder)):
            if name.endswith((".yaml", ".yml")):
                with open(os.path.join(folder, name)) as f:
                    docs.extend((name, d) for d in yaml.safe_load_all(f) if d)
        return docs

    def test_every_manifest_parses_with_kind_and_name(self):
        docs = self.manifests()
        self.assertGreaterEqual(len(docs), 6)
        for name, doc in docs:
            self.assertIn("kind", doc, name)
            self.assertIn("apiVersion", doc, name)
            self.assertTrue(doc["metadata"]["name"], name)

    def test_embedded_configs_pass_jwtgate_check(self):
        checked = 0
        for name, doc in self.manifests():
            if doc["kind"] != "ConfigMap":
                continue
            for key, text in doc["data"].items():
                if key.endswith((".yaml", ".yml")):
                    res = run_check(text, env={"JWT_SECRET": SECRET})
                    self.assertEqual(res.returncode, 0, "%s %s:\n%s%s" % (name, key, res.stdout, res.stderr))
                    checked += 1
        self.assertGreaterEqual(checked, 2)

    def test_gateway_containers_have_probes_drain_room_and_resources(self):
        deployments = [(n, d) for n, d in self.manifests() if d["kind"] == "Deployment"]
        self.assertEqual(len(deployments), 2)
        for name, dep in deployments:
            spec = dep["spec"]["template"]["spec"]
            gw = [c for c in spec["containers"] if "jwtgate" in c["image"]]
            self.assertEqual(len(gw), 1, name)
            c = gw[0]
            self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz")
            self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz")
            self.assertIn("preStop", c["lifecycle"])
            self.assertIn("memory", c["resources"]["requests"])
            # preStop sleep + drain_timeout (15s) must fit in the grace period.
            self.assertGreaterEqual(spec["terminationGracePeriodSeconds"], 5 + 15)
            self.assertTrue(c["securityContext"]["runAsNonRoot"])

    def test_sidecar_app_is_reached_only_through_the_gateway(self):
        for name, doc in self.manifests():
            if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "jwtgate-config":
                cfg = yaml.safe_load(doc["data"]["jwtgate.yaml"])
                self.assertEqual(cfg["upstreams"]["app"]["url"], "http://127.0.0.1:9000")
                return
        self.fail("sidecar ConfigMap not found")


class SystemdUnit(unittest.TestCase):
    def test_unit_has_hardening_reload_and_secrets(self):
        with open(os.path.join(DEPLOY, "systemd", "jwtgate.service")) as f:
            text = f.read()
        for needle in ("DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes",
                       "ExecReload=/bin/kill -HUP $MAINPID", "EnvironmentFile=",
                       "ExecStart=/usr/local/bin/jwtgate serve -c"):
            self.assertIn(needle, text)

    def test_unit_verifies_when_systemd_analyze_is_available(self):
        tool = shutil.which("systemd-analyze")
        if tool is None:
            self.skipTest("systemd-analyze not installed")
        d = tempfile.mkdtemp()
        try:
            unit = os.path.join(d, "jwtgate.service")
            with open(os.path.join(DEPLOY, "systemd", "jwtgate.service")) as f:
                text = f.read()
            # The binary path is the installed one; point it at the build for the check.
            text = text.replace("/usr/local/bin/jwtgate", harness.gateway_binary())
            with open(unit, "w") as f:
                f.write(text)
            res = subprocess.run([tool, "verify", unit], capture_output=True, text=True, timeout=60)
            bad = [l for l in res.stderr.splitlines()
                   if "jwtgate.service" in l and "Unknown" in l]
            self.assertEqual(bad, [], res.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@unittest.skipUnless(os.path.exists(NGINX), "nginx not installed (make test installs nginx-light)")
class NginxAuthRequest(unittest.TestCase):
    """A real nginx in front, with jwtgate as its auth_request target."""

    @classmethod
    def setUpClass(cls):
        cls.keys = harness.TestKeys.get()
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        provider = harness.provider_config(cls.keys)
        provider["headers"] = {"X-User-Id": "sub", "X-User-Roles": "realm_access.roles",
                               "X-User-Scopes": "scope"}
        provider.pop("payload_header", None)
        config = harness.gateway_config(
            upstreams={"app": cls.app.url},
            providers={"corp": provider},
            forward_auth={"path": "/_auth"},
            routes=[
                {"name": "orders", "path_prefix": "/orders",
                 "auth": {"providers": ["corp"], "scopes": ["orders.read"]}},
                {"name": "rest", "path_prefix": "/", "auth": {"providers": ["corp"]}},
            ])
        cls.gateway = harness.start_gateway(cls, config)

        cls.dir = tempfile.mkdtemp(prefix="jwtgate-nginx-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        cls.port = harness.free_port()
        with open(os.path.join(DEPLOY, "nginx", "jwtgate-auth.conf")) as f:
            server = f.read()
        server = (server.replace("127.0.0.1:8081", "%s:%d" % (LOCALHOST, cls.gateway.port))
                        .replace("127.0.0.1:9000", "%s:%d" % (LOCALHOST, cls.app.port))
                        .replace("listen 127.0.0.1:8080", "listen %s:%d" % (LOCALHOST, cls.port)))
        d = cls.dir
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""
daemon off;
master_process off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log info;
events { worker_connections 256; }
http {
  access_log %(d)s/access.log;
  client_body_temp_path %(d)s/client_body;
  proxy_temp_path %(d)s/proxy;
  fastcgi_temp_path %(d)s/fastcgi;
  uwsgi_temp_path %(d)s/uwsgi;
  scgi_temp_path %(d)s/scgi;
  %(server)s
}
""" % {"d": d, "server": server})
        cls.nginx = subprocess.Popen([NGINX, "-p", d, "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        cls.addClassCleanup(cls._stop_nginx)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if cls.nginx.poll() is not None:
                raise AssertionError("nginx exited: %s" % cls.nginx.stderr.read().decode())
            try:
                with HttpConn(LOCALHOST, cls.port, timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("nginx did not start listening")

    @classmethod
    def _stop_nginx(cls):
        if cls.nginx.poll() is None:
            cls.nginx.send_signal(signal.SIGQUIT)
            try:
                cls.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                cls.nginx.kill()
                cls.nginx.wait(timeout=5)

    def get(self, target, token=None, extra=()):
        headers = list(extra)
        if token:
            headers.append(("Authorization", "Bearer " + token))
        with HttpConn(LOCALHOST, self.port, timeout=10) as conn:
            return conn.request("GET", target, headers=headers)

    def test_valid_token_reaches_upstream_with_identity_headers_from_jwtgate(self):
        token = self.keys.mint(sub="alice", scope="orders.read orders.write",
                               realm_access={"roles": ["admin", "ops"]})
        before = self.app.hit_count()
        res = self.get("/orders/42?x=1", token, extra=[("X-User-Id", "mallory")])
        self.assertEqual(res.status, 200, res.body)
        echo = res.json()
        self.assertEqual(echo["path"], "/orders/42")
        seen = {k.lower(): v for k, v in echo["headers"]}
        self.assertEqual(seen.get("x-user-id"), "alice")
        self.assertEqual(seen.get("x-user-roles"), "admin,ops")
        self.assertEqual(seen.get("x-user-scopes"), "orders.read orders.write")
        ids = [v for k, v in echo["headers"] if k.lower() == "x-user-id"]
        self.assertEqual(ids, ["alice"], "the spoofed X-User-Id must not arrive")
        self.assertEqual(self.app.hit_count(), before + 1)

    def test_missing_token_gets_401_and_never_reaches_upstream(self):
        before = self.app.hit_count()
        res = self.get("/orders/42")
        self.assertEqual(res.status, 401)
        self.assertEqual(res.header("WWW-Authenticate"), 'Bearer realm="jwtgate"')
        self.assertEqual(self.app.hit_count(), before)

    def test_token_without_required_scope_gets_403(self):
        token = self.keys.mint(sub="bob", scope="profile")
        before = self.app.hit_count()
        res = self.get("/orders/42", token)
        self.assertEqual(res.status, 403)
        self.assertEqual(self.app.hit_count(), before)

    def test_forged_token_gets_401(self):
        token = self.keys.mint_with_secret(self.keys.other_secret, sub="eve", scope="orders.read")
        before = self.app.hit_count()
        res = self.get("/orders/42", token)
        self.assertEqual(res.status, 401)
        self.assertEqual(self.app.hit_count(), before)


if __name__ == "__main__":
    unittest.main()

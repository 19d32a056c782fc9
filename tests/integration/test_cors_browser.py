"""CORS with a real browser (SPEC section 10): headless Chromium loads a page from
one 127.0.0.1 origin that calls the gateway, on another port, with
fetch(..., {credentials: "include"}) and a token cookie. The allowed origin reads
the 200 (also of a preflighted JSON POST) and the body of the gateway's own 401;
a page from another origin reads neither. Each page reports what it could read
to its own server (same-origin), so the test does not depend on when Chromium
considers the page loaded. Skipped, with the reason, only where Chromium is
missing or cannot start."""

import http.server
import json
import shutil
import subprocess
import tempfile
import threading
import unittest

from harness import (LOCALHOST, EchoUpstream, GatewayTestCase, TestKeys, gateway_config,
                     provider_config, start_gateway)

BROWSER_TIMEOUT = 60.0

PAGE = """<!doctype html>
<html><head><title>cors test</title></head><body><pre id="out">running</pre>
<script>
const gw = %(gateway)s;
async function attempt(name, url, init) {
  try {
    const r = await fetch(gw + url, Object.assign({credentials: "include"}, init || {}));
    let body = null;
    try { body = await r.json(); } catch (e) { body = "unreadable: " + e; }
    return [name, {status: r.status, body: body, requestId: r.headers.get("X-Request-Id"),
                  upstream: r.headers.get("X-Upstream")}];
  } catch (e) {
    return [name, {error: String(e.name || e)}];
  }
}
(async () => {
  const results = Object.fromEntries([
    await attempt("ok", "/api/orders"),
    await attempt("unauthorized", "/secure/orders"),
    await attempt("post", "/api/orders", {method: "POST", headers: {"Content-Type": "application/json"},
                                           body: JSON.stringify({item: 1})}),
  ]);
  document.getElementById("out").textContent = JSON.stringify(results);
  await fetch("/report", {method: "POST", body: JSON.stringify(results)});
})();
</script></body></html>
"""


class PageServer:
    """Serves the test page (and a token cookie scoped to /api) from its own origin
    and collects the page's report."""

    def __init__(self, token, gateway_origin=None):
        self.report = None
        self.event = threading.Event()
        self.gateway_origin = gateway_origin  # may be set once the gateway runs
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != "/":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                page = (PAGE % {"gateway": json.dumps(outer.gateway_origin)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                # 127.0.0.1 on every port is one site: the gateway gets this cookie.
                self.send_header("Set-Cookie", "access_token=%s; Path=/api; SameSite=Lax" % token)
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                data = self.rfile.read(length)
                self.send_response(204)
                self.end_headers()
                try:
                    outer.report = json.loads(data)
                except ValueError:
                    outer.report = {"unparsable": data.decode("latin-1")}
                outer.event.set()

        self.server = http.server.ThreadingHTTPServer((LOCALHOST, 0), Handler)
        self.port = self.server.server_address[1]
        self.origin = "http://%s:%d" % (LOCALHOST, self.port)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium process with a private profile."""

    def __init__(self, binary):
        self.binary = binary
        self.profile = tempfile.mkdtemp(prefix="jwtgate-chromium-")
        self.proc = None

    def args(self):
        return [self.binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + self.profile]

    def probe(self):
        """None when Chromium starts and runs JavaScript, else why not."""
        try:
            out = subprocess.run(self.args() + ["--dump-dom",
                                                "data:text/html,<p id=p>x</p><script>p.textContent='js-ok'</script>"],
                                 capture_output=True, timeout=BROWSER_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as e:
            return "cannot run %s: %s" % (self.binary, e)
        if b"js-ok" not in out.stdout:
            return "%s did not run a page (exit %s): %s" % (self.binary, out.returncode,
                                                           out.stderr.decode("latin-1")[-500:])
        return None

    def open(self, url):
        # A file, not a pipe: Chromium logs a lot, and a full pipe would stall it.
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.args() + [url], stdout=subprocess.DEVNULL, stderr=self.log)

    def log_tail(self):
        self.log.seek(0)
        return self.log.read().decode("latin-1")[-1500:]

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc:
            self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class CorsInABrowser(GatewayTestCase):
    @classmethod
    def setUpClass(cls):
        binary = chromium_binary()
        if binary is None:
            raise unittest.SkipTest("Chromium is not installed (Debian package `chromium`)")
        reason = Browser(binary).probe()
        if reason is not None:
            raise unittest.SkipTest("Chromium cannot start here: " + reason)
        cls.binary = binary
        cls.keys = TestKeys.get()
        cls.echo = EchoUpstream()
        cls.addClassCleanup(cls.echo.close)
        # The allowed page's origin is in the config, so its server starts first.
        cls.token = cls.keys.mint(sub="browser-user")
        cls.allowed = PageServer(cls.token)
        cls.addClassCleanup(cls.allowed.close)
        provider = provider_config(cls.keys, token_from=[{"cookie": "access_token"},
                                                         {"header": "Authorization", "prefix": "Bearer "}])
        cors = {"allow_origins": [cls.allowed.origin],
                "allow_headers": ["Content-Type"], "expose_headers": ["X-Request-Id", "X-Upstream"],
                "allow_credentials": True, "max_age": "1m"}
        config = gateway_config(
            upstreams={"app": cls.echo.url},
            routes=[{"name": "api", "path_prefix": "/api", "upstream": "app",
                     "auth": {"providers": ["corp"]}, "cors": cors},
                    {"name": "secure", "path_prefix": "/secure", "upstream": "app",
                     "auth": {"providers": ["corp"]}, "cors": cors}],
            providers={"corp": provider})
        cls.gw = start_gateway(cls, config)
        cls.gateway_origin = "http://%s:%d" % (LOCALHOST, cls.gw.port)
        cls.allowed.gateway_origin = cls.gateway_origin

    def run_page(self, server):
        browser = Browser(self.binary)
        self.addCleanup(browser.close)
        browser.open(server.origin + "/")
        got = server.event.wait(BROWSER_TIMEOUT)
        if not got:
            alive = browser.proc.poll() is None
            err = browser.log_tail()
            self.fail("no report from the page within %.0f s (browser alive: %s) %s" % (BROWSER_TIMEOUT, alive, err))
        return server.report

    def test_allowed_origin_reads_the_200_and_the_401(self):
        report = self.run_page(self.allowed)
        self.assertEqual(report["ok"].get("status"), 200, report)
        echoed = report["ok"]["body"]
        self.assertEqual(echoed["path"], "/api/orders", report)
        self.assertIn(["X-User-Id", "browser-user"], echoed["headers"], report)
        self.assertEqual(report["ok"].get("upstream"), "echo", report)  # exposed through Expose-Headers
        self.assertEqual(report["unauthorized"].get("status"), 401, report)
        self.assertEqual(report["unauthorized"]["body"]["reason"], "missing_token", report)
        self.assertTrue(report["unauthorized"].get("requestId"), report)
        self.assertEqual(report["post"].get("status"), 200, report)
        self.assertEqual(report["post"]["body"]["method"], "POST", report)
        # The JSON POST was preflighted; the gateway answered the OPTIONS itself.
        self.assertNotIn("OPTIONS", [r["method"] for r in self.echo.requests])

    def test_other_origin_reads_nothing(self):
        other = PageServer(self.token, self.gateway_origin)
        self.addCleanup(other.close)
        report = self.run_page(other)
        for name in ("ok", "unauthorized", "post"):
            self.assertEqual(report[name].get("error"), "TypeError", report)
            self.assertNotIn("status", report[name], report)


if __name__ == "__main__":
    unittest.main()

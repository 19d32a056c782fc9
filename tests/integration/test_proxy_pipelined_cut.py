"""An upstream that breaks off mid-response while the client has pipelined more
requests: the gateway must end the connection without a reset, which would
destroy the earlier responses the client has not read yet."""

import socket
import time
import unittest

from harness import LOCALHOST, BrokenUpstream, EchoUpstream, gateway_config, start_gateway


class PipelinedCutTest(unittest.TestCase):
    def test_earlier_responses_survive_a_later_upstream_cut(self):
        echo = EchoUpstream()
        self.addCleanup(echo.close)
        broken = BrokenUpstream()
        self.addCleanup(broken.close)
        cfg = gateway_config({"echo": echo.url, "broken": broken.url}, [
            {"name": "dl", "path_prefix": "/download", "upstream": "echo", "auth": "none"},
            {"name": "cut", "path_prefix": "/truncated", "upstream": "broken", "auth": "none"},
        ])
        gw = start_gateway(self, cfg)
        req = lambda path: ("GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path).encode()
        for attempt in range(3):
            s = socket.create_connection((LOCALHOST, gw.port), timeout=10)
            try:
                s.sendall(req("/download/60000") + req("/truncated"))
                time.sleep(0.1)
                # Arrives while the gateway relays the broken response: unread when it closes.
                s.sendall(req("/download/10"))
                time.sleep(1.0)  # the client reads late, as a busy one would
                data = b""
                try:
                    while True:
                        chunk = s.recv(1 << 20)
                        if not chunk:
                            break
                        data += chunk
                except ConnectionResetError:
                    self.fail("the gateway reset the connection (attempt %d, %d bytes read)" % (attempt, len(data)))
            finally:
                s.close()
            head, _, rest = data.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head[:100])
            self.assertIn(b"content-length: 60000", head.lower())
            self.assertGreaterEqual(len(rest), 60000, "the first response lost its end")
            second = rest[60000:]
            self.assertTrue(second.startswith(b"HTTP/1.1 200"), second[:100])
            self.assertIn(b"content-length: 100000", second.lower().partition(b"\r\n\r\n")[0])
            self.assertLess(len(second), 100000, "the truncation must stay visible")


if __name__ == "__main__":
    unittest.main()

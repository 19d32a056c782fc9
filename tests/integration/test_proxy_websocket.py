"""WebSocket upgrades (SPEC section 4): tunnelled both ways after authentication,
refused before any upgrade without a valid token."""

import os
import unittest

from harness import (GatewayTestCase, TestKeys, WebSocketClient, WebSocketUpstream,
                     gateway_config, provider_config, start_gateway, websocket_handshake,
                     ws_accept_key)


class ProxyWebSocketTest(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.keys = TestKeys.get()
        cls.ws = WebSocketUpstream()
        cls.addClassCleanup(cls.ws.close)
        routes = [{"name": "ws", "path_prefix": "/ws", "upstream": "ws",
                   "auth": {"providers": ["corp"]}}]
        config = gateway_config({"ws": cls.ws.url}, routes,
                                providers={"corp": provider_config(cls.keys)})
        cls.gw = start_gateway(cls, config)

    def tearDown(self):
        self.assertTrue(self.gw.alive(), "gateway died:\n" + self.gw.stderr_text()[-3000:])

    def test_echo_through_the_tunnel(self):
        tok = self.keys.mint(sub="ws-user")
        with self.gw.connect(timeout=10) as conn:
            resp, key = websocket_handshake(conn, "/ws/chat?room=1", [
                ("Authorization", "Bearer " + tok), ("X-User-Id", "spoofed")])
            self.assertEqual(resp.status, 101, resp)
            self.assertEqual(resp.header("Sec-WebSocket-Accept"), ws_accept_key(key))
            self.assertEqual((resp.header("Upgrade") or "").lower(), "websocket")
            client = WebSocketClient(conn)
            for text in ("hello", "second message", "x" * 300):
                client.send_text(text)
                self.assertEqual(client.recv(), (0x1, text.encode()))
            blob = os.urandom(70000)
            client.send_binary(blob)
            self.assertEqual(client.recv(), (0x2, blob))
            conn.send(b"\x89\x84" + b"\x01\x02\x03\x04" + bytes(b ^ m for b, m in
                                                              zip(b"ping", b"\x01\x02\x03\x04")))
            self.assertEqual(client.recv(), (0xA, b"ping"))
            client.send_close(1000)
            opcode, payload = client.recv()
            self.assertEqual(opcode, 0x8)
            self.assertEqual(payload[:2], (1000).to_bytes(2, "big"))
        handshake = {k.lower(): v for k, v in self.ws.handshakes[-1]}
        self.assertEqual(handshake.get("x-user-id"), "ws-user")
        self.assertEqual(handshake.get("upgrade", "").lower(), "websocket")
        self.assertEqual(self.ws.unmasked_frames, 0, "client frames must reach the upstream masked")

    def test_no_token_no_upgrade(self):
        before = self.ws.hit_count()
        with self.gw.connect(timeout=10) as conn:
            resp, _ = websocket_handshake(conn, "/ws/chat")
        self.assertAuthError(resp, 401, "missing_token", "missing_token")
        self.assertIsNone(resp.header("Sec-WebSocket-Accept"))
        self.assertEqual(self.ws.hit_count(), before, "the upstream saw an unauthenticated upgrade")

    def test_bad_token_no_upgrade(self):
        before = self.ws.hit_count()
        bad = self.keys.mint_with_secret(self.keys.other_secret, sub="ws-user")
        with self.gw.connect(timeout=10) as conn:
            resp, _ = websocket_handshake(conn, "/ws/chat", [("Authorization", "Bearer " + bad)])
        self.assertAuthError(resp, 401, "invalid_token", "bad_signature")
        self.assertEqual(self.ws.hit_count(), before)


if __name__ == "__main__":
    unittest.main()

"""server.max_connections, and the one retry of an idempotent request whose pooled
upstream connection turned out closed (SPEC section 4, upstream keep-alive)."""

import socket
import threading
import time
import unittest

from harness import (LOCALHOST, GatewayTestCase, HttpConn, _RawServer, gateway_config,
                     start_gateway)


def read_request(conn, pending):
    """Reads one request with a Content-Length (or no) body from `conn`, starting
    with the bytes in `pending`. Returns (method, target, rest) or None when the
    peer closed first."""
    while b"\r\n\r\n" not in pending:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        pending += chunk
    head, _, pending = pending.partition(b"\r\n\r\n")
    method, target = head.decode("latin-1").split(" ")[:2]
    length = 0
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(pending) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        pending += chunk
    return method, target, pending[length:]


def gateway_in_front_of(case, upstream, **server):
    """A one-loop gateway routing everything, unauthenticated, to `upstream`."""
    case.addCleanup(upstream.close)
    config = gateway_config(
        upstreams={"app": upstream.url},
        routes=[{"name": "all", "path_prefix": "/", "upstream": "app", "auth": "none"}],
        server=dict({"threads": 1}, **server))
    return start_gateway(case, config)


class DropsSecondRequest(_RawServer):
    """Answers the first request of each connection with keep-alive, then reads the
    next request on that connection and closes without a word: the race a pooled
    connection loses when the upstream's keep-alive timer fires as it is reused."""

    def __init__(self):
        super().__init__()
        self.seen = []  # (connection number, method, target)
        self.connections = 0

    def serve(self, conn):
        with self.lock:
            self.connections += 1
            number = self.connections
        pending = b""
        for served in range(2):
            request = read_request(conn, pending)
            if request is None:
                return
            method, target, pending = request
            with self.lock:
                self.hits += 1
                self.seen.append((number, method, target))
            if served == 1:
                return  # the second request on a connection: close, no response
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")

    def requests(self):
        with self.lock:
            return list(self.seen)


class RetryOnClosedPooledConnection(GatewayTestCase):
    def setUp(self):
        self.up = DropsSecondRequest()
        self.gw = gateway_in_front_of(self, self.up)

    def test_idempotent_request_is_retried_once_on_a_fresh_connection(self):
        with self.gw.connect() as conn:
            first = conn.request("GET", "/one")
            self.assertEqual(first.status, 200)
            second = conn.request("GET", "/two")
        self.assertEqual(second.status, 200, second)
        seen = self.up.requests()
        # /two went out on the pooled connection (dropped), then once more on a new one.
        self.assertEqual([t for _, _, t in seen], ["/one", "/two", "/two"], seen)
        self.assertEqual(seen[1][0], 1)
        self.assertEqual(seen[2][0], 2)

    def test_non_idempotent_request_is_not_retried(self):
        with self.gw.connect() as conn:
            self.assertEqual(conn.request("GET", "/one").status, 200)
            res = conn.request("POST", "/order", headers=[("Content-Type", "text/plain")], body=b"pay 10")
        self.assertEqual(res.status, 502, res)
        seen = self.up.requests()
        self.assertEqual([(m, t) for _, m, t in seen], [("GET", "/one"), ("POST", "/order")],
                         "a POST must reach the upstream at most once")


class ClosesWhenIdle(_RawServer):
    """Answers one request per connection with keep-alive, then closes the
    connection a moment later, as an upstream's keep-alive timer does."""

    def __init__(self):
        super().__init__()
        self.connections = 0

    def serve(self, conn):
        with self.lock:
            self.connections += 1
        if read_request(conn, b"") is None:
            return
        with self.lock:
            self.hits += 1
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
        time.sleep(0.1)


class IdleUpstreamCloseIsNoticed(GatewayTestCase):
    """A pooled connection the upstream closed while it sat idle is dropped from
    the pool before any request is sent on it, so even a POST, which is never
    retried, goes out on a fresh connection."""

    def setUp(self):
        self.up = ClosesWhenIdle()
        self.gw = gateway_in_front_of(self, self.up)

    def test_post_after_the_upstream_closed_the_idle_connection(self):
        for i in range(3):
            with self.gw.connect() as conn:
                self.assertEqual(conn.request("GET", "/warm/%d" % i).status, 200)
            time.sleep(0.4)  # the upstream closes its side meanwhile
            with self.gw.connect() as conn:
                res = conn.request("POST", "/order/%d" % i, headers=[("Content-Type", "text/plain")], body=b"pay 10")
            self.assertEqual(res.status, 200, res)
            time.sleep(0.4)
        with self.up.lock:
            self.assertEqual(self.up.hits, 6)
            self.assertEqual(self.up.connections, 6, "each request needed a fresh upstream connection")


class MaxConnections(GatewayTestCase):
    def setUp(self):
        self.up = DropsSecondRequest()
        self.gw = gateway_in_front_of(self, self.up, max_connections=3, header_timeout="10s")

    def connect_raw(self):
        s = socket.create_connection((LOCALHOST, self.gw.port), timeout=5)
        self.addCleanup(s.close)
        return s

    def closed_at_once(self, s, timeout=3.0):
        s.settimeout(timeout)
        try:
            return s.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def test_connections_over_the_limit_are_closed_and_room_is_given_back(self):
        held = [self.connect_raw() for _ in range(3)]
        time.sleep(0.3)  # the gateway has accepted and counted them
        extra = self.connect_raw()
        self.assertTrue(self.closed_at_once(extra), "the 4th connection must be closed at once")
        # One of the three goes away: a new connection is served again.
        held[0].close()
        deadline = time.monotonic() + 5
        served = False
        while time.monotonic() < deadline and not served:
            try:
                with HttpConn(LOCALHOST, self.gw.port, timeout=3) as conn:
                    served = conn.request("GET", "/again").status == 200
            except Exception:
                time.sleep(0.1)
        self.assertTrue(served, "a connection slot freed by a client must be usable again")
        # The held connections still work.
        held[1].sendall(b"GET /held HTTP/1.1\r\nHost: gw\r\n\r\n")
        held[1].settimeout(5)
        self.assertTrue(held[1].recv(64).startswith(b"HTTP/1.1 200"))


if __name__ == "__main__":
    unittest.main()

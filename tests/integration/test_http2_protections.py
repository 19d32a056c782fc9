"""HTTP/2 attacks on the gateway (SPEC section 9): a rapid reset flood
(CVE-2023-44487), endless CONTINUATION frames (CVE-2024-27316), an HPACK
header-list bomb and a dynamic table size bomb, SETTINGS and PING floods, and a
client that never reads. Each must end with a GOAWAY (or the attacking stream
refused), with bounded gateway memory, no crash, other connections served during
and right after the attack, and jwtgate_http2_protection_total rising on /metrics.

Http2FrameRobustnessTest sends frames a conforming client never sends (bad
lengths, bad stream ids, window overflows, padding, unknown types) and expects
the error code RFC 9113 names, never a crash.

Frames are built with hyperframe/hpack (python3-h2's building blocks), so nothing
here is shaped by the library the gateway uses. Every loop is bounded in bytes,
frames and time.
"""

import hashlib
import json
import threading
import time
import unittest

import harness
from harness import EchoUpstream, GatewayTestCase, gateway_config, start_gateway
from h2support import (CANCEL, COMPRESSION_ERROR, FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR,
                       MAX_WINDOW, PROTOCOL_ERROR, SETTINGS_INITIAL_WINDOW_SIZE, STREAM_CLOSED,
                       H2Client, RawH2, continuation_frame, data_frame, headers_frame,
                       padded_data_frame, padded_headers_frame, ping_frame, process_status,
                       protection_counters, raw_frame, request_headers, rst_frame,
                       settings_frame, table_size_update, window_update_frame)

RSS_LIMIT = 150 << 20
# The kind label of jwtgate_http2_protection_total that must rise for each attack
# (the kinds the gateway's /metrics lists: rapid_reset, continuation_flood,
# header_list_too_large, settings_flood, ping_flood, stream_limit, slow_reader,
# protocol_error).
KINDS = {
    "rapid_reset": "rapid_reset",
    "continuation": "continuation_flood",
    "header_list": "header_list_too_large",
    "settings_flood": "settings_flood",
    "ping_flood": "ping_flood",
    "slow_reader": "slow_reader",
}


class Http2ProtectionsTest(GatewayTestCase):

    @classmethod
    def setUpClass(cls):
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        config = gateway_config({"app": cls.app.url},
                                [{"name": "all", "path_prefix": "/", "upstream": "app",
                                  "auth": "none"}],
                                server={"max_header_bytes": 8192, "header_timeout": "5s",
                                        "idle_timeout": "4s"})
        cls.gw = start_gateway(cls, config)
        cls.report = {}

    @classmethod
    def tearDownClass(cls):
        if cls.report:
            print("\nHTTP/2 protections: " + "; ".join(
                "%s: %s" % (k, v) for k, v in sorted(cls.report.items())))

    def tearDown(self):
        self.assertTrue(self.gw.alive(), "gateway died:\n" + self.gw.stderr_text()[-3000:])

    # -- shared checks ---------------------------------------------------------------

    def counters(self):
        return protection_counters(self.gw)

    def assertServed(self, what):
        """A fresh HTTP/2 connection and an HTTP/1.1 request are both served."""
        with H2Client(self.gw.port, timeout=10) as c:
            resp = c.get("/fresh/" + what)
            self.assertTrue(resp.done and resp.status == 200,
                            "fresh HTTP/2 connection not served %s: %r" % (what, resp))
        h1 = self.gw.get("/fresh-h1/" + what, timeout=10)
        self.assertEqual(h1.status, 200, h1)

    def assertCounterRose(self, before, attack, report_as=None, kinds=None):
        after = self.counters()
        kinds = kinds or (KINDS.get(attack),)
        report_as = report_as or attack
        rose = {k: after.get(k, 0) - before.get(k, 0) for k in after
                if after.get(k, 0) > before.get(k, 0)}
        self.report.setdefault(report_as, {})["counters"] = rose
        self.assertTrue(rose, "jwtgate_http2_protection_total did not rise for %s: before %r after %r"
                        % (attack, before, after))
        self.assertTrue(any(k in rose for k in kinds),
                        "kind %s did not rise for %s: %r" % (" or ".join(kinds), report_as, rose))

    def assertMemoryBounded(self, attack):
        hwm = process_status(self.gw.proc.pid, "VmHWM")
        self.report.setdefault(attack, {})["VmHWM_MiB"] = round(hwm / 2**20, 1)
        if not harness.SANITIZER:
            self.assertLess(hwm, RSS_LIMIT, "gateway peak RSS %.1f MiB after %s"
                            % (hwm / 2**20, attack))

    def assertGoaway(self, raw, attack, allow_close=False):
        self.report.setdefault(attack, {})["goaway"] = raw.goaway and (raw.goaway[0], raw.goaway[1])
        if raw.goaway is None and allow_close:
            self.assertTrue(raw.closed, "%s: connection neither sent GOAWAY nor closed" % attack)
            self.report[attack]["closed_without_goaway"] = True
            return
        self.assertIsNotNone(raw.goaway, "%s: no GOAWAY (closed=%r, %d frames)"
                             % (attack, raw.closed, len(raw.frames)))

    def handshake(self, raw):
        raw.read(3.0, until=lambda r: r.settings_received)
        self.assertTrue(raw.settings_received, "no SETTINGS from the gateway: %r" % raw.frames[:5])
        raw.ack_settings()

    def served_during(self, attack_fn):
        """Runs attack_fn in a thread while probing other connections; returns the
        probe failures."""
        failures = []
        errors = []
        done = threading.Event()

        def attack():
            try:
                attack_fn()
            except BaseException as e:  # noqa: BLE001 - re-raised in the test's thread
                errors.append(e)
            finally:
                done.set()

        t = threading.Thread(target=attack, daemon=True)
        t.start()
        probes = 0
        while not done.wait(0.3) and probes < 20:
            probes += 1
            try:
                with H2Client(self.gw.port, timeout=5) as c:
                    r = c.get("/probe/%d" % probes, timeout=5)
                    if not (r.done and r.status == 200):
                        failures.append(repr(r))
            except OSError as e:
                failures.append(repr(e))
        t.join(timeout=60)
        self.assertFalse(t.is_alive(), "the attack did not end within its bounds")
        if errors:
            raise errors[0]
        return failures

    # -- attacks ---------------------------------------------------------------------

    def test_rapid_reset_flood(self):
        before = self.counters()
        hits_before = self.app.hit_count()
        state = {}

        def attack():
            with RawH2(self.gw.port, timeout=5) as raw:
                self.handshake(raw)
                sid = 1
                sent = 0
                while sid < 2 * 20000 and not raw.ended_by_server():
                    batch = bytearray()
                    for _ in range(200):
                        fields = request_headers("GET", "/reset/%d" % sid)
                        batch += headers_frame(sid, raw.encode(fields), end_stream=True)
                        batch += rst_frame(sid, CANCEL)
                        sid += 2
                        sent += 1
                    if not raw.send(bytes(batch), timeout=5):
                        break
                    raw.poll()
                raw.read(10.0, until=lambda r: r.ended_by_server())
                state["raw"] = raw
                state["sent"] = sent

        failures = self.served_during(attack)
        raw = state["raw"]
        self.report["rapid_reset"] = {"pairs_sent": state["sent"],
                                      "upstream_hits": self.app.hit_count() - hits_before}
        self.assertGoaway(raw, "rapid_reset")
        self.assertLess(state["sent"], 20000, "20,000 HEADERS+RST_STREAM pairs were all accepted")
        self.assertEqual(failures, [], "other connections stalled during the flood")
        self.assertServed("after-rapid-reset")
        self.assertMemoryBounded("rapid_reset")
        self.assertCounterRose(before, "rapid_reset")

    def _continuation(self, attack, payload_for, limit_frames, limit_bytes, seconds=15.0,
                      frames_bounded=True, kinds=None):
        before = self.counters()
        state = {}

        def run():
            with RawH2(self.gw.port, timeout=5) as raw:
                self.handshake(raw)
                first = raw.encode(request_headers("GET", "/continuation"))
                raw.send(headers_frame(1, first, end_headers=False, end_stream=True))
                frames = 0
                sent_bytes = 0
                deadline = time.monotonic() + seconds
                while (frames < limit_frames and sent_bytes < limit_bytes
                       and time.monotonic() < deadline and not raw.ended_by_server()):
                    batch = bytearray()
                    for _ in range(100):
                        payload = payload_for(frames)
                        batch += continuation_frame(1, payload)
                        frames += 1
                        sent_bytes += len(payload)
                    if not raw.send(bytes(batch), timeout=5):
                        break
                    raw.poll()
                raw.read(10.0, until=lambda r: r.ended_by_server())
                state.update(raw=raw, frames=frames, bytes=sent_bytes)

        failures = self.served_during(run)
        raw = state["raw"]
        self.report[attack] = {"frames_sent": state["frames"], "bytes_sent": state["bytes"]}
        self.assertGoaway(raw, attack)
        if frames_bounded:
            self.assertLess(state["frames"], limit_frames, "every CONTINUATION frame was accepted")
        self.assertNotIn("/continuation", self.app.paths_seen(),
                         "the unfinished request was forwarded")
        self.assertEqual(failures, [], "other connections stalled during the CONTINUATION flood")
        self.assertServed("after-" + attack)
        self.assertMemoryBounded(attack)
        self.assertCounterRose(before, "continuation", attack, kinds=kinds)

    def test_endless_continuation_with_headers(self):
        # Every CONTINUATION adds a new literal field (never indexed): the decoded
        # list grows past max_header_bytes quickly.
        def payload(i):
            name = b"x-c%07d" % i
            value = b"v" * 200
            return b"\x10" + bytes([len(name)]) + name + bytes([0x7f, len(value) - 127]) + value

        # A per-frame count limit (nghttp2 allows 8 CONTINUATION frames) may stop it
        # first and count it as a protocol error.
        self._continuation("continuation_fields", payload, limit_frames=200000,
                           limit_bytes=64 << 20, kinds=("continuation_flood", "protocol_error"))

    def test_continuation_with_large_frames(self):
        # Few frames but large ones (about 16 KB of new literal fields each): the
        # header block, not the frame count, is what grows.
        def payload(i):
            out = bytearray()
            for j in range(75):
                name = b"x-l%04d-%03d" % (i % 10000, j)
                value = b"v" * 200
                out += b"\x00" + bytes([len(name)]) + name + bytes([0x7f, len(value) - 127]) + value
            return bytes(out)

        self._continuation("continuation_large", payload, limit_frames=4000,
                           limit_bytes=64 << 20)

    def test_endless_empty_continuation(self):
        # Empty CONTINUATION frames: no bytes accumulate, only frames.
        self._continuation("continuation_empty", lambda i: b"", limit_frames=3000000,
                           limit_bytes=1 << 40, frames_bounded=False,
                           kinds=("continuation_flood", "protocol_error"))

    def test_hpack_header_list_bomb(self):
        before = self.counters()
        hits_before = self.app.hit_count()
        with RawH2(self.gw.port, timeout=5) as raw:
            self.handshake(raw)
            # Stream 1 puts a 4000-byte field into the dynamic table (its list is
            # under max_header_bytes); stream 3 references it 3000 times: 3 KiB on
            # the wire, 12 MB decoded.
            block1 = raw.encode(request_headers("GET", "/bomb/seed") + [("x-bomb", "b" * 4000)])
            raw.send(headers_frame(1, block1))
            authority = b"gateway.test"
            # Static-table references and a literal without indexing, so that the
            # newest dynamic entry (index 62) stays x-bomb.
            bomb = (b"\x82\x86\x84" + b"\x01" + bytes([len(authority)]) + authority
                    + b"\xbe" * 3000)
            raw.send(headers_frame(3, bomb))
            raw.read(10.0, until=lambda r: (r.stream_done(1) and r.stream_done(3))
                     or r.ended_by_server())
            status3 = raw.status(3)
            self.report["hpack_bomb"] = {"stream1": raw.status(1) or raw.resets.get(1),
                                         "stream3": status3 or raw.resets.get(3),
                                         "goaway": raw.goaway and raw.goaway[:2]}
            self.assertTrue(raw.resets.get(3) is not None or status3 == 431 or raw.goaway,
                            "the 12 MB header list was not refused: %r" % self.report["hpack_bomb"])
            self.assertNotEqual(status3, 200, self.report["hpack_bomb"])
        paths = [r["path"] for r in self.app.requests]
        self.assertNotIn("/", paths[-3:], "the bomb reached the upstream")
        self.assertLessEqual(self.app.hit_count() - hits_before, 1)
        self.assertServed("after-hpack-bomb")
        self.assertMemoryBounded("hpack_bomb")
        self.assertCounterRose(before, "header_list", "hpack_bomb")

    def test_hpack_table_size_bomb(self):
        # A dynamic table size update above the SETTINGS_HEADER_TABLE_SIZE the
        # gateway advertised (4096 by default) is a COMPRESSION_ERROR (RFC 7541 4.2).
        with RawH2(self.gw.port, timeout=5) as raw:
            self.handshake(raw)
            advertised = raw.server_settings.get(1, 4096)
            block = table_size_update(1 << 30) + raw.encode(request_headers("GET", "/table"))
            raw.send(headers_frame(1, block))
            raw.read(10.0, until=lambda r: r.ended_by_server())
            self.report["table_size_bomb"] = {"advertised": advertised,
                                              "goaway": raw.goaway and raw.goaway[:2]}
            self.assertGoaway(raw, "table_size_bomb")
            self.assertEqual(raw.goaway[0], COMPRESSION_ERROR, raw.goaway)
        self.assertServed("after-table-size-bomb")
        self.assertMemoryBounded("table_size_bomb")

    def _flood(self, attack, frame, count):
        before = self.counters()
        state = {}

        def run():
            with RawH2(self.gw.port, timeout=5) as raw:
                self.handshake(raw)
                sent = 0
                batch = frame * 1000
                # The attacker never reads while flooding: the answers (ACKs) pile up.
                while sent < count:
                    if not raw.send(batch, timeout=3):
                        break
                    sent += 1000
                raw.read(10.0, until=lambda r: r.ended_by_server(), max_bytes=512 << 20)
                state.update(raw=raw, sent=sent)

        failures = self.served_during(run)
        raw = state["raw"]
        self.report[attack] = {"frames_sent": state["sent"]}
        self.assertGoaway(raw, attack, allow_close=True)
        self.assertEqual(failures, [], "other connections stalled during the %s" % attack)
        self.assertServed("after-" + attack)
        self.assertMemoryBounded(attack)
        self.assertCounterRose(before, attack)

    def test_settings_flood(self):
        self._flood("settings_flood", settings_frame({SETTINGS_INITIAL_WINDOW_SIZE: 65535}),
                    300000)

    def test_ping_flood(self):
        self._flood("ping_flood", ping_frame(b"floodme!"), 300000)

    def test_client_with_zero_windows(self):
        # The flow-control form of a client that never reads (CVE-2019-9517): the
        # socket is read, but the stream window is 0 and never opened.
        before = self.counters()
        with RawH2(self.gw.port, settings={SETTINGS_INITIAL_WINDOW_SIZE: 0}, timeout=5) as raw:
            self.handshake(raw)
            for sid in (1, 3, 5, 7):
                raw.request(sid, "GET", "/download/%d" % (256 << 20))
            peak = 0
            deadline = time.monotonic() + 25
            while time.monotonic() < deadline and not raw.ended_by_server():
                raw.read(0.25, until=lambda r: r.ended_by_server() or all(
                    s in r.resets for s in (1, 3, 5, 7)))
                peak = max(peak, process_status(self.gw.proc.pid, "VmRSS"))
                if all(s in raw.resets for s in (1, 3, 5, 7)):
                    break
            self.report["zero_window"] = {"VmRSS_peak_MiB": round(peak / 2**20, 1),
                                          "goaway": raw.goaway and raw.goaway[:2],
                                          "resets": dict(raw.resets), "closed": raw.closed,
                                          "data_bytes": sum(raw.data_bytes.values())}
            self.assertEqual(sum(raw.data_bytes.values()), 0, "DATA sent into a zero window")
            if not harness.SANITIZER:
                self.assertLess(peak, RSS_LIMIT, "gateway RSS %.1f MiB behind zero windows"
                                % (peak / 2**20))
            self.assertTrue(raw.ended_by_server() or all(s in raw.resets for s in (1, 3, 5, 7)),
                            "streams stuck behind a zero window were held for 25 s: %r"
                            % self.report["zero_window"])
        self.assertServed("after-zero-window")
        self.assertMemoryBounded("zero_window")
        self.assertCounterRose(before, "slow_reader", "zero_window")

    def test_client_that_never_reads(self):
        before = self.counters()
        size = 256 << 20
        with RawH2(self.gw.port, settings={SETTINGS_INITIAL_WINDOW_SIZE: MAX_WINDOW},
                   timeout=5) as raw:
            self.handshake(raw)
            raw.send(window_update_frame(0, MAX_WINDOW - 65535))
            # Several streams asking for 256 MiB each, with every window wide open,
            # then not a single read.
            for sid in (1, 3, 5, 7):
                raw.request(sid, "GET", "/download/%d" % size)
            peak = 0
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                peak = max(peak, process_status(self.gw.proc.pid, "VmRSS"))
                time.sleep(0.25)
            # Meanwhile other clients are served.
            self.assertServed("while-a-client-does-not-read")
            # Now read: the gateway must have given up on this connection (GOAWAY or
            # close) instead of having buffered the downloads.
            raw.read(20.0, until=lambda r: r.ended_by_server(), max_bytes=2 << 30)
            received = sum(raw.data_bytes.values())
            self.report["slow_reader"] = {"VmRSS_peak_MiB": round(peak / 2**20, 1),
                                          "data_bytes_after": received,
                                          "goaway": raw.goaway and raw.goaway[:2],
                                          "closed": raw.closed}
            if not harness.SANITIZER:
                self.assertLess(peak, RSS_LIMIT, "gateway RSS %.1f MiB with a non-reading client"
                                % (peak / 2**20))
            self.assertTrue(raw.ended_by_server(),
                            "the connection of a client that never reads was kept open "
                            "(received %d bytes after it resumed)" % received)
            self.assertLess(received, 4 * size, "all four downloads completed: nothing gave up")
        self.assertServed("after-slow-reader")
        self.assertMemoryBounded("slow_reader")
        self.assertCounterRose(before, "slow_reader")


class Http2FrameRobustnessTest(GatewayTestCase):
    """Frames a conforming client never sends: each gets the error RFC 9113 names
    (a connection error: GOAWAY with that code; a stream error: RST_STREAM), or is
    ignored where the RFC says so, and the gateway keeps serving."""

    @classmethod
    def setUpClass(cls):
        cls.app = EchoUpstream()
        cls.addClassCleanup(cls.app.close)
        config = gateway_config({"app": cls.app.url},
                                [{"name": "all", "path_prefix": "/", "upstream": "app",
                                  "auth": "none"}])
        cls.gw = start_gateway(cls, config)

    def tearDown(self):
        self.assertTrue(self.gw.alive(), "gateway died:\n" + self.gw.stderr_text()[-3000:])
        with H2Client(self.gw.port, timeout=10) as c:
            resp = c.get("/after")
            self.assertTrue(resp.done and resp.status == 200, resp)

    def connect(self, settings=None, keep_data=False):
        raw = RawH2(self.gw.port, settings=settings, timeout=5, keep_data=keep_data)
        self.addCleanup(raw.close)
        raw.read(3.0, until=lambda r: r.settings_received)
        self.assertTrue(raw.settings_received)
        raw.ack_settings()
        return raw

    def req(self, raw, path, end_stream=True):
        return raw.encode(request_headers("POST" if not end_stream else "GET", path))

    def assertConnectionError(self, raw, codes, what):
        raw.read(5.0, until=lambda r: r.ended_by_server())
        self.assertIsNotNone(raw.goaway, "%s: no GOAWAY (closed=%r)" % (what, raw.closed))
        self.assertIn(raw.goaway[0], codes, "%s: GOAWAY %r" % (what, raw.goaway))

    def test_padding_is_stripped(self):
        raw = self.connect(keep_data=True)
        body = b"hello padded world"
        raw.send(padded_headers_frame(1, self.req(raw, "/padded", end_stream=False), 40)
                 + padded_data_frame(1, body[:5], 100) + padded_data_frame(1, body[5:], 0, True))
        raw.read(5.0, until=lambda r: r.stream_done(1))
        self.assertEqual(raw.status(1), 200, (raw.headers, raw.resets, raw.goaway))
        data = json.loads(bytes(raw.bodies[1]))
        self.assertEqual(data["path"], "/padded")
        self.assertEqual(data["body_length"], len(body))
        self.assertEqual(data["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_priority_and_unknown_frames_are_ignored(self):
        raw = self.connect()
        priority = raw_frame(0x2, 0, 1, (0).to_bytes(4, "big") + b"\x10")
        unknown0 = raw_frame(0xEE, 0xFF, 0, b"extension on stream 0")
        unknown1 = raw_frame(0xEE, 0, 1, b"extension on stream 1")
        raw.send(priority + unknown0 + headers_frame(1, self.req(raw, "/ignored")) + unknown1
                 + raw_frame(0x2, 0, 3, (1).to_bytes(4, "big") + b"\x20"))
        raw.read(5.0, until=lambda r: r.stream_done(1))
        self.assertEqual(raw.status(1), 200, (raw.headers, raw.resets, raw.goaway))
        self.assertIsNone(raw.goaway)

    def test_connection_errors(self):
        cases = [
            ("WINDOW_UPDATE past 2^31-1", lambda raw: window_update_frame(0, MAX_WINDOW),
             (FLOW_CONTROL_ERROR,)),
            ("WINDOW_UPDATE of 0 on the connection", lambda raw: raw_frame(0x8, 0, 0, b"\0" * 4),
             (PROTOCOL_ERROR,)),
            ("SETTINGS_INITIAL_WINDOW_SIZE 2^31", lambda raw: raw_frame(
                0x4, 0, 0, (4).to_bytes(2, "big") + (1 << 31).to_bytes(4, "big")),
             (FLOW_CONTROL_ERROR,)),
            ("SETTINGS_MAX_FRAME_SIZE 100", lambda raw: raw_frame(
                0x4, 0, 0, (5).to_bytes(2, "big") + (100).to_bytes(4, "big")),
             (PROTOCOL_ERROR,)),
            ("SETTINGS_ENABLE_PUSH 2", lambda raw: raw_frame(
                0x4, 0, 0, (2).to_bytes(2, "big") + (2).to_bytes(4, "big")),
             (PROTOCOL_ERROR,)),
            ("SETTINGS ACK with a payload", lambda raw: raw_frame(0x4, 0x1, 0, b"\0" * 6),
             (FRAME_SIZE_ERROR,)),
            ("SETTINGS of 5 bytes", lambda raw: raw_frame(0x4, 0, 0, b"\0" * 5),
             (FRAME_SIZE_ERROR,)),
            ("PING of 7 bytes", lambda raw: raw_frame(0x6, 0, 0, b"\0" * 7), (FRAME_SIZE_ERROR,)),
            ("PING on a stream", lambda raw: raw_frame(0x6, 0, 1, b"\0" * 8), (PROTOCOL_ERROR,)),
            ("HEADERS on stream 0", lambda raw: raw_frame(0x1, 0x5, 0, self.req(raw, "/zero")),
             (PROTOCOL_ERROR,)),
            ("HEADERS on an even stream", lambda raw: headers_frame(2, self.req(raw, "/even")),
             (PROTOCOL_ERROR,)),
            ("RST_STREAM on an idle stream", lambda raw: rst_frame(9, CANCEL), (PROTOCOL_ERROR,)),
            ("DATA on stream 0", lambda raw: raw_frame(0x0, 0x1, 0, b"x"), (PROTOCOL_ERROR,)),
            ("DATA on an idle stream", lambda raw: raw_frame(0x0, 0x1, 7, b"x"),
             (PROTOCOL_ERROR, STREAM_CLOSED)),
            ("DATA larger than SETTINGS_MAX_FRAME_SIZE", lambda raw: headers_frame(
                1, self.req(raw, "/big-frame", end_stream=False), end_stream=False)
             + raw_frame(0x0, 0x1, 1, b"x" * 20000), (FRAME_SIZE_ERROR,)),
            ("CONTINUATION without HEADERS", lambda raw: continuation_frame(1, b"", True),
             (PROTOCOL_ERROR,)),
            ("another frame inside a header block", lambda raw: headers_frame(
                1, self.req(raw, "/split"), end_headers=False) + ping_frame(),
             (PROTOCOL_ERROR,)),
            ("a stream depending on itself", lambda raw: raw_frame(
                0x2, 0, 1, (1).to_bytes(4, "big") + b"\x10"), (PROTOCOL_ERROR,)),
            ("HPACK garbage", lambda raw: headers_frame(1, b"\xff\xff\xff\xff\xff\xff"),
             (COMPRESSION_ERROR,)),
        ]
        before = len(self.app.requests)
        for what, frames, codes in cases:
            with self.subTest(case=what):
                raw = self.connect()
                raw.send(frames(raw))
                if what == "a stream depending on itself":
                    # RFC 9113 5.3.1 made it a stream error; PRIORITY is deprecated,
                    # ignoring the frame is accepted too.
                    raw.read(2.0, until=lambda r: r.ended_by_server() or 1 in r.resets)
                    self.assertTrue(raw.goaway is None or raw.goaway[0] in codes, raw.goaway)
                    continue
                self.assertConnectionError(raw, codes, what)
                raw.close()
        for path in ("/zero", "/even"):
            self.assertNotIn(path, self.app.paths_seen()[before:])

    def test_stream_ids_going_down(self):
        # RFC 9113 5.1.1: a connection error PROTOCOL_ERROR. Stream 3 is implicitly
        # closed once stream 5 is open; dropping its HEADERS unanswered (nghttp2's
        # leniency) is accepted, forwarding it is not.
        before = len(self.app.requests)
        raw = self.connect()
        raw.send(headers_frame(5, self.req(raw, "/five")) + headers_frame(3, self.req(raw, "/three")))
        raw.read(3.0, until=lambda r: r.ended_by_server())
        if raw.goaway is not None:
            self.assertEqual(raw.goaway[0], PROTOCOL_ERROR, raw.goaway)
        self.assertIsNone(raw.status(3), "HEADERS on an implicitly closed stream was answered")
        self.assertNotIn("/three", self.app.paths_seen()[before:])

    def test_data_after_end_stream(self):
        raw = self.connect()
        raw.send(headers_frame(1, self.req(raw, "/ended")) + data_frame(1, b"late", end_stream=True))
        raw.read(5.0, until=lambda r: r.ended_by_server() or r.resets.get(1) is not None)
        code = raw.resets.get(1)
        if code is None:
            self.assertIsNotNone(raw.goaway, "DATA after END_STREAM was accepted")
            code = raw.goaway[0]
        self.assertEqual(code, STREAM_CLOSED, (raw.resets, raw.goaway))

    def test_client_cancels_streams(self):
        c = H2Client(self.gw.port, timeout=10, window=1 << 20)
        self.addCleanup(c.close)
        down = c.start("GET", "/download/%d" % (64 << 20), keep_body=False)
        post = c.start("POST", "/upload-cancelled", end_stream=False)
        c.send_body(post, b"x" * 100000, end_stream=False)
        deadline = time.monotonic() + 10
        while c.streams[down].length < (2 << 20) and time.monotonic() < deadline:
            c.pump(0.5)
        self.assertGreater(c.streams[down].length, 0, c.streams[down])
        c.conn.reset_stream(down, error_code=CANCEL)
        c.conn.reset_stream(post, error_code=CANCEL)
        c._flush()
        # The connection carries on; the cancelled download stops.
        for i in range(5):
            resp = c.get("/after-cancel/%d" % i)
            self.assertTrue(resp.done and resp.status == 200, resp)
        self.assertIsNone(c.goaway, c.goaway)
        self.assertLess(c.streams[down].length, 64 << 20)


if __name__ == "__main__":
    unittest.main()

"""HTTP/2 clients, an HTTP/2 upstream and measuring helpers for the jwtgate
integration tests (SPEC section 9). Independent implementations only:

  * H2Client        a client on python3-h2 (one TCP or TLS+ALPN connection):
                    streams, flow control both ways, responses with trailers,
                    RST_STREAM codes, GOAWAY and the server's SETTINGS collected.
  * RawH2           a frame-level client (hyperframe + hpack) for what a
                    well-behaved library refuses to send: floods, endless
                    CONTINUATION, HPACK bombs, streams beyond the advertised limit.
  * H2EchoUpstream  an h2c (or h2 over TLS with ALPN) server that answers each
                    stream with JSON describing what it received, pseudo-headers
                    and trailers included; /trailers/... also sends trailers.
  * curl_h2         curl --http2-prior-knowledge / --http2 with the body streamed
                    through stdin and stdout (1 GiB without holding it here).
  * RssSampler, process_rss, metric helpers.

Every wait is bounded.
"""

import hashlib
import json
import re
import select
import socket
import ssl
import subprocess
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import hpack
from hpack.hpack import encode_integer
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame,
                              PingFrame, RstStreamFrame, SettingsFrame, WindowUpdateFrame)

from harness import LOCALHOST, _RawServer, pattern_chunks

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# RFC 9113 section 7 error codes.
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
INTERNAL_ERROR = 0x2
FLOW_CONTROL_ERROR = 0x3
STREAM_CLOSED = 0x5
FRAME_SIZE_ERROR = 0x6
REFUSED_STREAM = 0x7
CANCEL = 0x8
COMPRESSION_ERROR = 0x9
ENHANCE_YOUR_CALM = 0xB

# SETTINGS identifiers.
SETTINGS_HEADER_TABLE_SIZE = 0x1
SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_MAX_FRAME_SIZE = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE = 0x6

MAX_WINDOW = 2 ** 31 - 1

# Connection-specific fields an HTTP/2 message must not carry (RFC 9113 8.2.2).
CONNECTION_SPECIFIC = ("connection", "keep-alive", "proxy-connection", "transfer-encoding",
                       "upgrade")


def h2_tls_context(pki, alpn=("h2",)):
    """A client TLS context trusting the test CA and offering `alpn`."""
    ctx = pki.client_context()
    ctx.set_alpn_protocols(list(alpn))
    return ctx


def request_headers(method, path, authority="gateway.test", scheme="http", extra=()):
    return [(":method", method), (":scheme", scheme), (":authority", authority),
            (":path", path)] + list(extra)


# --------------------------------------------------------------------------------------
# h2 client
# --------------------------------------------------------------------------------------

class H2Response:
    """What came back on one stream."""

    def __init__(self, stream_id, keep_body=True):
        self.stream_id = stream_id
        self.headers = None          # [(name, value)] of the final response, pseudo included
        self.informational = []      # 1xx header lists
        self.trailers = None         # [(name, value)] or None
        self.keep_body = keep_body
        self.body = bytearray()
        self.sha = hashlib.sha256()
        self.length = 0
        self.data_frames = 0
        self.ended = False           # END_STREAM received
        self.reset = None            # RST_STREAM error code from the server
        self.headers_ended_stream = False  # the response was one HEADERS frame with END_STREAM

    @property
    def done(self):
        return self.ended or self.reset is not None

    @property
    def status(self):
        value = self.header(":status")
        return int(value) if value is not None else None

    def header(self, name, default=None):
        for k, v in self.headers or ():
            if k.lower() == name.lower():
                return v
        return default

    def header_all(self, name):
        return [v for k, v in (self.headers or ()) if k.lower() == name.lower()]

    def trailer(self, name, default=None):
        for k, v in self.trailers or ():
            if k.lower() == name.lower():
                return v
        return default

    def json(self):
        return json.loads(bytes(self.body).decode("utf-8"))

    @property
    def sha256(self):
        return self.sha.hexdigest()

    def __repr__(self):
        return "<H2Response stream=%d status=%r reset=%r ended=%r headers=%r trailers=%r body=%r>" % (
            self.stream_id, self.status, self.reset, self.ended, self.headers, self.trailers,
            bytes(self.body[:300]))


class H2Client:
    """One HTTP/2 connection driven by python3-h2. Header validation is off both
    ways, so tests can send malformed requests and observe what the gateway sends."""

    def __init__(self, port, host=LOCALHOST, tls_context=None, server_hostname=None,
                 timeout=10.0, window=1 << 24, settings=None):
        self.timeout = timeout
        raw = socket.create_connection((host, port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.alpn = None
        if tls_context is not None:
            raw = tls_context.wrap_socket(raw, server_hostname=server_hostname or host)
            self.alpn = raw.selected_alpn_protocol()
        self.sock = raw
        config = h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8",
            validate_outbound_headers=False, normalize_outbound_headers=False,
            validate_inbound_headers=False, normalize_inbound_headers=False)
        self.conn = h2.connection.H2Connection(config=config)
        self.streams = {}
        self.goaway = None           # (error_code, last_stream_id, additional_data)
        self.closed = False
        self.protocol_error = None   # a ProtocolError h2 raised on what the server sent
        self.remote_settings = {}    # SETTINGS values the server sent (int id -> value)
        self.settings_frames = 0
        self.pings_acked = 0
        initial = {SETTINGS_ENABLE_PUSH: 0}
        if window:
            initial[SETTINGS_INITIAL_WINDOW_SIZE] = min(window, MAX_WINDOW)
        initial.update(settings or {})
        self.conn.local_settings = h2.settings.Settings(client=True, initial_values=initial)
        self.conn.initiate_connection()
        if window and window > 65535:
            self.conn.increment_flow_control_window(min(window, MAX_WINDOW) - 65535)
        self._flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- io ----------------------------------------------------------------------------

    def _flush(self):
        out = self.conn.data_to_send()
        if out and not self.closed:
            try:
                self.sock.settimeout(self.timeout)
                self.sock.sendall(out)
            except (OSError, ssl.SSLError):
                self.closed = True

    def pump(self, timeout):
        """Reads once (up to `timeout`) and processes the frames; False when nothing came."""
        if self.closed:
            return False
        self.sock.settimeout(max(0.001, timeout))
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            return False
        except (OSError, ssl.SSLError):
            data = b""
        if not data:
            self.closed = True
            return False
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            self.protocol_error = e
            self.closed = True
            return False
        for event in events:
            self._handle(event)
        self._flush()
        return True

    def _stream(self, sid):
        if sid not in self.streams:
            self.streams[sid] = H2Response(sid)
        return self.streams[sid]

    def _handle(self, ev):
        if isinstance(ev, h2.events.ResponseReceived):
            r = self._stream(ev.stream_id)
            r.headers = list(ev.headers)
            if ev.stream_ended is not None:
                r.headers_ended_stream = True
        elif isinstance(ev, h2.events.InformationalResponseReceived):
            self._stream(ev.stream_id).informational.append(list(ev.headers))
        elif isinstance(ev, h2.events.TrailersReceived):
            self._stream(ev.stream_id).trailers = list(ev.headers)
        elif isinstance(ev, h2.events.DataReceived):
            r = self._stream(ev.stream_id)
            r.data_frames += 1
            r.length += len(ev.data)
            r.sha.update(ev.data)
            if r.keep_body:
                r.body.extend(ev.data)
            if ev.flow_controlled_length:
                try:
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                except h2.exceptions.StreamClosedError:
                    pass
        elif isinstance(ev, h2.events.StreamEnded):
            self._stream(ev.stream_id).ended = True
        elif isinstance(ev, h2.events.StreamReset):
            if ev.remote_reset:
                self._stream(ev.stream_id).reset = int(ev.error_code)
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway = (int(ev.error_code), ev.last_stream_id, ev.additional_data)
        elif isinstance(ev, h2.events.RemoteSettingsChanged):
            self.settings_frames += 1
            for key, changed in ev.changed_settings.items():
                self.remote_settings[int(key)] = changed.new_value
        elif isinstance(ev, h2.events.PingAckReceived):
            self.pings_acked += 1

    # -- requests ----------------------------------------------------------------------

    def wait_settings(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while not self.settings_frames and not self.closed and time.monotonic() < deadline:
            self.pump(deadline - time.monotonic())
        return self.settings_frames > 0

    def start(self, method, path, headers=(), authority="gateway.test", scheme="http",
              token=None, end_stream=True, keep_body=True, pseudo=None):
        """Sends a request's HEADERS; returns the stream id. `pseudo` replaces the
        four request pseudo-headers entirely (a list, for malformed requests)."""
        sid = self.conn.get_next_available_stream_id()
        self.streams[sid] = H2Response(sid, keep_body=keep_body)
        if pseudo is None:
            pseudo = [(":method", method), (":scheme", scheme), (":authority", authority),
                      (":path", path)]
        fields = list(pseudo) + list(headers)
        if token is not None:
            fields.append(("authorization", "Bearer " + token))
        self.conn.send_headers(sid, fields, end_stream=end_stream)
        self._flush()
        return sid

    def send_body(self, sid, data, end_stream=True, trailers=None, deadline=None):
        """Sends `data` (bytes or an iterable of bytes) under flow control. Stops
        early (returns False) when the server resets or answers-and-ends the stream."""
        deadline = deadline or time.monotonic() + 120
        pieces = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
        r = self.streams[sid]
        for piece in pieces:
            view = memoryview(piece)
            while len(view):
                if r.reset is not None or self.closed or self.goaway is not None and sid > self.goaway[1]:
                    return False
                try:
                    window = min(self.conn.local_flow_control_window(sid),
                                 self.conn.max_outbound_frame_size)
                except h2.exceptions.StreamClosedError:
                    return False
                if window <= 0:
                    if time.monotonic() > deadline:
                        raise AssertionError("flow-control window stayed closed on stream %d" % sid)
                    self.pump(0.5)
                    continue
                take = min(window, len(view))
                try:
                    self.conn.send_data(sid, view[:take].tobytes())
                except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                    return False
                view = view[take:]
                out = self.conn.data_to_send()
                if out:
                    try:
                        self.sock.settimeout(self.timeout)
                        self.sock.sendall(out)
                    except (OSError, ssl.SSLError):
                        self.closed = True
                        return False
                # Read what the server sent meanwhile (window updates, early answers).
                if self._readable():
                    self.pump(0.01)
        try:
            if trailers:
                self.conn.send_headers(sid, trailers, end_stream=True)
            elif end_stream:
                self.conn.end_stream(sid)
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            return False
        self._flush()
        return True

    def _readable(self):
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        try:
            r, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return bool(r)

    def wait(self, sids, timeout=None):
        """Waits until every stream in `sids` ended or was reset, or the connection
        closed; returns their responses."""
        if isinstance(sids, int):
            sids = [sids]
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            if all(self.streams[s].done for s in sids):
                break
            if self.closed:
                break
            if self.goaway is not None and all(self.streams[s].done or s > self.goaway[1]
                                               for s in sids):
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.pump(min(remaining, 0.5))
        return [self.streams[s] for s in sids]

    def request(self, method, path, headers=(), body=None, token=None, timeout=None, **kw):
        """One request; returns its H2Response (check .done: False means no answer in time)."""
        sid = self.start(method, path, headers=headers, token=token,
                         end_stream=body is None, **kw)
        if body is not None:
            self.send_body(sid, body)
        return self.wait([sid], timeout=timeout)[0]

    def get(self, path, headers=(), token=None, **kw):
        return self.request("GET", path, headers=headers, token=token, **kw)

    def ping(self, timeout=5.0):
        """A PING round trip; True when the ACK came back."""
        before = self.pings_acked
        self.conn.ping(b"jwtgate!")
        self._flush()
        deadline = time.monotonic() + timeout
        while self.pings_acked == before and not self.closed and time.monotonic() < deadline:
            self.pump(deadline - time.monotonic())
        return self.pings_acked > before

    def wait_goaway(self, timeout):
        """Reads until a GOAWAY or the close of the connection (whichever first)."""
        deadline = time.monotonic() + timeout
        while self.goaway is None and not self.closed and time.monotonic() < deadline:
            self.pump(min(0.5, deadline - time.monotonic()))
        return self.goaway

    def wait_closed(self, timeout):
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self.pump(min(0.5, deadline - time.monotonic()))
        return self.closed


# --------------------------------------------------------------------------------------
# Frame-level client
# --------------------------------------------------------------------------------------

def frame_bytes(frame):
    return frame.serialize()


def settings_frame(values=None, ack=False):
    f = SettingsFrame(0)
    if ack:
        f.flags.add("ACK")
    else:
        for k, v in (values or {}).items():
            f.settings[k] = v
    return f.serialize()


def headers_frame(sid, block, end_headers=True, end_stream=True):
    f = HeadersFrame(sid)
    f.data = block
    if end_headers:
        f.flags.add("END_HEADERS")
    if end_stream:
        f.flags.add("END_STREAM")
    return f.serialize()


def continuation_frame(sid, block, end_headers=False):
    f = ContinuationFrame(sid)
    f.data = block
    if end_headers:
        f.flags.add("END_HEADERS")
    return f.serialize()


def rst_frame(sid, code=CANCEL):
    f = RstStreamFrame(sid)
    f.error_code = code
    return f.serialize()


def ping_frame(payload=b"\x00" * 8, ack=False):
    f = PingFrame(0)
    f.opaque_data = payload
    if ack:
        f.flags.add("ACK")
    return f.serialize()


def window_update_frame(sid, increment):
    f = WindowUpdateFrame(sid)
    f.window_increment = increment
    return f.serialize()


def data_frame(sid, data, end_stream=False):
    f = DataFrame(sid)
    f.data = data
    if end_stream:
        f.flags.add("END_STREAM")
    return f.serialize()


def raw_frame(ftype, flags, sid, payload):
    """Any frame, byte for byte (for lengths and types hyperframe will not build)."""
    return (len(payload).to_bytes(3, "big") + bytes([ftype, flags])
            + (sid & 0x7FFFFFFF).to_bytes(4, "big") + payload)


def padded_headers_frame(sid, block, pad, end_stream=False):
    return raw_frame(0x1, 0x4 | 0x8 | (0x1 if end_stream else 0), sid,
                     bytes([pad]) + block + b"\x00" * pad)


def padded_data_frame(sid, data, pad, end_stream=False):
    return raw_frame(0x0, 0x8 | (0x1 if end_stream else 0), sid,
                     bytes([pad]) + data + b"\x00" * pad)


def table_size_update(size):
    """An HPACK dynamic table size update instruction (RFC 7541 6.3)."""
    out = bytearray(encode_integer(size, 5))
    out[0] |= 0x20
    return bytes(out)


class RawH2:
    """HTTP/2 at the frame level on one connection. Sends the preface and a
    SETTINGS frame, reads and parses whatever the server sends (header blocks
    decoded with one HPACK decoder, in order)."""

    def __init__(self, port, host=LOCALHOST, settings=None, tls_context=None, timeout=10.0,
                 preface=True, keep_data=False):
        raw = socket.create_connection((host, port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls_context is not None:
            raw = tls_context.wrap_socket(raw, server_hostname=host)
        self.sock = raw
        self.timeout = timeout
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder(max_header_list_size=1 << 30)
        self.buf = bytearray()
        self.frames = []             # every frame received, in order
        self.headers = {}            # stream id -> [decoded header lists]
        self.resets = {}             # stream id -> error code
        self.ended = set()           # stream ids that received END_STREAM
        self.data_bytes = {}         # stream id -> DATA bytes received
        self.keep_data = keep_data
        self.bodies = {}             # stream id -> DATA received (with keep_data)
        self.goaway = None           # the last (error_code, last_stream_id, debug data)
        self.goaways = []            # every GOAWAY, in order (graceful shutdown sends two)
        self.closed = False
        self.reset_by_peer = False
        self.server_settings = {}
        self.settings_received = False   # a non-ACK SETTINGS frame arrived
        self.bytes_received = 0
        self._partial = None         # (stream id, block, end_stream) across CONTINUATION
        if preface:
            self.send(PREFACE + settings_frame(settings or {}))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data, timeout=None):
        """Sends all of `data`; False when the peer closed or stopped reading for `timeout`."""
        if self.closed:
            return False
        try:
            self.sock.settimeout(timeout if timeout is not None else self.timeout)
            self.sock.sendall(data)
            return True
        except socket.timeout:
            return False
        except (OSError, ssl.SSLError):
            return False

    def encode(self, headers):
        return self.encoder.encode(headers)

    def request(self, sid, method, path, extra=(), end_stream=True, authority="gateway.test"):
        block = self.encode(request_headers(method, path, authority=authority, extra=extra))
        return self.send(headers_frame(sid, block, end_stream=end_stream))

    def ack_settings(self):
        return self.send(settings_frame(ack=True))

    def _parse(self):
        new = []
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[0:3], "big")
            if len(self.buf) < 9 + length:
                break
            header = memoryview(bytes(self.buf[:9]))
            body = memoryview(bytes(self.buf[9:9 + length]))
            del self.buf[:9 + length]
            try:
                frame, _ = Frame.parse_frame_header(header)
                frame.parse_body(body)
            except Exception:  # an unknown or broken frame: keep going
                continue
            if not isinstance(frame, DataFrame):  # DATA is counted, not kept
                self.frames.append(frame)
                new.append(frame)
            self._account(frame)
        return new

    def _account(self, f):
        if isinstance(f, SettingsFrame) and "ACK" not in f.flags:
            self.server_settings.update(f.settings)
            self.settings_received = True
        elif isinstance(f, GoAwayFrame):
            self.goaway = (f.error_code, f.last_stream_id, f.additional_data)
            self.goaways.append(self.goaway)
        elif isinstance(f, RstStreamFrame):
            self.resets[f.stream_id] = f.error_code
        elif isinstance(f, DataFrame):
            self.data_bytes[f.stream_id] = self.data_bytes.get(f.stream_id, 0) + len(f.data)
            if self.keep_data:
                self.bodies.setdefault(f.stream_id, bytearray()).extend(f.data)
            if "END_STREAM" in f.flags:
                self.ended.add(f.stream_id)
        elif isinstance(f, HeadersFrame):
            if "END_HEADERS" in f.flags:
                self._decode(f.stream_id, f.data, "END_STREAM" in f.flags)
            else:
                self._partial = (f.stream_id, bytes(f.data), "END_STREAM" in f.flags)
        elif isinstance(f, ContinuationFrame) and self._partial:
            sid, block, end = self._partial
            block += bytes(f.data)
            if "END_HEADERS" in f.flags:
                self._partial = None
                self._decode(sid, block, end)
            else:
                self._partial = (sid, block, end)

    def _decode(self, sid, block, end_stream):
        try:
            fields = self.decoder.decode(block, raw=False)
        except Exception as e:  # noqa: BLE001 - the gateway's HPACK is under test
            fields = [("x-test-hpack-error", repr(e))]
        self.headers.setdefault(sid, []).append(fields)
        if end_stream:
            self.ended.add(sid)

    def read(self, timeout, until=None, max_bytes=256 << 20):
        """Reads for up to `timeout` seconds, stopping early when until(self) is true
        or the connection closes. Returns the frames that arrived."""
        deadline = time.monotonic() + timeout
        new = []
        while not self.closed:
            if until is not None and until(self):
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.bytes_received > max_bytes:
                break
            self.sock.settimeout(min(remaining, 0.5))
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except ConnectionResetError:
                self.reset_by_peer = True
                data = b""
            except (OSError, ssl.SSLError):
                data = b""
            if not data:
                self.closed = True
                break
            self.bytes_received += len(data)
            self.buf.extend(data)
            new.extend(self._parse())
        return new

    def poll(self):
        """Reads whatever is already there without waiting."""
        new = []
        while not self.closed:
            try:
                r, _, _ = select.select([self.sock], [], [], 0)
            except (OSError, ValueError):
                break
            if not r:
                break
            new.extend(self.read(0.05))
            if not new:
                break
        return new

    def status(self, sid):
        """The :status of the final response on `sid` (None if none)."""
        for fields in self.headers.get(sid, []):
            for k, v in fields:
                if k == ":status" and not v.startswith("1"):
                    return int(v)
        return None

    def response_fields(self, sid):
        for fields in self.headers.get(sid, []):
            if any(k == ":status" and not v.startswith("1") for k, v in fields):
                return fields
        return None

    def stream_done(self, sid):
        return sid in self.ended or sid in self.resets

    def ended_by_server(self):
        """A GOAWAY arrived or the connection was closed/reset."""
        return self.goaway is not None or self.closed


# --------------------------------------------------------------------------------------
# HTTP/2 upstream
# --------------------------------------------------------------------------------------

class H2EchoUpstream(_RawServer):
    """An HTTP/2 server (h2c, or h2 over TLS when `tls=(cert, key)`) answering:
      /download/N      N pattern bytes (content-length set)
      /status/N        status N, no body (204, 304, ...)
      /trailers/...    the echo JSON, then trailers x-upstream-trailer and x-body-sha256
      .../rst-stream   RST_STREAM INTERNAL_ERROR instead of a response
      .../goaway       GOAWAY INTERNAL_ERROR and the connection closed
      .../goaway-unprocessed  GOAWAY NO_ERROR with last_stream_id 0, then closed
      anything else    JSON {"headers": [[name, value]...] with pseudo-headers,
                       "trailers", "body_sha256", "body_length"}
    and records every request (headers, trailers) it received."""

    def __init__(self, tls=None, max_streams=1000, delay=0.0):
        self.max_streams = max_streams
        self.delay = delay           # seconds before each answer (streams still overlap)
        self.protocol_errors = []    # what python3-h2 refused from the gateway
        self.tls_context = None
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            ctx.set_alpn_protocols(["h2"])
            self.tls_context = ctx
        self.requests = []
        self.alpn_seen = []
        self.connections = 0
        super().__init__()

    @property
    def url(self):
        return "%s://%s:%d" % ("https" if self.tls_context else "http", LOCALHOST, self.port)

    def serve(self, sock):
        sock.settimeout(120)
        if self.tls_context is not None:
            try:
                sock = self.tls_context.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                return
            with self.lock:
                self.alpn_seen.append(sock.selected_alpn_protocol())
        with self.lock:
            self.connections += 1
        _H2ServerConnection(self, sock).run()


class _H2ServerConnection:
    def __init__(self, upstream, sock):
        self.up = upstream
        self.sock = sock
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8",
                                           validate_inbound_headers=False,
                                           normalize_inbound_headers=False)
        self.conn = h2.connection.H2Connection(config=config)
        self.state = {}
        self.ready = []
        self.open = True

    def flush(self):
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def run(self):
        self.conn.local_settings = h2.settings.Settings(
            client=False, initial_values={SETTINGS_INITIAL_WINDOW_SIZE: 1 << 24,
                                          SETTINGS_MAX_CONCURRENT_STREAMS: self.up.max_streams})
        self.conn.initiate_connection()
        self.conn.increment_flow_control_window(1 << 24)
        self.flush()
        try:
            while self.open:
                if not self.read_once(None):
                    return
                if self.up.delay and self.ready:
                    # Let the other streams of this connection arrive meanwhile.
                    until = time.monotonic() + self.up.delay
                    while time.monotonic() < until:
                        r, _, _ = select.select([self.sock], [], [], until - time.monotonic())
                        if r and not self.read_once(None):
                            return
                while self.ready:
                    self.respond(self.ready.pop(0))
        except h2.exceptions.ProtocolError as e:
            with self.up.lock:
                self.up.protocol_errors.append(repr(e))
            try:
                self.flush()
            except OSError:
                pass
        except (OSError, ssl.SSLError):
            return

    def read_once(self, timeout):
        self.sock.settimeout(timeout if timeout is not None else 120)
        data = self.sock.recv(1 << 20)
        if not data:
            self.open = False
            return False
        for ev in self.conn.receive_data(data):
            if isinstance(ev, h2.events.RequestReceived):
                self.state[ev.stream_id] = {"headers": list(ev.headers), "trailers": [],
                                            "sha": hashlib.sha256(), "length": 0}
                if ev.stream_ended is not None:
                    self.ready.append(ev.stream_id)
            elif isinstance(ev, h2.events.DataReceived):
                st = self.state.get(ev.stream_id)
                if st is not None:
                    st["sha"].update(ev.data)
                    st["length"] += len(ev.data)
                if ev.flow_controlled_length:
                    try:
                        self.conn.acknowledge_received_data(ev.flow_controlled_length,
                                                            ev.stream_id)
                    except h2.exceptions.StreamClosedError:
                        pass
            elif isinstance(ev, h2.events.TrailersReceived):
                st = self.state.get(ev.stream_id)
                if st is not None:
                    st["trailers"] = list(ev.headers)
            elif isinstance(ev, h2.events.StreamEnded):
                if ev.stream_id in self.state and ev.stream_id not in self.ready:
                    self.ready.append(ev.stream_id)
            elif isinstance(ev, h2.events.StreamReset):
                self.state.pop(ev.stream_id, None)
                if ev.stream_id in self.ready:
                    self.ready.remove(ev.stream_id)
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.open = False
        self.flush()
        return True

    def send_body(self, sid, data_iter):
        for piece in data_iter:
            view = memoryview(piece)
            while len(view):
                if sid not in self.state:
                    return False  # reset by the gateway
                try:
                    window = min(self.conn.local_flow_control_window(sid),
                                 self.conn.max_outbound_frame_size)
                except h2.exceptions.StreamClosedError:
                    return False
                if window <= 0:
                    if not self.read_once(60):
                        return False
                    continue
                self.conn.send_data(sid, view[:window].tobytes())
                view = view[window:]
                self.flush()
        return True

    def respond(self, sid):
        st = self.state.get(sid)
        if st is None:
            return
        headers = st["headers"]
        pseudo = dict((k, v) for k, v in headers if k.startswith(":"))
        path = pseudo.get(":path", "/").partition("?")[0]
        with self.up.lock:
            self.up.hits += 1
            self.up.requests.append({"headers": headers, "trailers": st["trailers"],
                                     "path": path, "body_length": st["length"]})
        try:
            if "/rst-stream" in path:
                self.conn.reset_stream(sid, error_code=INTERNAL_ERROR)
                self.flush()
            elif "/goaway-unprocessed" in path:
                # "Nothing of yours was processed" (last_stream_id 0).
                self.conn.close_connection(error_code=NO_ERROR, last_stream_id=0)
                self.flush()
                self.open = False
                self.sock.close()
            elif "/goaway" in path:
                self.conn.close_connection(error_code=INTERNAL_ERROR)
                self.flush()
                self.open = False
                self.sock.close()
            elif path.startswith("/status/") or "/status/" in path:
                code = path.rsplit("/", 1)[1]
                self.conn.send_headers(sid, [(":status", code), ("x-upstream", "h2echo")],
                                       end_stream=True)
                self.flush()
            elif "/download/" in path:
                n = int(path.rsplit("/", 1)[1])
                self.conn.send_headers(sid, [(":status", "200"),
                                             ("content-type", "application/octet-stream"),
                                             ("content-length", str(n)),
                                             ("x-upstream", "h2echo")])
                self.flush()
                if self.send_body(sid, pattern_chunks(n, size=1 << 18)):
                    self.conn.end_stream(sid)
                    self.flush()
            else:
                body = json.dumps({"headers": [[k, v] for k, v in headers],
                                   "trailers": [[k, v] for k, v in st["trailers"]],
                                   "body_sha256": st["sha"].hexdigest(),
                                   "body_length": st["length"]}).encode()
                with_trailers = "/trailers" in path
                fields = [(":status", "200"), ("content-type", "application/json"),
                          ("x-upstream", "h2echo")]
                if not with_trailers:
                    fields.append(("content-length", str(len(body))))
                self.conn.send_headers(sid, fields)
                self.flush()
                if self.send_body(sid, [body]):
                    if with_trailers:
                        self.conn.send_headers(sid, [("x-upstream-trailer", "done"),
                                                     ("x-body-sha256", st["sha"].hexdigest())],
                                               end_stream=True)
                    else:
                        self.conn.end_stream(sid)
                    self.flush()
        except h2.exceptions.StreamClosedError:
            pass
        self.state.pop(sid, None)


# --------------------------------------------------------------------------------------
# curl
# --------------------------------------------------------------------------------------

class CurlResult:
    def __init__(self, returncode, http_version, status, sha256, length, stderr):
        self.returncode = returncode
        self.http_version = http_version
        self.status = status
        self.sha256 = sha256
        self.length = length
        self.stderr = stderr

    def __repr__(self):
        return "<curl rc=%r http=%r status=%r length=%r stderr=%r>" % (
            self.returncode, self.http_version, self.status, self.length, self.stderr[-800:])


def curl_h2(url, args=(), upload=None, timeout=300, prior_knowledge=True, on_progress=None):
    """Runs curl over HTTP/2; `upload` is an iterable of bytes streamed as a PUT body
    through stdin (`-T -`). The response body is hashed as it arrives, never kept
    whole (the first 1 MiB is kept in .head for JSON answers)."""
    cmd = ["curl", "-sS", "--noproxy", "*", "--max-time", str(int(timeout)),
           "--http2-prior-knowledge" if prior_knowledge else "--http2",
           "-o", "-", "-w", "%{stderr}\\nCURL-RESULT %{http_version} %{http_code}\\n"]
    cmd += list(args)
    if upload is not None:
        cmd += ["-T", "-"]
    cmd.append(url)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if upload is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    feeder_error = []

    def feed():
        try:
            for piece in upload:
                proc.stdin.write(piece)
            proc.stdin.close()
        except (BrokenPipeError, OSError) as e:
            feeder_error.append(e)

    feeder = None
    if upload is not None:
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
    err_chunks = []
    err_reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)
    err_reader.start()
    sha = hashlib.sha256()
    length = 0
    head = bytearray()
    deadline = time.monotonic() + timeout + 10
    while True:
        chunk = proc.stdout.read1(1 << 20) if hasattr(proc.stdout, "read1") else proc.stdout.read(1 << 20)
        if not chunk:
            break
        sha.update(chunk)
        length += len(chunk)
        if len(head) < (1 << 20):
            head.extend(chunk[:(1 << 20) - len(head)])
        if on_progress is not None:
            on_progress(length)
        if time.monotonic() > deadline:
            proc.kill()
            break
    try:
        proc.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    if feeder is not None:
        feeder.join(timeout=10)
    err_reader.join(timeout=10)
    for pipe in (proc.stdout, proc.stderr, proc.stdin):
        if pipe is not None:
            try:
                pipe.close()
            except OSError:
                pass
    stderr = (err_chunks[0] if err_chunks else b"").decode("utf-8", "replace")
    m = re.search(r"CURL-RESULT (\S+) (\d+)", stderr)
    res = CurlResult(proc.returncode, m.group(1) if m else None, int(m.group(2)) if m else None,
                     sha.hexdigest(), length, stderr)
    res.head = bytes(head)
    return res


# --------------------------------------------------------------------------------------
# Process memory and metrics
# --------------------------------------------------------------------------------------

def process_status(pid, field):
    """A /proc/PID/status field in bytes (VmRSS, VmHWM); 0 when the process is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class RssSampler:
    """Samples a process's VmRSS every `interval` seconds in a thread; .max is the
    largest value seen."""

    def __init__(self, pid, interval=0.1):
        self.pid = pid
        self.interval = interval
        self.max = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            rss = process_status(self.pid, "VmRSS")
            self.max = max(self.max, rss)
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)


def parse_metrics(text):
    """Prometheus text format -> list of (name, {label: value}, float)."""
    samples = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$', line)
        if not m:
            continue
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    return samples


def protection_counters(gw):
    """{kind: value} of jwtgate_http2_protection_total on the gateway's /metrics."""
    resp = gw.admin_get("/metrics")
    if resp.status != 200:
        raise AssertionError("/metrics answered %r" % resp)
    out = {}
    for name, labels, value in parse_metrics(resp.body.decode("utf-8", "replace")):
        if name == "jwtgate_http2_protection_total":
            out[labels.get("kind", "")] = out.get(labels.get("kind", ""), 0) + value
    return out

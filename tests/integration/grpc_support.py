"""A real gRPC server and client helpers (Debian python3-grpcio) for the jwtgate
integration tests. No generated code: generic handlers with raw-bytes messages.

Every service in SERVICES offers the same methods:
  Unary         answers JSON {"metadata": [[k, v]...], "request_len", "request_sha256",
                "time_remaining"}; sends initial metadata x-srv-initial and trailing
                metadata x-srv-trailer plus a binary x-srv-trailer-bin
  ClientStream  JSON {"count", "total", "sha256", "metadata"} over all messages
  ServerStream  request JSON {"n", "size"}: n messages of `size` pattern bytes
  Bidi          echoes each message as b"echo:" + message
  Fail          status NOT_FOUND "no such order" with trailing metadata x-srv-trailer
  Sleep         request: seconds (text, at most 10); sleeps, then answers like Unary
"""

import hashlib
import json
import base64
import threading
import time
from concurrent import futures

import grpc

from harness import LOCALHOST

SERVICES = ("jwtgate.test.Echo", "jwtgate.test.Admin", "jwtgate.test.Public",
            "jwtgate.test.Slow", "jwtgate.test.Down")

CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0), ("grpc.enable_retries", 0),
                   ("grpc.max_receive_message_length", 64 << 20),
                   ("grpc.max_send_message_length", 64 << 20)]


def _md_value(value):
    if isinstance(value, bytes):
        return "b64:" + base64.b64encode(value).decode()
    return value


class GrpcTestServer:
    def __init__(self, tls=None):
        self.calls = []  # (method, [(k, v)]) per call, in arrival order
        self.sleep_active = []  # context.is_active() after each Sleep: False = cancelled
        self.lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=64),
                                  options=[("grpc.so_reuseport", 0),
                                           ("grpc.max_receive_message_length", 64 << 20),
                                           ("grpc.max_send_message_length", 64 << 20)])
        handlers = {
            "Unary": grpc.unary_unary_rpc_method_handler(self._unary),
            "ClientStream": grpc.stream_unary_rpc_method_handler(self._client_stream),
            "ServerStream": grpc.unary_stream_rpc_method_handler(self._server_stream),
            "Bidi": grpc.stream_stream_rpc_method_handler(self._bidi),
            "Fail": grpc.unary_unary_rpc_method_handler(self._fail),
            "Sleep": grpc.unary_unary_rpc_method_handler(self._sleep),
        }
        self.server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(svc, handlers) for svc in SERVICES])
        if tls:
            with open(tls[0], "rb") as f:
                cert = f.read()
            with open(tls[1], "rb") as f:
                key = f.read()
            creds = grpc.ssl_server_credentials([(key, cert)])
            self.port = self.server.add_secure_port("%s:0" % LOCALHOST, creds)
            self.scheme = "https"
        else:
            self.port = self.server.add_insecure_port("%s:0" % LOCALHOST)
            self.scheme = "http"
        self.server.start()

    @property
    def url(self):
        return "%s://%s:%d" % (self.scheme, LOCALHOST, self.port)

    def close(self):
        self.server.stop(grace=None)

    def call_count(self):
        with self.lock:
            return len(self.calls)

    def _record(self, method, context):
        md = [(k, _md_value(v)) for k, v in context.invocation_metadata()]
        with self.lock:
            self.calls.append((method, md))
        return md

    def _unary(self, request, context):
        md = self._record("Unary", context)
        context.send_initial_metadata([("x-srv-initial", "hello")])
        context.set_trailing_metadata([("x-srv-trailer", "bye"),
                                       ("x-srv-trailer-bin", b"\x00\x01\xfe\xff")])
        return json.dumps({"metadata": md, "request_len": len(request),
                           "request_sha256": hashlib.sha256(request).hexdigest(),
                           "time_remaining": context.time_remaining()}).encode()

    def _client_stream(self, request_iterator, context):
        md = self._record("ClientStream", context)
        sha = hashlib.sha256()
        count = total = 0
        for msg in request_iterator:
            count += 1
            total += len(msg)
            sha.update(msg)
        context.set_trailing_metadata([("x-srv-trailer", "client-stream-done")])
        return json.dumps({"count": count, "total": total, "sha256": sha.hexdigest(),
                           "metadata": md}).encode()

    def _server_stream(self, request, context):
        self._record("ServerStream", context)
        spec = json.loads(request.decode())
        n, size = int(spec["n"]), int(spec.get("size", 16))
        context.set_trailing_metadata([("x-srv-trailer", "server-stream-done")])
        for i in range(min(n, 100000)):
            yield server_stream_message(i, size)

    def _bidi(self, request_iterator, context):
        self._record("Bidi", context)
        context.set_trailing_metadata([("x-srv-trailer", "bidi-done")])
        for msg in request_iterator:
            yield b"echo:" + msg

    def _fail(self, request, context):
        self._record("Fail", context)
        context.set_trailing_metadata([("x-srv-trailer", "failed")])
        context.set_code(grpc.StatusCode.NOT_FOUND)
        context.set_details("no such order")
        return b""

    def _sleep(self, request, context):
        md = self._record("Sleep", context)
        remaining = context.time_remaining()
        seconds = min(float(request.decode() or "0"), 10.0)
        time.sleep(seconds)
        with self.lock:
            self.sleep_active.append(context.is_active())
        return json.dumps({"metadata": md, "time_remaining": remaining}).encode()


_BLOCK = bytes(range(251)) * (((4 << 20) // 251) + 2)


def server_stream_message(i, size):
    """Message i of ServerStream: its index, then `size` pattern bytes starting at i % 251."""
    start = i % 251
    return (b"%08d:" % i) + _BLOCK[start:start + min(size, 4 << 20)]


def insecure_channel(port):
    return grpc.insecure_channel("%s:%d" % (LOCALHOST, port), options=CHANNEL_OPTIONS)


def secure_channel(port, ca_file, server_name="localhost"):
    with open(ca_file, "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    return grpc.secure_channel("%s:%d" % (LOCALHOST, port), creds,
                               options=CHANNEL_OPTIONS + [("grpc.ssl_target_name_override",
                                                           server_name)])


def bearer(token):
    return [("authorization", "Bearer " + token)]


def metadata_values(md, name):
    return [v for k, v in md if k.lower() == name.lower()]

#!/usr/bin/env python3
"""Propagation delay of a revocation between two jwtgate instances sharing a
real redis-server (started here, on 127.0.0.1): an entry is POSTed to
instance A, and instance B is asked with the revoked token until it refuses
it. Prints p50, p90, p99 and max over REVOCATIONS (default 1000) entries.

The delay includes one request to B (the poll), so it is an upper bound."""

import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

from harness import EchoUpstream, Gateway, TestKeys  # noqa: E402
from revocation_support import ADMIN_TOKEN, RedisServer, admin_call, wait_until  # noqa: E402
from test_revocation_redis import make_config  # noqa: E402


def main():
    count = int(os.environ.get("REVOCATIONS", "1000"))
    keys = TestKeys.get()
    redis = RedisServer()
    upstream = EchoUpstream()
    env = dict(os.environ, JWTGATE_ADMIN_TOKEN=ADMIN_TOKEN)
    gws = []
    try:
        for _ in range(2):
            gw = Gateway(make_config(upstream, keys, redis.port, "bench-%d:" % os.getpid()), env=env)
            gws.append(gw)
            gw.start()
        a, b = gws
        if not wait_until(lambda: all(g.admin_get("/readyz").status == 200 for g in gws), 15):
            sys.exit("the instances did not synchronize with Redis")
        delays = []
        with b.connect() as conn:
            for i in range(count):
                token = keys.mint(sub="bench", jti="bench-%d" % i)
                auth = [("Authorization", "Bearer " + token)]
                if conn.request("GET", "/x", headers=auth).status != 200:
                    sys.exit("B refused a fresh token")
                start = time.monotonic()
                resp = admin_call(a, "POST", {"jti": "bench-%d" % i})
                if resp.status != 201:
                    sys.exit("POST failed: %r" % resp)
                while conn.request("GET", "/x", headers=auth).status != 401:
                    if time.monotonic() - start > 5:
                        sys.exit("revocation %d did not reach B within 5 s" % i)
                delays.append((time.monotonic() - start) * 1000)
        delays.sort()
        q = lambda p: delays[min(len(delays) - 1, int(p * len(delays)))]
        print("propagation A -> Redis -> B over %d revocations: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms"
              % (len(delays), statistics.median(delays), q(0.90), q(0.99), delays[-1]))
    finally:
        for g in gws:
            g.cleanup()
        upstream.close()
        redis.close()


if __name__ == "__main__":
    main()

"""A legitimate client that keeps sending while a test attacks the server.

Usage: python steady_sender.py DSN INTERVAL STOP_FILE
Captures one error event every INTERVAL seconds with the real sentry-sdk (default transport,
gzip) until STOP_FILE exists, then flushes and prints one JSON line:
{"event_ids": [...], "sdk_version": ...}. The SDK never retries: an event the server refused
(429, 503, a reset connection) is lost, so the caller checks every id was stored.
"""

import json
import os
import sys
import time

import sentry_sdk

dsn, interval, stop_file = sys.argv[1], float(sys.argv[2]), sys.argv[3]

sentry_sdk.init(
    dsn=dsn,
    default_integrations=False,
    release="steady@1.0.0",
    # Refusals show on stderr, which the caller prints when an id is missing.
    debug=True,
)

event_ids = []
n = 0
while not os.path.exists(stop_file):
    n += 1
    try:
        raise ValueError(f"steady event {n}")
    except ValueError:
        event_ids.append(sentry_sdk.capture_exception())
    time.sleep(interval)

sentry_sdk.flush(timeout=60)
print(json.dumps({"event_ids": event_ids, "sdk_version": sentry_sdk.VERSION}))

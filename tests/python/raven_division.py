"""The legacy raven-python 6.10 client reporting a ZeroDivisionError to /store/.

Usage: python raven_division.py DSN
Prints one JSON line: {"event_id": ..., "sent": true|false}.
"""

import json
import sys

from raven import Client
from raven.transport.http import HTTPTransport

# The synchronous transport: the default threaded one would send after we print and exit.
# Everything else (encoding: zlib "deflate", protocol version 6, /store/) is raven's default.
client = Client(sys.argv[1], transport=HTTPTransport, raise_send_errors=True)


def divide(numerator, denominator):
    return numerator / denominator


try:
    divide(6, 0)
except ZeroDivisionError:
    event_id = client.captureException()

print(json.dumps({"event_id": event_id, "sent": client.state.did_fail() is False}))

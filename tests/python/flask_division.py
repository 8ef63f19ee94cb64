"""The classic Sentry demo: a Flask app whose /division route divides by zero.

Usage: python flask_division.py DSN
Starts the app on an ephemeral port, calls /division/6/0 over HTTP, flushes the SDK and prints
one JSON line: {"url": ..., "event_ids": [...], "sdk_version": ...}.
"""

import json
import sys
import threading
import urllib.error
import urllib.request

import sentry_sdk
from flask import Flask
from sentry_sdk.integrations.flask import FlaskIntegration
from werkzeug.serving import make_server

event_ids = []


def remember(event, hint):
    event_ids.append(event["event_id"])
    return event


sentry_sdk.init(
    dsn=sys.argv[1],
    integrations=[FlaskIntegration()],
    release="tocsin-e2e@1.0.0",
    environment="e2e",
    before_send=remember,
    debug=False,
)

app = Flask(__name__)


@app.route("/division/<int:numerator>/<int:denominator>")
def division(numerator, denominator):
    return str(numerator / denominator)


server = make_server("127.0.0.1", 0, app)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_port}/division/6/0"
try:
    urllib.request.urlopen(url, timeout=10)
except urllib.error.HTTPError as err:
    assert err.code == 500, err.code
server.shutdown()
sentry_sdk.flush(timeout=10)
print(json.dumps({"url": url, "event_ids": event_ids, "sdk_version": sentry_sdk.VERSION}))

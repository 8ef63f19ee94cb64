"""The issue-grouping demo: the same ZeroDivisionError four times from /division/6/0, each with a
different request (user, browser, request id), plus other routes: /division/6/2 (no error), and
/convert/<currency> (a KeyError, a different bug).

Usage: python flask_issue_demo.py DSN
Prints one JSON line: {"division_url": ..., "event_ids": [...]}.
"""

import json
import sys
import threading
import urllib.error
import urllib.request
import uuid

import sentry_sdk
from flask import Flask, request
from sentry_sdk.integrations.flask import FlaskIntegration
from werkzeug.serving import make_server

event_ids = []


def remember(event, hint):
    event_ids.append(event["event_id"])
    return event


sentry_sdk.init(
    dsn=sys.argv[1],
    integrations=[FlaskIntegration()],
    release="tocsin-e2e@2.0.0",
    environment="e2e",
    send_default_pii=True,
    before_send=remember,
)

app = Flask(__name__)
RATES = {"eur": 1.0}


@app.before_request
def identify_user():
    sentry_sdk.set_user({"id": request.headers["X-User"]})
    sentry_sdk.set_tag("request_id", request.headers["X-Request-Id"])


@app.route("/division/<int:numerator>/<int:denominator>")
def division(numerator, denominator):
    return str(numerator / denominator)


@app.route("/convert/<currency>")
def convert(currency):
    return str(100 * RATES[currency])


CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"

server = make_server("127.0.0.1", 0, app)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{server.server_port}"


def call(path, user, agent):
    req = urllib.request.Request(
        base + path,
        headers={"X-User": user, "X-Request-Id": uuid.uuid4().hex, "User-Agent": agent},
    )
    try:
        urllib.request.urlopen(req, timeout=10).read()
    except urllib.error.HTTPError as err:
        assert err.code == 500, err.code


for user, agent in [("alice", CHROME_WINDOWS), ("bob", CHROME_WINDOWS), ("alice", CHROME_WINDOWS), ("carol", FIREFOX_LINUX)]:
    call("/division/6/0", user, agent)
call("/division/6/2", "dave", FIREFOX_LINUX)
call("/convert/usd", "erin", FIREFOX_LINUX)

server.shutdown()
sentry_sdk.flush(timeout=10)
print(json.dumps({"division_url": base + "/division/6/0", "event_ids": event_ids}))

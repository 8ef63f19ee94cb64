"""A Flask app that leaks every kind of secret into a crash, with send_default_pii=True.

Usage: python flask_secrets.py DSN SECRETS_FILE (nine secrets and a card number, one per line; a file rather than
arguments, because the SDK records its process's argv)
Posts a login form to the app (password field, api_key in the query string, Authorization and
Cookie headers), whose view keeps secrets in local variables, extra data and a breadcrumb, then
crashes. Prints one JSON line: {"event_ids": [...]}.
"""

import json
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import sentry_sdk
from flask import Flask, request
from sentry_sdk.integrations.flask import FlaskIntegration
from werkzeug.serving import make_server

dsn = sys.argv[1]
with open(sys.argv[2]) as f:
    lines = f.read().splitlines()
    s, card = lines[:9], lines[9]
event_ids = []


def remember(event, hint):
    event_ids.append(event["event_id"])
    return event


sentry_sdk.init(
    dsn=dsn,
    integrations=[FlaskIntegration()],
    send_default_pii=True,
    # Server-side scrubbing is what is under test, not the SDK's own.
    event_scrubber=sentry_sdk.scrubber.EventScrubber(denylist=[], pii_denylist=[]),
    before_send=remember,
)

app = Flask(__name__)


@app.route("/login", methods=["POST"])
def login():
    password = request.form["password"]
    db_password = s[4]
    stripe_token = s[5]
    username = request.form["username"]
    sentry_sdk.set_extra("aws_secret_access_key", s[6])
    sentry_sdk.set_extra("note", "paid with " + card)
    sentry_sdk.set_extra("replica", "postgres://app:" + s[7] + "@db.internal/app")
    sentry_sdk.add_breadcrumb(category="http", data={"Authorization": "Bearer " + s[8]})
    raise RuntimeError("login failed for " + username + " (" + str(len(password + db_password + stripe_token)) + ")")


server = make_server("127.0.0.1", 0, app)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_port}/login?api_key={s[1]}&page=1"
body = urllib.parse.urlencode({"username": "ann", "password": s[0]}).encode()
req = urllib.request.Request(url, data=body, method="POST")
req.add_header("Authorization", "Bearer " + s[2])
req.add_header("Cookie", "theme=dark; sessionid=" + s[3])
try:
    urllib.request.urlopen(req, timeout=10)
except urllib.error.HTTPError as err:
    assert err.code == 500, err.code
server.shutdown()
sentry_sdk.flush(timeout=10)
print(json.dumps({"event_ids": event_ids}))

"""A real SMTP server on loopback (aiosmtpd) that saves every message it receives.

Usage: python smtp_sink.py PORT OUTDIR
Writes one JSON file per message into OUTDIR ({"mail_from", "rcpt_tos", "data"}) and prints
"ready" once it accepts connections. Runs until killed.
"""

import json
import os
import sys
import time
import uuid

from aiosmtpd.controller import Controller


class Save:
    async def handle_DATA(self, server, session, envelope):
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
        }
        name = uuid.uuid4().hex
        tmp = os.path.join(sys.argv[2], f".{name}")
        with open(tmp, "w") as f:
            json.dump(record, f)
        # Written whole, then renamed: a reader never sees half a message.
        os.rename(tmp, os.path.join(sys.argv[2], f"mail-{time.time_ns()}-{name}"))
        return "250 OK"


controller = Controller(Save(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)

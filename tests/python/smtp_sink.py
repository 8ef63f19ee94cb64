"""A real SMTP server on loopback (aiosmtpd) that saves every message it receives.

Usage: python smtp_sink.py OUTDIR [--down]
Binds 127.0.0.1 port 0 itself and prints "port N" (no other process can take the port between
a test choosing it and the server binding it). Then it listens and prints "ready"; with --down
it first holds the port without listening (connections are refused, as with a server that is
down) until a line "start" arrives on stdin. Writes one JSON file per message into OUTDIR
({"mail_from", "rcpt_tos", "data"}). Runs until killed.
"""

import asyncio
import json
import os
import socket
import sys
import time
import uuid

from aiosmtpd.smtp import SMTP


class Save:
    async def handle_DATA(self, server, session, envelope):
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
        }
        name = uuid.uuid4().hex
        tmp = os.path.join(sys.argv[1], f".{name}")
        with open(tmp, "w") as f:
            json.dump(record, f)
        # Written whole, then renamed: a reader never sees half a message.
        os.rename(tmp, os.path.join(sys.argv[1], f"mail-{time.time_ns()}-{name}"))
        return "250 OK"


async def serve(sock):
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(Save(), hostname="127.0.0.1"), sock=sock
    )
    print("ready", flush=True)
    await server.serve_forever()


sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(("127.0.0.1", 0))
print(f"port {sock.getsockname()[1]}", flush=True)
if "--down" in sys.argv[2:] and sys.stdin.readline().strip() != "start":
    sys.exit("expected 'start' on stdin")
asyncio.run(serve(sock))

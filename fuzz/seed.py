"""Builds the fuzzers' seed corpora from the real-SDK captures (tests/fixtures and
../shared/fixtures): envelopes as sent, their event payloads, the bodies compressed the way
SDKs compress them, store bodies, and the auth headers and DSNs the SDKs used.

Usage: python3 fuzz/seed.py   (writes fuzz/corpus/<target>/, which is not committed)
"""

import base64
import gzip
import hashlib
import json
import pathlib
import zlib

root = pathlib.Path(__file__).resolve().parent.parent
corpus = root / "fuzz" / "corpus"
fixture_dirs = [root / "tests" / "fixtures", root.parent / "shared" / "fixtures"]


def put(target, data):
    folder = corpus / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


bodies, headers = [], []
for base in fixture_dirs:
    for body in sorted(base.glob("**/*.body")):
        bodies.append(body.read_bytes())
    for http in sorted(base.glob("**/*.http")):
        for line in http.read_bytes().split(b"\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() in (b"x-sentry-auth", b"authorization"):
                headers.append(value.strip())

for body in bodies:
    put("envelope", body)
    put("decode", bytes([0]) + gzip.compress(body))
    put("decode", bytes([1]) + zlib.compress(body))
    put("decode", bytes([1]) + zlib.compress(body)[2:-4])  # raw deflate
    lines = body.split(b"\n")
    for i, line in enumerate(lines[1:], start=1):
        try:
            header = json.loads(line)
        except ValueError:
            continue
        if isinstance(header, dict) and header.get("type") == "event" and i + 1 < len(lines):
            event = lines[i + 1]
            put("normalize", event)
            put("grouping", event)
            put("store_body", event)
            put("store_body", base64.b64encode(zlib.compress(event)))
for value in headers:
    put("auth", value)
put("auth", b"https://0123456789abcdef0123456789abcdef@errors.example.com/sentry/1")
print("seed corpora in", corpus, {p.name: len(list(p.iterdir())) for p in sorted(corpus.iterdir())})

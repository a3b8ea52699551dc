#!/usr/bin/env python3
"""A webhook receiver for Watchkeeper's tests: it records every POST it is
sent and checks its Standard Webhooks signature with the reference library
(PyPI `standardwebhooks`), so our signing is proved against an
implementation that is not ours.

It listens on 127.0.0.1, on a port the system picks, and prints exactly one
line `listening PORT` when it is ready. Then, for every POST, one JSON line:

    {"path": "/hook", "headers": {"webhook-id": "...", ...},
     "body": <the JSON body parsed, or the text when it is not JSON>,
     "verified": true | false, "answered": 200}

`headers` has lowercased names. `verified` is true only when `--secret` was
given and the signature verifies. `answered` is the status sent back;
`null` with `--hang` (never answered) and `"garbage"` with `--garbage`.

Behaviour:
  --secret whsec_...  verify signatures; a bad or missing one answers 401
  --fail N            answer 500 to the first N requests, then 200
  --retry-after S     with --fail: send `Retry-After: S` with each 500
  --status CODE       always answer CODE
  --hang              read the request, never answer (until killed)
  --garbage           answer bytes that are not HTTP, then close

--hang and --garbage come first (a receiver that is broken does not check
signatures); then a bad signature (401); then --status, then --fail.
Log lines go to stderr; stdout carries only the lines above.
"""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

# One writer at a time on stdout: a line is never interleaved with another.
OUTPUT = threading.Lock()


def emit(record):
    line = json.dumps(record, sort_keys=True)
    with OUTPUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def parse_body(raw):
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


class Sink:
    """What the handler needs: the options and a count of requests."""

    def __init__(self, options):
        self.options = options
        self.webhook = Webhook(options.secret) if options.secret else None
        self.count = 0
        self.lock = threading.Lock()

    def next_number(self):
        with self.lock:
            self.count += 1
            return self.count


def handler_for(sink):
    options = sink.options

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):
            sys.stderr.write("webhook_sink: " + (format % args) + "\n")

        def answer(self, status, extra_headers=()):
            body = b"ok\n" if 200 <= status < 300 else b"no\n"
            self.send_response(status)
            for name, value in extra_headers:
                self.send_header(name, value)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length > 0 else b""
            headers = {}
            for name, value in self.headers.items():
                name = name.lower()
                headers[name] = headers[name] + ", " + value if name in headers else value
            record = {
                "path": self.path,
                "headers": headers,
                "body": parse_body(raw),
                "verified": False,
                "answered": None,
            }
            if sink.webhook is not None:
                try:
                    sink.webhook.verify(raw, headers, json_parse=False)
                    record["verified"] = True
                except Exception as error:  # the library raises several kinds
                    sys.stderr.write(f"webhook_sink: signature refused: {error}\n")

            if options.hang:
                emit(record)
                # Never answer: hold the connection until the process is killed.
                threading.Event().wait()
                return
            if options.garbage:
                record["answered"] = "garbage"
                emit(record)
                self.wfile.write(b"\x00\x01 this is not HTTP \xff\xfe\r\n\r\n")
                self.wfile.flush()
                self.close_connection = True
                return

            number = sink.next_number()
            extra = []
            if sink.webhook is not None and not record["verified"]:
                status = 401
            elif options.status is not None:
                status = options.status
            elif number <= options.fail:
                status = 500
                if options.retry_after is not None:
                    extra.append(("Retry-After", str(options.retry_after)))
            else:
                status = 200
            record["answered"] = status
            emit(record)
            self.answer(status, extra)

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret", help="whsec_... to verify signatures with")
    parser.add_argument("--fail", type=int, default=0, metavar="N")
    parser.add_argument("--retry-after", type=int, metavar="S")
    parser.add_argument("--status", type=int, metavar="CODE")
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--garbage", action="store_true")
    options = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(Sink(options)))
    server.daemon_threads = True
    with OUTPUT:
        sys.stdout.write(f"listening {server.server_address[1]}\n")
        sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""An SMTP server for Watchkeeper's tests (PyPI `aiosmtpd`): it accepts
mail on 127.0.0.1, on a port the system picks, prints exactly one line
`listening PORT` when it is ready, then one JSON line per message:

    {"mail_from": "wk@example.com", "rcpt_tos": ["oncall@example.com"],
     "subject": "...", "text": "<text/plain part>", "html": "<text/html part>",
     "headers": {"message-id": "<...>", ...}, "auth_user": "wk" | null}

`headers` has lowercased names (a repeated header's values joined with
", "); `text` and `html` are null when the message has no such part.

Behaviour:
  --auth USER:PASS  require SMTP AUTH (PLAIN or LOGIN) with these
                    credentials before MAIL; allowed without TLS, as this
                    is loopback only
  --refuse ADDR     answer `550 5.1.1` to RCPT TO:<ADDR> (repeatable): a
                    permanent refusal
  --defer ADDR      answer `451 4.3.0` to RCPT TO:<ADDR> (repeatable): a
                    temporary one
Log lines go to stderr; stdout carries only the lines above.
"""

import argparse
import email
import email.policy
import json
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

OUTPUT = threading.Lock()


def emit(line):
    with OUTPUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def part(message, subtype):
    body = message.get_body(preferencelist=(subtype,))
    if body is None or body.get_content_type() != f"text/{subtype}":
        return None
    return body.get_content()


class Handler:
    def __init__(self, refuse, defer):
        self.refuse = {address.lower() for address in refuse}
        self.defer = {address.lower() for address in defer}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if address.lower() in self.defer:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        headers = {}
        for name, value in message.items():
            name = name.lower()
            value = str(value)
            headers[name] = headers[name] + ", " + value if name in headers else value
        auth_user = None
        if session.auth_data is not None and isinstance(session.auth_data, LoginPassword):
            auth_user = session.auth_data.login.decode("utf-8", errors="replace")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "subject": message.get("subject"),
            "text": part(message, "plain"),
            "html": part(message, "html"),
            "headers": headers,
            "auth_user": auth_user,
        }
        emit(json.dumps(record, sort_keys=True))
        return "250 Message accepted for delivery"


class LoopbackController(Controller):
    """aiosmtpd's Controller, bound to port 0. After binding, the
    controller connects to its own port once to start the SMTP machinery
    (`_trigger_server`, documented as the hook subclasses override); with
    port 0 it would connect to port 0, so it first reads the port the
    system gave."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def authenticator_for(user, password):
    expected = LoginPassword(user.encode(), password.encode())

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data == expected
        if not ok:
            sys.stderr.write(f"smtp_sink: refused AUTH {mechanism}\n")
        if ok:
            # Kept on the session (`session.auth_data`) for the record's auth_user.
            return AuthResult(success=True, auth_data=auth_data)
        # Not handled here: aiosmtpd answers `535 5.7.8` itself.
        return AuthResult(success=False, handled=False)

    return authenticator


def main():
    # aiosmtpd warns that AUTH without TLS is unsafe: true, and the reason
    # this sink listens on loopback only.
    warnings.filterwarnings("ignore", category=UserWarning, module="aiosmtpd")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--auth", metavar="USER:PASS")
    parser.add_argument("--refuse", action="append", default=[], metavar="ADDR")
    parser.add_argument("--defer", action="append", default=[], metavar="ADDR")
    options = parser.parse_args()

    settings = {}
    if options.auth is not None:
        user, sep, password = options.auth.partition(":")
        if not sep:
            parser.error("--auth takes USER:PASS")
        settings = {
            "authenticator": authenticator_for(user, password),
            "auth_required": True,
            "auth_require_tls": False,
        }
    controller = LoopbackController(
        Handler(options.refuse, options.defer),
        hostname="127.0.0.1",
        port=0,
        **settings,
    )
    controller.start()
    emit(f"listening {controller.port}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()

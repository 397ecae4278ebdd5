"""The bench's SMTP sink: sopdesk's own mail catcher (shared.mailcatcher.MailCatcher, aiosmtpd) on
a port, run as its own process so that its CPU is measured apart from the product's. Instead of
.eml files it appends one JSON line per message to a file, with the moment it arrived:

    {"t": 1767000000.123, "to": ["a@b"], "subject": "...", "message_id": "<...>"}

    python bench/smtp_sink.py PORT OUTFILE
"""
from __future__ import annotations

import email.policy
import json
import signal
import sys
import threading
import time
from email.parser import BytesHeaderParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.mailcatcher import MailCatcher  # noqa: E402


class JsonLinesHandler:
    def __init__(self, path: Path) -> None:
        self.out = open(path, "a", encoding="utf-8", buffering=1)
        self.lock = threading.Lock()
        # the headers only (the subject, RFC 2047 words decoded, and the Message-ID): parsing the
        # whole multipart body costs the sink more CPU than it needs, on a machine the bench shares
        self.headers = BytesHeaderParser(policy=email.policy.default)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        arrived = time.time()
        raw = envelope.original_content or envelope.content
        headers = self.headers.parsebytes(raw)
        line = json.dumps({"t": arrived, "to": list(envelope.rcpt_tos), "subject": str(headers.get("Subject", "")),
                           "message_id": str(headers.get("Message-ID", ""))}, ensure_ascii=False)
        with self.lock:
            self.out.write(line + "\n")
        return "250 Message accepted for delivery"


def main() -> int:
    port, path = int(sys.argv[1]), Path(sys.argv[2])
    catcher = MailCatcher(store=None, port=port, handler=JsonLinesHandler(path)).start()
    print(f"smtp sink on 127.0.0.1:{catcher.port}, writing {path}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stopped.set())
    signal.signal(signal.SIGINT, lambda *a: stopped.set())
    while not stopped.wait(1):
        pass
    catcher.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

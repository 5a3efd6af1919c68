#!/usr/bin/env python3
"""A stand-in for the 政企直通车 account / SMS gateway: receives siji's signed case events and turns
them into the notifications the real system would send (the enterprise hears of its own to-dos and
of the end of its case; departments hear of new tasks, reminders, overdue periods and supervision).

    tools/zqztc_receiver.py --port 8190 --secret "$SECRET"     # prints one line per notification

The tests use the same class as their real HTTP receiver (tests/test_webhooks.py). It checks the
signature (``X-Siji-Signature``), keeps each event once by its id (deliveries are at least once),
and can be told to fail or to answer slowly.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.integration.delivery import verify_signature  # noqa: E402

SIGN = "【济宁高新区·政企直通车】"


def notification(ev: dict) -> str | None:
    """The SMS text an event becomes, or None for events nobody is texted about."""
    name = ev.get("activity_name") or ""
    ref = ev.get("business_key") or f"案件{ev.get('process_instance_id')}"
    kind = ev.get("kind")
    if kind == "task_created" and ev.get("role") == "applicant":
        return f"{SIGN}您的事项（{ref}）有一项待您办理：{name}。"
    if kind == "task_created":
        return f"{SIGN}[{ev.get('role')}] 新的待办：{name}（{ref}）。"
    if kind == "reminder":
        return f"{SIGN}[{ev.get('role')}] 临期提醒：{name}（{ref}）即将到期。"
    if kind == "overdue":
        return f"{SIGN}[{ev.get('role')}] 超期：{name}（{ref}）已超过法定期限。"
    if kind == "escalation":
        return f"{SIGN}[领导小组办公室] 督办：{name}（{ref}）。"
    if kind == "case_ended":
        return f"{SIGN}您的事项（{ref}）已办结：{name}。"
    return None


class Receiver:
    def __init__(
        self, secret: str | None = None, host: str = "127.0.0.1", port: int = 0, path: str = "/hook", echo: bool = False
    ):
        self.secret = secret
        self.path = path
        self.echo = echo
        self.lock = threading.Lock()
        self.received: list[dict] = []  # every delivery, repeats included
        self.bad_signatures = 0
        self.notifications: list[str] = []
        self.fail_next = 0  # answer 503 to this many deliveries
        self.delay = 0.0  # seconds to wait before answering
        self.clock = time.time  # for the signature's freshness check
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.handle(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def handle(self, path: str, headers: dict, body: bytes) -> int:
        if self.delay:
            time.sleep(self.delay)
        if path != self.path:
            return 404
        lower = {k.lower(): v for k, v in headers.items()}
        if self.secret is not None and not verify_signature(
            self.secret, lower.get("x-siji-signature", ""), body, self.clock()
        ):
            with self.lock:
                self.bad_signatures += 1
            return 401
        with self.lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503
            ev = json.loads(body)
            ev["_sender"] = lower.get("x-siji-sender")  # which dispatcher (tests check the sharing)
            first = all(r["id"] != ev["id"] for r in self.received)
            self.received.append(ev)
            if first:
                text = notification(ev)
                if text:
                    self.notifications.append(text)
                    if self.echo:
                        print(text, flush=True)
        return 204

    def unique_ids(self) -> list[int]:
        with self.lock:
            return list(dict.fromkeys(r["id"] for r in self.received))

    def start(self) -> Receiver:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8190)
    ap.add_argument("--secret", help="the subscription's secret (signatures are checked when given)")
    args = ap.parse_args()
    r = Receiver(args.secret, args.host, args.port, echo=True)
    print(f"listening on {r.url}", flush=True)
    try:
        r.server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

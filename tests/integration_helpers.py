"""Shared by the integration tests: the stand-in receiver (tools/zqztc_receiver.py) and a service
whose settings allow webhooks to 127.0.0.1."""

from __future__ import annotations

import importlib.util
import sys

from conftest import ROOT

if str(ROOT / "tools") not in sys.path:
    sys.path.insert(0, str(ROOT / "tools"))

_spec = importlib.util.spec_from_file_location("zqztc_receiver", ROOT / "tools" / "zqztc_receiver.py")
zqztc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zqztc)
Receiver = zqztc.Receiver


def allow_local(siji, **more) -> None:
    siji.service.settings = siji.service.settings.replace(webhook_hosts=("127.0.0.1",), **more)


def subscribe(siji, receiver, kinds=None, name="政企直通车", secret="s3cret-for-the-test-only"):
    from engine.integration.subscriptions import ALL_KINDS

    body = {"name": name, "url": receiver.url, "kinds": list(kinds or ALL_KINDS), "secret": secret}
    return siji.ok(siji.post("/api/webhooks/subscriptions", "admin", json=body), 201)

"""The connector registry: the departments' HTTP endpoints that service tasks call, as
configuration (a JSON file named by ``SIJI_CONNECTORS``), never as code in diagrams.

    {"allowed_hosts": ["127.0.0.1", "*.jining.gov.cn"],
     "connectors": {
       "enterprise_db.credit": {"method": "GET", "url": "https://qy.jining.gov.cn/api/credit/{credit_code}",
                                "timeout": 5, "retries": 3, "backoff": 2.0,
                                "headers": {"Accept": "application/json"}}}}

``url`` placeholders ``{name}`` are filled from the service task's inputs (URL-quoted); the other
inputs go as the query string (GET, DELETE) or as the JSON body (POST, PUT, PATCH). ``retries``:
tries after the first; ``backoff``: seconds before the first retry, doubled each time.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from engine.integration_hosts import host_allowed
from engine.settings import SettingsError

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class Connector:
    name: str
    method: str
    url: str
    allowed_hosts: tuple[str, ...]
    timeout: float = 10.0
    retries: int = 2
    backoff: float = 1.0
    headers: dict = field(default_factory=dict)

    def placeholders(self) -> list[str]:
        return [f for _, f, _, _ in string.Formatter().parse(self.url) if f]


@dataclass(frozen=True)
class Registry:
    connectors: dict[str, Connector] = field(default_factory=dict)

    def get(self, name: str) -> Connector | None:
        return self.connectors.get(name)

    def names(self) -> set[str]:
        return set(self.connectors)


def parse_registry(doc: dict, source: str = "connectors") -> Registry:
    def bad(msg: str):
        raise SettingsError(f"{source}: {msg}")

    if not isinstance(doc, dict) or not isinstance(doc.get("connectors"), dict):
        bad('expected {"allowed_hosts": [...], "connectors": {...}}')
    hosts = doc.get("allowed_hosts") or []
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
        bad("allowed_hosts must be a list of host names")
    out = {}
    for name, c in doc["connectors"].items():
        if not _NAME.match(name) or not isinstance(c, dict):
            bad(f"connector {name!r}: bad name or definition")
        method = str(c.get("method", "GET")).upper()
        if method not in METHODS:
            bad(f"connector {name!r}: method must be one of {', '.join(METHODS)}")
        url = c.get("url")
        host = urlsplit(url).hostname if isinstance(url, str) else None
        if not host or urlsplit(url).scheme not in ("http", "https"):
            bad(f"connector {name!r}: url must be an http(s) URL")
        if not host_allowed(host, hosts):
            bad(f"connector {name!r}: host {host} is not in allowed_hosts")
        try:
            conn = Connector(
                name,
                method,
                url,
                tuple(h.lower() for h in hosts),
                float(c.get("timeout", 10)),
                int(c.get("retries", 2)),
                float(c.get("backoff", 1.0)),
                dict(c.get("headers") or {}),
            )
        except (TypeError, ValueError):
            bad(f"connector {name!r}: timeout, retries and backoff must be numbers")
        if not (0 < conn.timeout <= 120 and 0 <= conn.retries <= 10 and 0 <= conn.backoff <= 600):
            bad(f"connector {name!r}: timeout in (0, 120], retries in [0, 10], backoff in [0, 600]")
        out[name] = conn
    return Registry(out)


def load_registry(path: Path | None) -> Registry:
    if path is None:
        return Registry()
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SettingsError(f"SIJI_CONNECTORS={path}: {e}") from None
    return parse_registry(doc, f"SIJI_CONNECTORS={path}")

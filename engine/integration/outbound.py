"""Every HTTP request the service makes to another system goes through here: only to hosts an
administrator allowed, never following a redirect (a redirect could lead anywhere), with a timeout."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from engine.integration_hosts import host_allowed
from engine.service.errors import Invalid

_session = requests.Session()
_session.trust_env = False  # no proxy or .netrc from the environment: the allowlist is the whole story


def check_url(url: str, allowed, field: str = "url") -> str:
    """``url`` if it is http(s) to an allowed host; else Invalid naming ``field``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise Invalid("地址须为 http(s) URL", "must be an http(s) URL", {field: ["无效的地址 / invalid URL"]})
    if parts.username or parts.password:
        raise Invalid(
            "地址不能含用户名或密码",
            "credentials in the URL are not allowed",
            {field: ["不能含凭据 / no credentials in the URL"]},
        )
    if not host_allowed(host, allowed):
        raise Invalid(
            f"主机 {host} 不在允许清单中",
            f"host {host} is not on the allowlist",
            {field: [f"主机不在允许清单 / host not allowed: {host}"]},
        )
    return url


def send(
    method: str,
    url: str,
    allowed,
    *,
    body: bytes | None = None,
    headers: dict | None = None,
    params: dict | None = None,
    timeout: float = 10.0,
) -> requests.Response:
    """One request. Raises ``requests.RequestException`` on a network failure or timeout and
    Invalid when the host is not (or no longer) allowed."""
    check_url(url, allowed)
    return _session.request(
        method, url, data=body, headers=headers, params=params, timeout=timeout, allow_redirects=False
    )

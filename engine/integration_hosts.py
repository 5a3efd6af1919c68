"""Host allowlists (kernel): who the service may call, for webhooks and connectors alike."""

from __future__ import annotations


def host_allowed(host: str | None, allowed) -> bool:
    """``host`` equals an entry, or is a subdomain of a ``*.domain`` entry."""
    host = (host or "").lower().rstrip(".")
    for rule in allowed:
        rule = rule.lower()
        if rule.startswith("*."):
            if host.endswith(rule[1:]) and host != rule[2:]:
                return True
        elif host == rule:
            return True
    return False

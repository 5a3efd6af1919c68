"""The case file in front of the clerk: what a task reviews, read-only, as a form-js form.

For any diagram, without editing its forms: the application (the start form's fields) and what
each earlier step filled (its form's fields), one group per step, every field read-only and
filled from the data the task holds. A field with no value is left out (no empty boxes), and so
is a key the task's own form shows. A form's own ``readonly: true`` fields work the same way:
the server serves their values with the task's data and leaves out those that have none.
"""

from __future__ import annotations

import copy
from typing import Any

_LAYOUT = frozenset({"text", "html", "spacer", "separator", "image", "button", "iframe", "table"})


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _bind(c: dict) -> str | None:
    """The top-level data key a component binds to (a field's key, a group's or list's path)."""
    k = c.get("key") if isinstance(c.get("key"), str) else c.get("path") if isinstance(c.get("path"), str) else None
    return k.split(".")[0] if k else None


def _readonly(c: dict) -> dict:
    c = copy.deepcopy(c)
    stack = [c]
    while stack:
        node = stack.pop()
        if node.get("key"):
            node["readonly"] = True
            node.pop("validate", None)
        node.pop("conditional", None)
        stack.extend(node.get("components") or [])
    return c


def build(sections: list[tuple[str, dict | None]], data: dict, own_keys: set[str]) -> dict | None:
    """A read-only form-js form of ``sections`` ((title, form) in case order) showing ``data``,
    with the form's data; None when nothing is left to show."""
    used = set(own_keys)
    groups, values = [], {}
    for i, (title, form) in enumerate(sections):
        comps = []
        for c in (form or {}).get("components") or []:
            key = _bind(c)
            if not key or c.get("type") in _LAYOUT or key in used or _empty(data.get(key)):
                continue
            used.add(key)
            values[key] = copy.deepcopy(data[key])
            comps.append(_readonly(c))
        if comps:
            groups.append(
                {"type": "group", "id": f"CaseFile_{i}", "label": title, "showOutline": True, "components": comps}
            )
    if not groups:
        return None
    return {"form": {"type": "default", "id": "CaseFile", "schemaVersion": 16, "components": groups}, "data": values}


def without_empty_readonly(form: dict | None, data: dict) -> dict | None:
    """``form`` without its read-only fields that have no value in ``data``."""
    if not form:
        return form

    def value_at(path: list[str]) -> Any:
        cur: Any = data
        for seg in path:
            cur = cur.get(seg) if isinstance(cur, dict) else None
        return cur

    def keep(comps, prefix: list[str]) -> list:
        out = []
        for c in comps or []:
            if not isinstance(c, dict):
                out.append(c)
                continue
            ro = c.get("readonly") is True or c.get("disabled") is True
            if ro and isinstance(c.get("key"), str) and _empty(value_at(prefix + c["key"].split("."))):
                continue
            if c.get("components") and c.get("type") != "dynamiclist":
                path = prefix + c["path"].split(".") if isinstance(c.get("path"), str) and c["path"] else prefix
                c = dict(c, components=keep(c["components"], path))
            out.append(c)
        return out

    return dict(form, components=keep(form.get("components"), []))

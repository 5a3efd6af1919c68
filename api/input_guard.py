"""Hostile input refused before any view runs: control characters, numbers no column can hold,
bad Idempotency-Keys, JSON that is not UTF-8, not JSON, or nested deep enough to make a parser
recurse. Each refusal names the field (422) or the body (400)."""

from __future__ import annotations

import json
import re

from flask import request

from api.errors import error

MAX_JSON_DEPTH = 32  # form data and request bodies nest a few levels; anything deeper is hostile

_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _bad_text(s: str) -> bool:
    """Control characters (Unicode category Cc other than tab and line breaks) and lone
    surrogates: PostgreSQL cannot store NUL, a lone surrogate cannot be encoded, and none
    belongs in a case."""
    return _BAD_CHARS.search(s) is not None


_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


INT_MAX = 2**31 - 1  # ids and counts are 32-bit INTEGER columns (PostgreSQL refuses bigger)


def _fits_int32(text: str) -> bool:
    text = text.strip().lstrip("+-").lstrip("0")
    return len(text) < 10 or (len(text) <= 12 and int(text) <= INT_MAX)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def check_input():
    """Runs after authorization, before any view: refuses what no view should ever see.

    - query parameters and path parameters with control characters (422 / 404);
    - an Idempotency-Key that is not 1–200 visible ASCII characters (422);
    - JSON bodies that are not UTF-8, not JSON (NaN, Infinity, integers beyond 4300 digits
      included), nested deeper than MAX_JSON_DEPTH (10,000 levels would make the parser recurse
      until RecursionError), or with control characters in any key or string (422 naming the field).
    """
    for k, v in request.args.items(multi=True):
        if not k:
            return error(
                422,
                "invalid",
                "查询参数缺少名称",
                "query parameter without a name",
                {"query": ["参数名为空 / empty parameter name"]},
            )
        if _bad_text(k) or _bad_text(v):
            return error(
                422,
                "invalid",
                "查询参数含有控制字符",
                "query parameter contains control characters",
                {k if not _bad_text(k) else "query": ["包含不允许的控制字符 / contains control characters"]},
            )
    for k, v in request.args.items(multi=True):
        if _INTEGER.fullmatch(v) and not _fits_int32(v):
            return error(422, "invalid", "数值超出范围", "number out of range", {k: ["超出范围 / out of range"]})
    for v in (request.view_args or {}).values():
        if (isinstance(v, str) and _bad_text(v)) or (isinstance(v, int) and not -INT_MAX <= v <= INT_MAX):
            return error(404, "not_found", "不存在", "not found")  # no row can have that id
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 200 and all("!" <= c <= "~" for c in key)):
        return error(
            422,
            "invalid",
            "幂等键须为 1–200 个可见 ASCII 字符",
            "Idempotency-Key must be 1-200 visible ASCII characters",
            {"Idempotency-Key": ["无效 / invalid"]},
        )
    if request.method not in ("POST", "PUT", "PATCH") or not request.is_json:
        return None
    raw = request.get_data(cache=True)  # bounded by MAX_CONTENT_LENGTH (413 beyond)
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return error(
            400,
            "invalid_json",
            "请求体不是有效的 UTF-8 文本",
            f"request body is not valid UTF-8 (byte {e.start})",
            {"json": [f"第 {e.start} 字节不是 UTF-8 / byte {e.start} is not UTF-8"]},
        )
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        return error(
            400,
            "invalid_json",
            f"JSON 嵌套过深（上限 {MAX_JSON_DEPTH} 层）",
            f"JSON nested too deeply (limit {MAX_JSON_DEPTH} levels)",
            {"json": [f"嵌套过深 / nested deeper than {MAX_JSON_DEPTH} levels"]},
        )
    except ValueError as e:  # JSONDecodeError, NaN/Infinity, integers over 4300 digits
        return error(
            400,
            "invalid_json",
            "请求体不是有效的 JSON",
            f"request body is not valid JSON: {str(e)[:200]}",
            {"json": [str(e)[:200]]},
        )
    problem = _json_problem(value)
    if problem is not None:
        path, zh, en = problem
        return error(422, "invalid", zh, en, {path or "json": [f"{zh} / {en}"]})
    return None


def _json_problem(value) -> tuple[str, str, str] | None:
    """The first problem in a parsed JSON value: too deep, or control characters. Iterative."""
    stack = [(value, 0, "")]
    while stack:
        node, depth, path = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return (
                _field(path),
                f"嵌套过深（上限 {MAX_JSON_DEPTH} 层）",
                f"nested deeper than {MAX_JSON_DEPTH} levels",
            )
        if isinstance(node, str):
            if _bad_text(node):
                return (_field(path), "包含不允许的控制字符", "contains control characters")
        elif isinstance(node, dict):
            for k, v in node.items():
                sub = f"{path}.{k}" if path else k
                if _bad_text(k):
                    return (_field(path) or "json", "字段名包含控制字符", "a key contains control characters")
                stack.append((v, depth + 1, sub))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                stack.append((v, depth + 1, f"{path}.{i}" if path else str(i)))
    return None


def _field(path: str) -> str:
    """A field name for the error body: the path, shortened (a hostile one can be very long)."""
    parts = path.split(".")
    return ".".join(parts[:4]) + (".…" if len(parts) > 4 else "") if path else ""

"""Value checks shared by the compiler and the fields: USCC (GB 32100-2015), e-mail, phone, dates, kinds."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from marshmallow import missing

from engine.forms.messages import FormDefinitionError

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_INDEX = {c: i for i, c in enumerate(_USCC_CHARS)}
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1, 3, 9, 27, 19, 26, 16, 17, 20, ...


def uscc_valid(code: Any) -> bool:
    """True for an 18-character unified social credit code whose check character is right."""
    if not isinstance(code, str) or len(code) != 18:
        return False
    try:
        values = [_USCC_INDEX[c] for c in code]
    except KeyError:
        return False
    check = 31 - sum(v * w for v, w in zip(values, _USCC_WEIGHTS)) % 31
    return values[17] == (0 if check == 31 else check)


_EMAIL = re.compile(
    r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*"
)
# Simplified international (as form-js: +/00 prefix) or mainland number: 13812345678, 0537-1234567.
_PHONE = re.compile(r"(?:(?:\+|00)[1-9][0-9]{6,20}|1[3-9][0-9]{9}|0[1-9][0-9]{1,3}-?[0-9]{7,8})")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_RE = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?")
_DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?")


def _has_bad_chars(s: str) -> bool:
    for ch in s:
        if ch in "\n\r\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs"):  # control characters, lone surrogates
            return True
    return False


def _kind(v: Any) -> str | None:
    """The type class used to compare option values: "true" is not true, 1 equals 1.0."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "str"
    return None


def _option_key(v: Any) -> tuple[str, Any] | None:
    k = _kind(v)
    if k is None:
        return None
    if k == "number" and isinstance(v, float) and not math.isfinite(v):
        return None
    return (k, v)


def _same(a: Any, b: Any) -> bool:
    ka, kb = _option_key(a), _option_key(b)
    return ka is not None and ka == kb


def _is_empty(v: Any) -> bool:
    return v is missing or v is None or (isinstance(v, str) and v == "")


def _as_int(value: Any, what: str, jpath: str, minimum: int = 0) -> int:
    """An integer setting: form-js stores some as numbers, custom properties as strings."""
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,9}\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FormDefinitionError(f"{what} must be an integer >= {minimum}, got {value!r}", jpath)
    return value


def _as_number(value: Any, what: str, jpath: str) -> int | float:
    if isinstance(value, str):
        try:
            value = float(value) if re.search(r"[.eE]", value) else int(value)
        except ValueError:
            raise FormDefinitionError(f"{what} must be a number, got {value!r}", jpath) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FormDefinitionError(f"{what} must be a number, got {value!r}", jpath)
    return value


def _fmt(n: Any) -> str:
    return str(int(n)) if isinstance(n, float) and n.is_integer() else str(n)

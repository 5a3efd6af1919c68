"""Server-side validation of bpmn.io form-js forms (see docs/MODELING.md, "Forms").

    compiled = compile_form(form_json)          # FormDefinitionError if the form itself is broken
    clean = compiled.validate(data, options)    # FormValidationError(errors) for bad data

A form compiles into a tree of dynamically built marshmallow schemas (cached per form content).
Error keys are dotted data paths (``fire_review.opinion``, ``rectification_items.0.description``,
``_root`` for the submission as a whole); messages are Chinese, then English after `` / ``.

Decisions worth knowing (also in the report of the change that added this module):

* ``validate.pattern`` must match the WHOLE value (``re.fullmatch``, ``re.ASCII`` so ``\\d``/``\\w``
  are ASCII as in JavaScript). Note: form-js itself uses ``new RegExp(pattern).test(value)``, a
  search; anchor patterns with ``^…$`` so the browser agrees.
* ``minLength`` counts the trimmed value (as form-js does), ``maxLength`` the raw value.
* Missing, ``None`` and ``""`` are "no value"; a required checkbox must be ``true`` and a required
  checklist/taglist non-empty (as form-js). Non-required empty values are kept (``""`` for text,
  ``None`` otherwise) so a user can clear a field; absent keys stay absent.
* Fields with ``disabled: true`` or ``readonly: true`` are display-only on the server: a submitted
  value is dropped silently (never written to task data). Fields with ``conditional.hide`` (a FEEL
  expression the server cannot evaluate) are validated when present but never required; use the
  ``requiredWhen`` property for server-side conditional requirements.
* ``valuesKey`` options come from the ``options`` argument of ``validate``; a field whose options
  were not supplied refuses any value. If the client echoes the options variable itself back at the
  top level it is dropped, not reported as unknown.
* Dynamic lists accept at most ``properties.maxItems`` rows (default 500), at least
  ``properties.minItems``.
"""
from __future__ import annotations

import contextvars
import copy
import hashlib
import json
import math
import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, missing

__all__ = [
    "ALLOWED_VALUES_KEYS",
    "CompiledForm",
    "FieldInfo",
    "FormDefinitionError",
    "FormError",
    "FormValidationError",
    "compile_form",
    "uscc_valid",
]

ALLOWED_VALUES_KEYS = frozenset({"commissioner_options", "catalogue_options", "department_options"})

INPUT_TYPES = frozenset(
    {"textfield", "textarea", "number", "checkbox", "radio", "select", "checklist", "taglist", "datetime"}
)
DISPLAY_TYPES = frozenset({"text", "html", "spacer", "separator", "image", "button"})

DEFAULT_MAX_LENGTH = 10_000
DEFAULT_MAX_ITEMS = 500
MAX_SAFE_NUMBER = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER: what the browser can hold
MAX_ERRORS = 200

_SEGMENT = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")

# ---- messages (中文 / English) --------------------------------------------------------------

REQUIRED = "必填 / required"
UNKNOWN = "未知字段 / unknown field"
NOT_OBJECT = "应为对象 / must be an object"
NOT_LIST = "应为列表 / must be a list"
NOT_STRING = "应为文本 / must be a string"
NOT_NUMBER = "应为数字 / must be a number"
NOT_FINITE = "应为有限数值 / must be a finite number"
OUT_OF_RANGE = "数值超出范围 / number out of range"
NOT_BOOL = "应为是或否（true/false） / must be true or false"
NOT_ALLOWED = "不是可选的值 / not one of the allowed values"
DUPLICATE = "选项重复 / duplicate value"
NO_OPTIONS = "选项不可用 / no options available for this field"
CONTROL_CHARS = "包含不允许的控制字符 / contains control characters"
BAD_DATE = "日期格式应为 YYYY-MM-DD / must be a date YYYY-MM-DD"
BAD_DATETIME = "应为 ISO 8601 日期时间 / must be an ISO 8601 date-time"
BAD_TIME = "时间格式应为 HH:mm / must be a time HH:mm"
BAD_USCC = "统一社会信用代码无效 / invalid unified social credit code"
BAD_EMAIL = "电子邮箱格式不正确 / must be a valid email address"
BAD_PHONE = "电话号码格式不正确 / must be a valid phone number"
TOO_MANY_ERRORS = "错误过多，仅列出部分 / too many errors, only some are listed"


def _too_short(n):
    return f"不得少于 {n} 个字符 / must have at least {n} characters"


def _too_long(n):
    return f"不得超过 {n} 个字符 / must have at most {n} characters"


def _pattern(p):
    return f"格式不符合要求 / must match pattern {p}"


def _min(n):
    return f"不得小于 {n} / must be at least {n}"


def _max(n):
    return f"不得大于 {n} / must be at most {n}"


def _decimals(n):
    if n == 0:
        return "应为整数 / must be an integer"
    return f"小数位数不得超过 {n} 位 / must have at most {n} decimal digits"


def _increment(n):
    return f"应为 {n} 的整数倍 / must be a multiple of {n}"


def _min_items(n):
    return f"至少需要 {n} 行 / must have at least {n} rows"


def _max_items(n):
    return f"不得超过 {n} 行 / must have at most {n} rows"


# ---- exceptions ------------------------------------------------------------------------------


class FormError(Exception):
    """Base class of this module's errors."""


class FormDefinitionError(FormError):
    """The form JSON itself is broken. ``path`` locates the component (``components.2.components.0``)."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path


class FormValidationError(FormError):
    """Submitted data is invalid. ``errors``: dotted field path -> list of messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(f"{len(errors)} invalid field(s): {', '.join(list(errors)[:10])}")
        self.errors = errors


# ---- USCC (GB 32100-2015) --------------------------------------------------------------------

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


# ---- value helpers ---------------------------------------------------------------------------

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


# ---- compiled tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldInfo:
    """One data-bearing field. ``path`` uses ``*`` for dynamic-list rows (``items.*.name``)."""

    path: str
    type: str
    label: str | None
    required: bool
    required_when: str | None = None
    readonly: bool = False
    values: tuple | None = None
    values_key: str | None = None


class _Leaf:
    def __init__(self, comp: dict, jpath: str, path: str):
        self.comp = comp
        self.jpath = jpath
        self.path = path
        self.type: str = comp["type"]
        self.label = comp.get("label") if isinstance(comp.get("label"), str) else None
        self.required = False
        self.required_when: tuple[list[str], Any, bool] | None = None  # (path, literal, absolute)
        self.required_when_text: str | None = None
        self.ignored = comp.get("disabled") is True or comp.get("readonly") is True
        conditional = comp.get("conditional")
        self.never_required = isinstance(conditional, dict) and bool(conditional.get("hide"))
        self.min_length = self.max_length = None
        self.pattern: re.Pattern | None = None
        self.pattern_text = None
        self.minimum = self.maximum = None
        self.decimal_digits = None
        self.increment: Decimal | None = None
        self.serialize_to_string = False
        self.values: list | None = None
        self.values_key: str | None = None
        self.subtype = None
        self.format = None
        self.validation_type = None


class _Obj:
    def __init__(self):
        self.children: dict[str, Any] = {}  # name -> _Leaf | _Obj | _List


class _List:
    def __init__(self, comp: dict, jpath: str, path: str):
        self.comp = comp
        self.jpath = jpath
        self.path = path
        self.row = _Obj()
        self.label = comp.get("label") if isinstance(comp.get("label"), str) else None
        props = comp.get("properties") if isinstance(comp.get("properties"), dict) else {}
        self.min_items = _as_int(props.get("minItems", 0), "properties.minItems", jpath)
        self.max_items = _as_int(props.get("maxItems", DEFAULT_MAX_ITEMS), "properties.maxItems", jpath)
        if self.min_items > self.max_items:
            raise FormDefinitionError("properties.minItems > properties.maxItems", jpath)
        # requiredWhen on a list: at least one row when a sibling field has that value
        # (e.g. rectification items required when an acceptance is failed).
        self.required_when: tuple[str, Any] | None = None
        rw = props.get("requiredWhen")
        if rw not in (None, ""):
            if not isinstance(rw, str) or "=" not in rw:
                raise FormDefinitionError(f"requiredWhen must look like 'field=value', got {rw!r}", jpath)
            name, _, literal = rw.partition("=")
            self.required_when = (_split_path(name.strip(), "requiredWhen field", jpath)[0],
                                  _parse_literal(literal.strip()))


def _split_path(text: Any, what: str, jpath: str) -> list[str]:
    if not isinstance(text, str) or not text:
        raise FormDefinitionError(f"{what} must be a non-empty string", jpath)
    segments = text.split(".")
    for seg in segments:
        if not _SEGMENT.match(seg):
            raise FormDefinitionError(
                f"bad {what} {text!r}: each part must start with a letter and use only "
                "letters, digits, '_' and '-'",
                jpath,
            )
    return segments


class _Compiler:
    def __init__(self):
        self.root = _Obj()
        self.leaves: list[tuple[_Leaf, _Obj]] = []
        self.values_keys: set[str] = set()
        self.infos: list[FieldInfo] = []

    # Place a node at a dotted path below ``obj``; intermediate objects are created/shared.
    def _place(self, obj: _Obj, segments: list[str], node, jpath: str, prefix: str):
        for seg in segments[:-1]:
            existing = obj.children.get(seg)
            if existing is None:
                existing = obj.children[seg] = _Obj()
            elif not isinstance(existing, _Obj):
                raise FormDefinitionError(f"duplicate key: {prefix + seg!r} is already a field", jpath)
            obj = existing
            prefix += seg + "."
        last = segments[-1]
        existing = obj.children.get(last)
        if existing is not None:
            if isinstance(node, _Obj) and isinstance(existing, _Obj):
                return existing  # two groups may share a path
            raise FormDefinitionError(f"duplicate key {prefix + last!r}", jpath)
        obj.children[last] = node
        return node

    def walk(self, comps: Any, obj: _Obj, jpath: str, prefix: str):
        if not isinstance(comps, list):
            raise FormDefinitionError("components must be a list", jpath)
        for i, comp in enumerate(comps):
            cpath = f"{jpath}.{i}" if jpath else f"components.{i}"
            if not isinstance(comp, dict):
                raise FormDefinitionError("component must be an object", cpath)
            ctype = comp.get("type")
            if ctype in DISPLAY_TYPES:
                continue
            if ctype == "group":
                sub = obj
                sub_prefix = prefix
                if comp.get("path") not in (None, ""):
                    segs = _split_path(comp["path"], "path", cpath)
                    sub = self._place(obj, segs, _Obj(), cpath, prefix)
                    sub_prefix = prefix + ".".join(segs) + "."
                    label = comp.get("label") if isinstance(comp.get("label"), str) else None
                    self.infos.append(FieldInfo(sub_prefix[:-1], "group", label, False))
                self.walk(comp.get("components", []), sub, f"{cpath}.components", sub_prefix)
            elif ctype == "dynamiclist":
                segs = _split_path(comp.get("path"), "path", cpath)
                node = _List(comp, cpath, prefix + ".".join(segs))
                self._place(obj, segs, node, cpath, prefix)
                self.infos.append(FieldInfo(node.path, "dynamiclist", node.label, node.min_items > 0))
                self.walk(comp.get("components", []), node.row, f"{cpath}.components", node.path + ".*.")
            elif ctype in INPUT_TYPES:
                if "key" not in comp:
                    raise FormDefinitionError(f"{ctype} component without a key", cpath)
                segs = _split_path(comp["key"], "key", cpath)
                leaf = _Leaf(comp, cpath, prefix + ".".join(segs))
                self._compile_leaf(leaf)
                self._place(obj, segs, leaf, cpath, prefix)
                self.infos.append(
                    FieldInfo(
                        path=leaf.path,
                        type=leaf.type,
                        label=leaf.label,
                        required=leaf.required,
                        required_when=leaf.required_when_text,
                        readonly=leaf.ignored,
                        values=tuple(leaf.values) if leaf.values is not None else None,
                        values_key=leaf.values_key,
                    )
                )
                parent = obj
                for seg in segs[:-1]:
                    parent = parent.children[seg]
                self.leaves.append((leaf, parent))
            else:
                raise FormDefinitionError(f"unknown component type {ctype!r}", cpath)

    def _compile_leaf(self, leaf: _Leaf):
        comp, jp, t = leaf.comp, leaf.jpath, leaf.type
        validate = comp.get("validate") or {}
        if not isinstance(validate, dict):
            raise FormDefinitionError("validate must be an object", jp)
        for name, value in validate.items():
            if isinstance(value, str) and value.startswith("=") and name != "pattern":
                raise FormDefinitionError(f"validate.{name}: FEEL expressions are not supported", jp)
        req = validate.get("required", False)
        if not isinstance(req, bool):
            raise FormDefinitionError("validate.required must be true or false", jp)
        leaf.required = req and not leaf.never_required

        if t in ("textfield", "textarea"):
            if "minLength" in validate:
                leaf.min_length = _as_int(validate["minLength"], "validate.minLength", jp)
            if "maxLength" in validate:
                leaf.max_length = _as_int(validate["maxLength"], "validate.maxLength", jp)
            if validate.get("pattern") not in (None, ""):
                p = validate["pattern"]
                if not isinstance(p, str):
                    raise FormDefinitionError("validate.pattern must be a string", jp)
                try:
                    leaf.pattern = re.compile(p, re.ASCII)
                except (re.error, RecursionError, OverflowError) as exc:
                    raise FormDefinitionError(f"bad regex pattern {p!r}: {exc}", jp) from None
                leaf.pattern_text = p
            vt = validate.get("validationType")
            if vt not in (None, "", "email", "phone"):
                raise FormDefinitionError(f"unsupported validate.validationType {vt!r}", jp)
            leaf.validation_type = vt or None
        if t == "number":
            if "min" in validate:
                leaf.minimum = _as_number(validate["min"], "validate.min", jp)
            if "max" in validate:
                leaf.maximum = _as_number(validate["max"], "validate.max", jp)
            if comp.get("decimalDigits") not in (None, ""):
                leaf.decimal_digits = _as_int(comp["decimalDigits"], "decimalDigits", jp)
            if comp.get("increment") not in (None, ""):
                inc = _as_number(comp["increment"], "increment", jp)
                if inc <= 0:
                    raise FormDefinitionError("increment must be positive", jp)
                leaf.increment = Decimal(str(inc))
            leaf.serialize_to_string = comp.get("serializeToString") is True
        if t in ("radio", "select", "checklist", "taglist"):
            if comp.get("valuesExpression"):
                raise FormDefinitionError("valuesExpression is not supported; use values or valuesKey", jp)
            if comp.get("valuesKey") not in (None, ""):
                vk = comp["valuesKey"]
                if not isinstance(vk, str) or not _SEGMENT.match(vk):
                    raise FormDefinitionError(f"bad valuesKey {vk!r}", jp)
                leaf.values_key = vk
                self.values_keys.add(vk)
            elif "values" in comp:
                vals = comp["values"]
                if not isinstance(vals, list):
                    raise FormDefinitionError("values must be a list", jp)
                leaf.values = []
                for j, item in enumerate(vals):
                    if not isinstance(item, dict) or "value" not in item or _option_key(item["value"]) is None:
                        raise FormDefinitionError(
                            "each of values needs a string, number or boolean value", f"{jp}.values.{j}"
                        )
                    leaf.values.append(item["value"])
            else:
                raise FormDefinitionError(f"{t} needs values or valuesKey", jp)
        if t == "datetime":
            sub = comp.get("subtype", "date")
            if sub not in ("date", "datetime", "time"):
                raise FormDefinitionError(f"unknown datetime subtype {sub!r}", jp)
            leaf.subtype = sub

        props = comp.get("properties") or {}
        if not isinstance(props, dict):
            raise FormDefinitionError("properties must be an object", jp)
        fmt = props.get("format")
        if fmt not in (None, ""):
            if fmt != "uscc" or t not in ("textfield", "textarea"):
                raise FormDefinitionError(f"unsupported properties.format {fmt!r} on {t}", jp)
            leaf.format = fmt
        rw = props.get("requiredWhen")
        if rw not in (None, ""):
            if not isinstance(rw, str) or "=" not in rw:
                raise FormDefinitionError(f"requiredWhen must look like 'field=value', got {rw!r}", jp)
            name, _, literal = rw.partition("=")
            segs = _split_path(name.strip(), "requiredWhen field", jp)
            leaf.required_when = (segs, _parse_literal(literal.strip()), len(segs) > 1)
            leaf.required_when_text = rw

    def resolve_required_when(self):
        for leaf, parent in self.leaves:
            if leaf.required_when is None:
                continue
            segs, literal, _ = leaf.required_when
            if len(segs) == 1 and isinstance(parent.children.get(segs[0]), _Leaf):
                leaf.required_when = (segs, literal, False)
                continue
            node: Any = self.root
            for seg in segs:
                node = node.children.get(seg) if isinstance(node, _Obj) else None
            if not isinstance(node, _Leaf):
                raise FormDefinitionError(
                    f"requiredWhen refers to {'.'.join(segs)!r}, which is neither a sibling field "
                    "nor a field path outside dynamic lists",
                    leaf.jpath,
                )
            leaf.required_when = (segs, literal, True)


def _parse_literal(text: str) -> Any:
    if text == "true":
        return True
    if text == "false":
        return False
    if re.fullmatch(r"-?\d{1,15}", text):
        return int(text)
    if re.fullmatch(r"-?\d{1,15}\.\d{1,15}", text):
        return float(text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


# ---- marshmallow fields ----------------------------------------------------------------------

# Per-call context: the whole submission (for requiredWhen paths) and the valuesKey options.
_CTX: contextvars.ContextVar[tuple[dict, dict]] = contextvars.ContextVar("form_ctx")


class _BaseSchema(Schema):
    error_messages = {"unknown": UNKNOWN, "type": NOT_OBJECT}

    class Meta:
        unknown = RAISE


class _Ignored(fields.Field):
    """A key that may be present but is never validated nor kept (readonly fields, echoed options)."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        return missing


class _LeafField(fields.Field):
    def __init__(self, leaf: _Leaf, **kwargs):
        super().__init__(**kwargs)
        self.leaf = leaf

    # -- required --

    def _required(self, data) -> bool:
        leaf = self.leaf
        if leaf.required:
            return True
        if leaf.required_when is None:
            return False
        segs, literal, absolute = leaf.required_when
        if absolute:
            cur: Any = _CTX.get()[0]
            for seg in segs:
                cur = cur.get(seg) if isinstance(cur, dict) else None
        else:
            cur = data.get(segs[0]) if isinstance(data, dict) else None
        return _same(cur, literal)

    def _empty(self, value) -> bool:
        if _is_empty(value):
            return True
        if self.leaf.type == "checkbox" and value is False:
            return True
        if self.leaf.type in ("checklist", "taglist") and isinstance(value, list) and not value:
            return True
        return False

    def deserialize(self, value, attr=None, data=None, **kwargs):
        if self._empty(value) and self._required(data):
            raise ValidationError(REQUIRED)
        if _is_empty(value):
            if value is missing:
                return missing
            return "" if self.leaf.type in ("textfield", "textarea") else None
        return _CHECKS[self.leaf.type](self.leaf, value)


def _check_text(leaf: _Leaf, value):
    if not isinstance(value, str):
        raise ValidationError(NOT_STRING)
    errors = []
    limit = leaf.max_length if leaf.max_length is not None else DEFAULT_MAX_LENGTH
    if len(value) > limit:
        raise ValidationError(_too_long(limit))  # nothing else is worth checking
    if _has_bad_chars(value):
        raise ValidationError(CONTROL_CHARS)
    if leaf.min_length is not None and len(value.strip()) < leaf.min_length:
        errors.append(_too_short(leaf.min_length))
    if leaf.pattern is not None and not leaf.pattern.fullmatch(value):
        errors.append(_pattern(leaf.pattern_text))
    if leaf.format == "uscc" and not uscc_valid(value):
        errors.append(BAD_USCC)
    if leaf.validation_type == "email" and not _EMAIL.fullmatch(value):
        errors.append(BAD_EMAIL)
    if leaf.validation_type == "phone" and not _PHONE.fullmatch(value):
        errors.append(BAD_PHONE)
    if errors:
        raise ValidationError(errors)
    return value


def _check_number(leaf: _Leaf, value):
    original = value
    if isinstance(value, str) and leaf.serialize_to_string:
        if len(value) > 40 or not re.fullmatch(r"-?\d+(\.\d+)?", value):
            raise ValidationError(NOT_NUMBER)
        dec = Decimal(value)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(NOT_NUMBER)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(NOT_FINITE)
    else:
        if abs(value) > MAX_SAFE_NUMBER:
            raise ValidationError(OUT_OF_RANGE)
        dec = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if abs(dec) > MAX_SAFE_NUMBER:
        raise ValidationError(OUT_OF_RANGE)
    errors = []
    if leaf.minimum is not None and dec < Decimal(str(leaf.minimum)):
        errors.append(_min(_fmt(leaf.minimum)))
    if leaf.maximum is not None and dec > Decimal(str(leaf.maximum)):
        errors.append(_max(_fmt(leaf.maximum)))
    if leaf.decimal_digits is not None:
        exponent = dec.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > leaf.decimal_digits:
            errors.append(_decimals(leaf.decimal_digits))
    if leaf.increment is not None:
        try:
            if dec % leaf.increment != 0:
                errors.append(_increment(_fmt(float(leaf.increment))))
        except InvalidOperation:
            errors.append(OUT_OF_RANGE)
    if errors:
        raise ValidationError(errors)
    return original


def _check_checkbox(leaf: _Leaf, value):
    if not isinstance(value, bool):
        raise ValidationError(NOT_BOOL)
    return value


def _choices(leaf: _Leaf) -> set | None:
    if leaf.values is not None:
        return {_option_key(v) for v in leaf.values}
    options = _CTX.get()[1]
    raw = options.get(leaf.values_key) if isinstance(options, dict) else None
    if not isinstance(raw, list):
        return None
    keys = set()
    for item in raw:
        value = item.get("value") if isinstance(item, dict) else item
        key = _option_key(value)
        if key is not None:
            keys.add(key)
    return keys


def _check_single(leaf: _Leaf, value):
    choices = _choices(leaf)
    if choices is None:
        raise ValidationError(NO_OPTIONS)
    key = _option_key(value)
    if key is None or key not in choices:
        raise ValidationError(NOT_ALLOWED)
    return value


def _check_multi(leaf: _Leaf, value):
    if not isinstance(value, list):
        raise ValidationError(NOT_LIST)
    choices = _choices(leaf)
    if choices is None:
        raise ValidationError(NO_OPTIONS)
    seen = set()  # the loop stops at the first bad item, so it runs at most len(choices) + 1 times
    for item in value:
        key = _option_key(item)
        if key is None or key not in choices:
            raise ValidationError(NOT_ALLOWED)
        if key in seen:
            raise ValidationError(DUPLICATE)
        seen.add(key)
    return list(value)


def _check_datetime(leaf: _Leaf, value):
    if not isinstance(value, str) or len(value) > 40:
        raise ValidationError(NOT_STRING if not isinstance(value, str) else BAD_DATETIME)
    try:
        if leaf.subtype == "date":
            if not _DATE_RE.fullmatch(value):
                raise ValueError
            date.fromisoformat(value)
        elif leaf.subtype == "time":
            if not _TIME_RE.fullmatch(value):
                raise ValueError
            time.fromisoformat(value.replace("Z", "+00:00"))
        else:
            if not _DATETIME_RE.fullmatch(value):
                raise ValueError
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            {"date": BAD_DATE, "time": BAD_TIME, "datetime": BAD_DATETIME}[leaf.subtype]
        ) from None
    return value


_CHECKS = {
    "textfield": _check_text,
    "textarea": _check_text,
    "number": _check_number,
    "checkbox": _check_checkbox,
    "radio": _check_single,
    "select": _check_single,
    "checklist": _check_multi,
    "taglist": _check_multi,
    "datetime": _check_datetime,
}


class _ObjectField(fields.Field):
    """A nested object (group ``path`` or dotted key). Absent/None is validated as ``{}``."""

    def __init__(self, schema_cls: type[Schema], **kwargs):
        super().__init__(**kwargs)
        self.schema_cls = schema_cls

    def deserialize(self, value, attr=None, data=None, **kwargs):
        absent = value is missing or value is None
        if absent:
            value = {}
        elif not isinstance(value, dict):
            raise ValidationError(NOT_OBJECT)
        try:
            result = self.schema_cls().load(value)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        if absent and not result:
            return missing
        return result


class _ListField(fields.Field):
    def __init__(self, node: _List, row_schema: type[Schema], **kwargs):
        super().__init__(**kwargs)
        self.node = node
        self.row_schema = row_schema

    def deserialize(self, value, attr=None, data=None, **kwargs):
        node = self.node
        needed = node.min_items
        if node.required_when is not None and isinstance(data, dict):
            field, literal = node.required_when
            if _same(data.get(field), literal):
                needed = max(needed, 1)
                if isinstance(value, list) and not value:
                    raise ValidationError(REQUIRED)
        if value is missing or value is None:
            if needed > 0:
                raise ValidationError(REQUIRED)
            return missing
        if not isinstance(value, list):
            raise ValidationError(NOT_LIST)
        if len(value) > node.max_items:
            raise ValidationError(_max_items(node.max_items))
        if len(value) < node.min_items:
            raise ValidationError(_min_items(node.min_items))
        schema = self.row_schema()
        rows, errors = [], {}
        for i, row in enumerate(value):
            if not isinstance(row, dict):
                errors[i] = {"_schema": [NOT_OBJECT]}
                continue
            try:
                rows.append(schema.load(row))
            except ValidationError as exc:
                errors[i] = exc.messages
        if errors:
            raise ValidationError(errors)
        return rows


def _build_schema(obj: _Obj, name: str, extra_ignored: set[str] = frozenset()) -> type[Schema]:
    declared: dict[str, fields.Field] = {}
    for i, (key, node) in enumerate(obj.children.items()):
        # Internal attribute names avoid clashes with Schema attributes (a key "fields", "Meta"…).
        kw = {"data_key": key, "attribute": key}
        if isinstance(node, _Leaf):
            declared[f"f{i}"] = _Ignored(**kw) if node.ignored else _LeafField(node, **kw)
        elif isinstance(node, _Obj):
            declared[f"f{i}"] = _ObjectField(_build_schema(node, f"{name}.{key}"), **kw)
        else:
            declared[f"f{i}"] = _ListField(node, _build_schema(node.row, f"{name}.{key}[]"), **kw)
    for j, key in enumerate(sorted(extra_ignored - set(obj.children))):
        declared[f"x{j}"] = _Ignored(data_key=key, attribute=key)
    return _BaseSchema.from_dict(declared, name=f"FormSchema[{name}]")


def _flatten(messages: Any, prefix: str, out: dict[str, list[str]]):
    if isinstance(messages, dict):
        for k, v in messages.items():
            if k == "_schema":
                key = prefix or "_root"
                _flatten(v, key, out) if isinstance(v, dict) else out.setdefault(key, []).extend(map(str, v))
            else:
                _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            out.setdefault(prefix or "_root", []).extend(messages)
        else:
            for m in messages:
                _flatten(m, prefix, out)
    else:
        out.setdefault(prefix or "_root", []).append(str(messages))


# ---- public API ------------------------------------------------------------------------------


class CompiledForm:
    """A validator for one form. Immutable and safe to share between threads."""

    def __init__(self, form: dict):
        if not isinstance(form, dict):
            raise FormDefinitionError("form must be an object")
        comps = form.get("components")
        if comps is None:
            raise FormDefinitionError("form has no components")
        c = _Compiler()
        try:
            c.walk(comps, c.root, "", "")
        except RecursionError:
            raise FormDefinitionError("components nested too deeply") from None
        c.resolve_required_when()
        self._root = c.root
        self.values_keys: frozenset[str] = frozenset(c.values_keys)
        self.fields: list[FieldInfo] = c.infos
        self.id = form.get("id") if isinstance(form.get("id"), str) else None
        self._schema = _build_schema(c.root, self.id or "form", extra_ignored=set(self.values_keys))

    def validate(self, data: Any, options: dict[str, list[dict]] | None = None) -> dict:
        """Return the cleaned data (only the form's keys) or raise FormValidationError."""
        if not isinstance(data, dict):
            raise FormValidationError({"_root": [NOT_OBJECT]})
        token = _CTX.set((data, options or {}))
        try:
            return self._schema().load(data)
        except ValidationError as exc:
            out: dict[str, list[str]] = {}
            _flatten(exc.messages, "", out)
            if len(out) > MAX_ERRORS:
                out = dict(list(out.items())[:MAX_ERRORS])
                out.setdefault("_root", []).append(TOO_MANY_ERRORS)
            raise FormValidationError(out) from None
        except RecursionError:  # belt and braces: nothing here recurses on the data itself
            raise FormValidationError({"_root": [NOT_OBJECT]}) from None
        finally:
            _CTX.reset(token)

    def initial_data(self, task_data: Any) -> dict:
        """The part of ``task_data`` this form shows: its fields' values and its valuesKey options."""
        if not isinstance(task_data, dict):
            return {}
        out = _pick(self._root, task_data)
        for key in self.values_keys:
            if key in task_data and key not in out:
                out[key] = copy.deepcopy(task_data[key])
        return out


def _pick(obj: _Obj, data: dict) -> dict:
    out = {}
    for key, node in obj.children.items():
        if key not in data:
            continue
        value = data[key]
        if isinstance(node, _Leaf):
            out[key] = copy.deepcopy(value)
        elif isinstance(node, _Obj):
            if isinstance(value, dict):
                out[key] = _pick(node, value)
        elif isinstance(value, list):
            out[key] = [_pick(node.row, row) for row in value if isinstance(row, dict)]
    return out


_CACHE: OrderedDict[str, CompiledForm] = OrderedDict()
_CACHE_SIZE = 256
_CACHE_LOCK = threading.Lock()


def compile_form(form: dict) -> CompiledForm:
    """Compile (or fetch from the per-content cache) the validator of ``form``."""
    try:
        digest = hashlib.sha256(
            json.dumps(form, sort_keys=True, ensure_ascii=False, allow_nan=False).encode()
        ).hexdigest()
    except (TypeError, ValueError, RecursionError):
        raise FormDefinitionError("form is not JSON data") from None
    with _CACHE_LOCK:
        hit = _CACHE.get(digest)
        if hit is not None:
            _CACHE.move_to_end(digest)
            return hit
    compiled = CompiledForm(form)
    with _CACHE_LOCK:
        _CACHE[digest] = compiled
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return compiled


def walk_components(components):
    """Every component of a form-js schema, depth first (groups and lists included)."""
    for c in components or []:
        yield c
        yield from walk_components(c.get("components"))

"""The tree as dynamically built marshmallow schemas: one field class per kind of leaf, with its checks."""

from __future__ import annotations

import contextvars
import math
import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, missing

from engine.forms.messages import (
    BAD_DATE,
    BAD_DATETIME,
    BAD_EMAIL,
    BAD_PHONE,
    BAD_TIME,
    BAD_USCC,
    CONTROL_CHARS,
    DEFAULT_MAX_LENGTH,
    DUPLICATE,
    MAX_SAFE_NUMBER,
    NO_OPTIONS,
    NOT_ALLOWED,
    NOT_BOOL,
    NOT_FINITE,
    NOT_LIST,
    NOT_NUMBER,
    NOT_OBJECT,
    NOT_STRING,
    OUT_OF_RANGE,
    REQUIRED,
    UNKNOWN,
    _decimals,
    _increment,
    _max,
    _max_items,
    _min,
    _min_items,
    _pattern,
    _too_long,
    _too_short,
)
from engine.forms.tree import _Leaf, _List, _Obj
from engine.forms.values import (
    _DATE_RE,
    _DATETIME_RE,
    _EMAIL,
    _PHONE,
    _TIME_RE,
    _fmt,
    _has_bad_chars,
    _is_empty,
    _option_key,
    _same,
    uscc_valid,
)

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
        raise ValidationError({"date": BAD_DATE, "time": BAD_TIME, "datetime": BAD_DATETIME}[leaf.subtype]) from None
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
        self.loader = schema_cls()  # reused: see CompiledForm's loader

    def deserialize(self, value, attr=None, data=None, **kwargs):
        absent = value is missing or value is None
        if absent:
            value = {}
        elif not isinstance(value, dict):
            raise ValidationError(NOT_OBJECT)
        try:
            result = self.loader.load(value)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        if absent and not result:
            return missing
        return result


class _ListField(fields.Field):
    def __init__(self, node: _List, row_schema: type[Schema], **kwargs):
        super().__init__(**kwargs)
        self.node = node
        self.row_loader = row_schema()  # reused: see CompiledForm's loader

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
        schema = self.row_loader
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

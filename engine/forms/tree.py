"""A form-js schema compiled into a tree of leaves, objects and lists (FormDefinitionError for a broken form)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.forms.messages import _SEGMENT, DEFAULT_MAX_ITEMS, DISPLAY_TYPES, INPUT_TYPES, FormDefinitionError
from engine.forms.values import _as_int, _as_number, _option_key


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
            self.required_when = (
                _split_path(name.strip(), "requiredWhen field", jpath)[0],
                _parse_literal(literal.strip()),
            )


def _split_path(text: Any, what: str, jpath: str) -> list[str]:
    if not isinstance(text, str) or not text:
        raise FormDefinitionError(f"{what} must be a non-empty string", jpath)
    segments = text.split(".")
    for seg in segments:
        if not _SEGMENT.match(seg):
            raise FormDefinitionError(
                f"bad {what} {text!r}: each part must start with a letter and use only letters, digits, '_' and '-'",
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

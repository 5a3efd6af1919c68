"""Valid form data for a simulated user task, generated from the task's own form-js form.

The real engine's gateway conditions read what the forms submit, so a simulated clerk has to
submit something the service's own validator (engine/forms/) would accept. Values come from,
in order: a generator bound to the field in the settings file (``fields``), then a default per
field type (the first option of a radio/select, a string matching the field's pattern, …).
Only required fields, fields made required by ``requiredWhen``, and fields with a generator are
filled: optional fields stay absent, as a hurried clerk would leave them.
"""

from __future__ import annotations

import copy
import random
import re
from datetime import datetime, timedelta
from typing import Any

try:  # Python 3.11 keeps the regex parser here; it is what ``re`` itself compiles with.
    from re import _constants as _sre_c
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover
    import sre_constants as _sre_c  # type: ignore
    import sre_parse as _sre_parse  # type: ignore

from engine import roles
from engine.forms.compile import CompiledForm, compile_form
from engine.forms.messages import FormValidationError
from engine.forms.values import _USCC_CHARS, _USCC_INDEX, _USCC_WEIGHTS
from engine.simulation.distributions import Generator

CHINA_OFFSET = timedelta(hours=8)


class FormDataError(ValueError):
    """The simulator cannot produce valid data for a form: say which task and field, and how to fix."""


def options_for(resources: dict, commissioners: list[str]) -> dict[str, list[dict]]:
    """The ``valuesKey`` option lists the service offers (api/commands.py ``Service.options``), built
    without a database: commissioners come from the settings file."""
    catalogue = (resources.get("catalogue") or {}).get("items") or []
    return {
        "commissioner_options": [{"label": u, "value": u} for u in commissioners],
        "catalogue_options": [{"label": i.get("name", i["code"]), "value": i["code"]} for i in catalogue],
        "department_options": [
            {"label": r.name_zh, "value": r.code}
            for r in roles.ROLES
            if r.department and r.code not in ("applicant", "leading_group_office")
        ],
    }


# ----------------------------------------------------------------------------- regex sampling
_SAMPLES: dict[str, str] = {}


def sample_pattern(pattern: str, rng: random.Random) -> str:
    """A string the (anchored) regex ``pattern`` fully matches; supports what forms use: literals,
    classes, ranges, ``\\d``, groups, alternation and bounded repeats. Deterministic (the first
    character of each class, the fewest repeats), so it is computed once per pattern."""
    hit = _SAMPLES.get(pattern)
    if hit is None:
        hit = _SAMPLES[pattern] = _emit(_sre_parse.parse(pattern, re.ASCII), rng)
    return hit


def _emit(seq, rng) -> str:
    out = []
    for op, arg in seq:
        if op is _sre_c.LITERAL:
            out.append(chr(arg))
        elif op is _sre_c.IN:
            out.append(_pick_class(arg, rng))
        elif op is _sre_c.ANY:
            out.append("x")
        elif op in (_sre_c.MAX_REPEAT, _sre_c.MIN_REPEAT):
            lo, hi, sub = arg
            hi = lo + 3 if hi is _sre_c.MAXREPEAT else hi
            n = lo if lo > 0 else min(hi, 1)
            out.extend(_emit(sub, rng) for _ in range(max(n, lo)))
        elif op is _sre_c.SUBPATTERN:
            out.append(_emit(arg[-1], rng))
        elif op is _sre_c.BRANCH:
            out.append(_emit(arg[1][0], rng))
        elif op is _sre_c.AT:
            continue
        elif op is _sre_c.CATEGORY:
            out.append(_category(arg))
        else:
            raise FormDataError(f"pattern element {op} not supported")
    return "".join(out)


def _category(cat) -> str:
    if cat is _sre_c.CATEGORY_DIGIT:
        return "1"
    if cat is _sre_c.CATEGORY_WORD:
        return "a"
    if cat is _sre_c.CATEGORY_SPACE:
        return " "
    raise FormDataError(f"pattern category {cat} not supported")


def _pick_class(items, rng) -> str:
    if items and items[0][0] is _sre_c.NEGATE:
        raise FormDataError("negated character classes are not supported")
    op, arg = items[0]
    if op is _sre_c.LITERAL:
        return chr(arg)
    if op is _sre_c.RANGE:
        return chr(arg[0])
    if op is _sre_c.CATEGORY:
        return _category(arg)
    raise FormDataError(f"character class element {op} not supported")


def make_uscc(seed: int) -> str:
    """A unified social credit code with a correct check character."""
    body = "91370800" + f"{seed % 10**9:09d}"
    body = "".join(c if c in _USCC_INDEX else "0" for c in body)
    check = 31 - sum(_USCC_INDEX[c] * w for c, w in zip(body, _USCC_WEIGHTS)) % 31
    return body + _USCC_CHARS[0 if check == 31 else check]


# ----------------------------------------------------------------------------- form filling
class FormFiller:
    """Fills one form; built once per (task, form) and reused for every simulated case."""

    def __init__(
        self,
        activity_id: str,
        form: dict,
        generators: dict[str, Generator],
        options: dict[str, list[dict]],
        validate: bool = True,
    ):
        self.activity_id = activity_id
        self.compiled: CompiledForm = compile_form(form)
        self.generators = generators
        self.options = options
        self.validate = validate
        self._valid: dict[str, dict] = {}
        unknown = (
            set(generators)
            - {f.path for f in self.compiled.fields}
            - {f.path.split(".")[0] for f in self.compiled.fields}
        )
        if unknown:
            raise FormDataError(
                f"settings: fields.{activity_id}: {', '.join(sorted(unknown))} "
                f"不在表单中 / not fields of the task's form"
            )
        # which fields each pass of fill() looks at, sorted once here rather than per case
        editable = [f for f in self.compiled.fields if not f.readonly]
        self._top = [f for f in editable if ".*." not in f.path]
        self._when = [f for f in self._top if f.required_when and f.type != "dynamiclist"]
        self._rows_fields = [f for f in self.compiled.fields if ".*." in f.path]

    def fill(self, rng: random.Random, now: datetime, case_no: int, case_data: dict) -> dict:
        data: dict[str, Any] = {}
        lists: dict[str, list] = {}
        for f in self._top:
            if f.type == "dynamiclist":
                if f.required:
                    lists[f.path] = [{} for _ in range(self._rows(f.path))]
                continue
            if f.path in self.generators:
                _put(data, f.path, self.generators[f.path].value(rng, case_data))
            elif f.required:
                _put(data, f.path, self._default(f, rng, now, case_no))
        for f in self._when:  # requiredWhen reads values filled above (a list's: _list_needed)
            if _has(data, f.path):
                continue
            name, _, literal = f.required_when.partition("=")
            if _matches(_get(data, name.strip(), f.path), literal.strip()):
                _put(data, f.path, self._default(f, rng, now, case_no))
        for f in self._rows_fields:  # dynamic lists: one row when they must have rows
            head, _, leaf = f.path.partition(".*.")
            if head in data and not isinstance(data[head], list):
                continue
            if head not in lists and not self._list_needed(head, data):
                continue
            rows = lists.setdefault(head, [{} for _ in range(self._rows(head))])
            if f.required or f.path in self.generators:
                for row in rows:
                    value = (
                        self.generators[f.path].value(rng, case_data)
                        if f.path in self.generators
                        else self._default(f, rng, now, case_no)
                    )
                    _put(row, leaf, value)
        data.update({k: v for k, v in lists.items() if k not in data})
        # The service's validator on every new combination of values (a generator draws from a
        # few values, the date changes daily): the same data is not validated twice.
        sig = repr(sorted(data.items()))
        hit = self._valid.get(sig)
        if hit is not None:
            clean, nested = hit
        else:
            if not self.validate and self._valid:
                return data
            try:
                clean = self.compiled.validate(data, self.options)
            except FormValidationError as e:
                raise FormDataError(
                    f"生成的表单数据无效 / generated data for {self.activity_id} is invalid: {e.errors}; "
                    f"give these fields a generator in the settings file (fields.{self.activity_id})"
                ) from None
            nested = any(isinstance(v, (dict, list)) for v in clean.values())
            if len(self._valid) < 10_000:
                self._valid[sig] = (clean, nested)
        # the cached dict is shared by every case that drew the same values: a copy per case, deep
        # only when a value can be changed in place (the engine deep-copies what it stores anyway)
        return copy.deepcopy(clean) if nested else dict(clean)

    def _rows(self, head: str) -> int:
        node = self.compiled._root.children.get(head)
        return max(getattr(node, "min_items", 0) or 0, 1)

    def _list_needed(self, head: str, data: dict) -> bool:
        node = self.compiled._root.children.get(head)
        if node is None or not hasattr(node, "min_items"):
            return False
        if node.min_items > 0:
            return True
        rw = node.required_when
        return rw is not None and _same(data.get(rw[0]), rw[1])

    def _default(self, f, rng: random.Random, now: datetime, case_no: int):
        t = f.type
        if t in ("radio", "select"):
            vals = f.values or [o["value"] for o in self.options.get(f.values_key or "", [])]
            if not vals:
                raise FormDataError(f"{self.activity_id}.{f.path}: 没有可选值 / no options to choose from")
            return vals[0]
        if t in ("checklist", "taglist"):
            vals = f.values or [o["value"] for o in self.options.get(f.values_key or "", [])]
            return list(vals[:1])
        if t == "checkbox":
            return True
        if t == "number":
            leaf = self._leaf(f.path)
            lo = leaf.minimum if leaf is not None and leaf.minimum is not None else 0
            value = max(lo, 1) if leaf is None or leaf.maximum is None else min(max(lo, 1), leaf.maximum)
            return value
        if t == "datetime":
            local = now + CHINA_OFFSET
            sub = getattr(self._leaf(f.path), "subtype", "date")
            if sub == "time":
                return local.strftime("%H:%M")
            if sub == "datetime":
                return now.isoformat()
            return local.date().isoformat()
        leaf = self._leaf(f.path)
        if leaf is not None and leaf.format == "uscc":
            return make_uscc(case_no)
        if leaf is not None and leaf.pattern_text:
            return sample_pattern(leaf.pattern_text, rng)
        if leaf is not None and leaf.validation_type == "phone":
            return "13800000000"
        if leaf is not None and leaf.validation_type == "email":
            return "sim@example.cn"
        text = f"模拟{f.label or f.path}"
        if leaf is not None and leaf.max_length is not None:
            text = text[: leaf.max_length]
        if leaf is not None and leaf.min_length and len(text) < leaf.min_length:
            text = text + "。" * (leaf.min_length - len(text))
        return text

    def _leaf(self, path: str):
        node: Any = self.compiled._root
        for seg in path.split("."):
            if seg == "*":
                node = node.row
                continue
            node = node.children.get(seg) if hasattr(node, "children") else None
            if node is None:
                return None
        return node


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


def _matches(value, literal: str) -> bool:
    from engine.forms.tree import _parse_literal

    return _same(value, _parse_literal(literal))


def _get(data: dict, name: str, path: str):
    if "." in name:
        node: Any = data
        for seg in name.split("."):
            node = node.get(seg) if isinstance(node, dict) else None
        return node
    # a sibling: the field's own parent object
    parent: Any = data
    for seg in path.split(".")[:-1]:
        parent = parent.get(seg, {}) if isinstance(parent, dict) else {}
    return parent.get(name) if isinstance(parent, dict) else None


def _has(data: dict, path: str) -> bool:
    node: Any = data
    for seg in path.split("."):
        if not isinstance(node, dict) or seg not in node:
            return False
        node = node[seg]
    return True


def _put(data: dict, path: str, value) -> None:
    segs = path.split(".")
    for seg in segs[:-1]:
        data = data.setdefault(seg, {})
    data[segs[-1]] = value

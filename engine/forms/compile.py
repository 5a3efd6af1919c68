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

import copy
import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from marshmallow import ValidationError

from engine.forms.fields import _CTX, _build_schema, _flatten
from engine.forms.messages import MAX_ERRORS, NOT_OBJECT, TOO_MANY_ERRORS, FormDefinitionError, FormValidationError
from engine.forms.tree import FieldInfo, _Compiler, _Leaf, _Obj


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
        # one loader per form: marshmallow's load keeps no state on the schema, and building a
        # schema instance copies every field (most of a validation's time)
        self._loader = _build_schema(c.root, self.id or "form", extra_ignored=set(self.values_keys))()

    def validate(self, data: Any, options: dict[str, list[dict]] | None = None) -> dict:
        """Return the cleaned data (only the form's keys) or raise FormValidationError."""
        if not isinstance(data, dict):
            raise FormValidationError({"_root": [NOT_OBJECT]})
        token = _CTX.set((data, options or {}))
        try:
            return self._loader.load(data)
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

"""The restricted expression/script language of uploaded diagrams (docs/MODELING.md,
"Expressions and scripts").

SpiffWorkflow evaluates gateway conditions, script tasks, timer expressions and DMN entries through
``PythonScriptEngine(environment=...)``. Its default environment runs plain ``eval``/``exec``; this
one runs only a whitelisted AST subset:

1. *static check* (``check_source``, also used at deploy time): only allowed node types, no name or
   attribute starting with ``_``, no dangerous names, calls only to whitelisted functions and
   helpers, attributes only as calls of whitelisted methods;
2. *rewrite*: operations whose cost or result size depends on run-time values (``+ - * % ** << |
   ^ &``, slices, ``*x``/``**x`` unpacking, f-string fields, method calls, most builtins) become
   calls of guard functions, and every loop / comprehension step calls a tick; the guards' names
   start with ``_sg_`` so no source can name them;
3. *run* against a namespace whose ``__builtins__`` holds only the allowed functions, with
   per-evaluation limits (steps, wall time, sizes, allocated units, integer digits);
4. *check the result*: only plain data (JSON-like values, dates, decimals, UUIDs) may come out.

Compiled code is cached per (source, mode) in an LRU cache.

Semantics as SpiffWorkflow's TaskDataEnvironment, except: in ``evaluate`` helpers take precedence
over task data of the same name; ``execute`` writes new/rebound variables back to the task data only
when the script succeeds (in-place changes such as ``items.append(x)`` stay, as in Python); a
subscript target of ``x[k] op= y`` is evaluated twice.

Not covered by the limits: single C-level operations on data that already exists (``x in big_list``,
``big == other``, ``max(big)``) are not interrupted; they are bounded by the data's size (at most a
few million items/characters), and the wall-time limit is checked at every loop step, guarded call
and guarded operator between them. Helpers are trusted Python; what they return must be plain data.
"""

from __future__ import annotations

from engine.workflow.scripting.check import check_source
from engine.workflow.scripting.environment import SafeEnvironment
from engine.workflow.scripting.language import (
    ALLOWED_FUNCTIONS,
    ALLOWED_METHODS,
    DEFAULT_HELPER_NAMES,
    DEFAULT_LIMITS,
    DENIED_ATTRIBUTES,
    DENIED_NAMES,
    Limits,
    ScriptLimitExceeded,
    ScriptRefused,
)
from engine.workflow.scripting.script_engine import ScriptEngine

__all__ = [
    "SafeEnvironment",
    "ScriptEngine",
    "ScriptRefused",
    "ScriptLimitExceeded",
    "Limits",
    "check_source",
    "DEFAULT_HELPER_NAMES",
    "DEFAULT_LIMITS",
    "ALLOWED_FUNCTIONS",
    "ALLOWED_METHODS",
    "DENIED_NAMES",
    "DENIED_ATTRIBUTES",
]

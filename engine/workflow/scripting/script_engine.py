"""The script engine handed to SpiffWorkflow: its own, with ``validate`` memoised.

SpiffWorkflow's DMN engine calls ``validate`` (an ``ast.parse``, only to learn whether the text
is a complete expression) for the input and for each rule cell on every decision it takes; the
answer depends on the text alone, so it is computed once per text. Evaluation itself goes through
the restricted environment (environment.py), unchanged.
"""

from __future__ import annotations

import ast
import functools

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine


@functools.lru_cache(maxsize=4096)
def _syntax_error(expression: str) -> tuple | None:
    try:
        ast.parse(expression)
    except SyntaxError as e:
        return (e.msg, (e.filename, e.lineno, e.offset, e.text, e.end_lineno, e.end_offset))
    return None


class ScriptEngine(PythonScriptEngine):
    def validate(self, expression):
        if not isinstance(expression, str):  # ast.parse's own error for anything else
            return super().validate(expression)
        err = _syntax_error(expression)
        if err is not None:
            raise SyntaxError(*err)

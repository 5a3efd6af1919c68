"""The SpiffWorkflow script environment that evaluates diagram expressions with all of the above."""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable

from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.workflow.scripting.check import _parse
from engine.workflow.scripting.guards import _SCALAR_RESULT, _check_data, _Run
from engine.workflow.scripting.language import (
    _SAFE_BUILTINS,
    ALLOWED_FUNCTIONS,
    DEFAULT_LIMITS,
    DENIED_NAMES,
    Limits,
    ScriptRefused,
)
from engine.workflow.scripting.rewrite import _Rewriter


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment running only the restricted subset.

    ``helpers``: trusted Python functions callable by name from expressions and scripts.
    ``data_types``: further types allowed as values in task data / results.
    """

    def __init__(
        self, helpers: dict[str, Callable] | None = None, limits: Limits = DEFAULT_LIMITS, data_types: tuple = ()
    ):
        helpers = dict(helpers or {})
        for name, fn in helpers.items():
            if (
                not isinstance(name, str)
                or not name.isidentifier()
                or name.startswith("_")
                or name in DENIED_NAMES
                or name in ALLOWED_FUNCTIONS
            ):
                raise ValueError(f"invalid helper name {name!r}")
            if not callable(fn):
                raise ValueError(f"helper {name!r} is not callable")
        super().__init__(helpers)
        self.helpers = helpers
        self.limits = limits
        self.data_types = tuple(data_types)
        self._callables = ALLOWED_FUNCTIONS | frozenset(helpers)
        self._compile = functools.lru_cache(maxsize=limits.cache_size)(self._compile_uncached)

    def _compile_uncached(self, source: str, mode: str):
        tree, problems = _parse(source, mode, self._callables, self.limits)
        if problems:
            raise ScriptRefused(problems)
        rw = _Rewriter()
        tree = ast.fix_missing_locations(rw.visit(tree))
        code = compile(tree, "<string>", mode)  # '<string>': SpiffWorkflow looks for it for line numbers
        return code, tuple(sorted(rw.used))

    def check(self, source: str, mode: str) -> list[tuple[int, str]]:
        return _parse(source, mode, self._callables, self.limits)[1]

    def _namespace(self, context, external_context, guards):
        g = dict(context)
        if external_context:
            g.update(external_context)
        g.update(self.helpers)
        g["__builtins__"] = _SAFE_BUILTINS
        if guards:
            run = _Run(self.limits)
            for name in guards:
                g[name] = getattr(run, name)
        return g

    def evaluate(self, expression, context, external_context=None):
        code, guards = self._compile(expression, "eval")
        result = eval(code, self._namespace(context, external_context, guards))
        if type(result) not in _SCALAR_RESULT or (type(result) is str and len(result) > 1000):
            _check_data([result], self.limits, self.data_types)
        return result

    def execute(self, script, context, external_context=None):
        code, guards = self._compile(script, "exec")
        external_context = external_context or {}
        self.check_for_overwrite(context, external_context, guards)
        g = self._namespace(context, external_context, guards)
        exec(code, g)
        injected = {"__builtins__", *self.helpers, *external_context, *guards}
        out = {k: v for k, v in g.items() if k not in injected}
        _check_data(out.values(), self.limits, self.data_types)
        for k in [k for k in context if k not in out]:
            del context[k]  # 'del x' in the script
        context.update(out)
        return True

    def check_for_overwrite(self, context, external_context, guards=()):
        clash = (set(self.helpers) | set(external_context) | set(guards)).intersection(context)
        if clash:
            raise ValueError(
                "You have task data that overwrites a predefined function(s). Please change the "
                f"following variable or field name(s) to something else: {sorted(clash)}"
            )

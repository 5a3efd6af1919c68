"""The language: what diagram expressions may use, the errors, and the limits."""

from __future__ import annotations

import ast
import builtins
import functools
import math
from dataclasses import dataclass


class ScriptRefused(ValueError):
    """The source uses a construct outside the allowed subset (found before running anything)."""

    def __init__(self, problems: list[tuple[int, str]]):
        self.problems = list(problems)
        super().__init__("; ".join(f"line {line}: {msg}" for line, msg in self.problems))


class ScriptLimitExceeded(RuntimeError):
    """A run-time limit (steps, time, size, digits) was reached."""


ALLOWED_FUNCTIONS = frozenset("len min max sum any all sorted abs round str int float bool list dict set range".split())
ALLOWED_METHODS = frozenset(
    (
        "get keys values items append extend upper lower strip split join replace startswith endswith "
        "count index isoformat"
    ).split()
)
DENIED_NAMES = frozenset(
    (
        "exec eval open getattr setattr delattr compile globals locals vars __import__ input breakpoint "
        "help type object super memoryview"
    ).split()
)
DENIED_ATTRIBUTES = frozenset({"format", "format_map", "mro"})
# The helpers the engine gives every process (engine/runtime.py): what check_source accepts when
# it is not told otherwise.
DEFAULT_HELPER_NAMES = frozenset(
    {"now", "days_after", "hours_after", "workdays_after", "end_of_day", "catalogue_item", "setting"}
)

# Builtins called directly (constant-time or bounded by their argument); the rest get a guard.
_DIRECT_BUILTINS = {n: getattr(builtins, n) for n in ("len", "abs", "float", "bool")}
_GUARDED_BUILTINS = ALLOWED_FUNCTIONS - _DIRECT_BUILTINS.keys()
_SAFE_BUILTINS = dict(_DIRECT_BUILTINS)

_STMTS = (ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Pass, ast.Expr, ast.Break, ast.Continue, ast.Delete)
_EXPRS = (
    ast.Constant,
    ast.Name,
    ast.Subscript,
    ast.Slice,
    ast.Compare,
    ast.BoolOp,
    ast.UnaryOp,
    ast.BinOp,
    ast.IfExp,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.Call,
    ast.Attribute,
    ast.Starred,
    ast.keyword,
    ast.expr_context,
    ast.boolop,
    ast.unaryop,
    ast.cmpop,
    ast.operator,
)
_REFUSED_WHY = {
    ast.Import: "import is not allowed",
    ast.ImportFrom: "import is not allowed",
    ast.FunctionDef: "def is not allowed",
    ast.AsyncFunctionDef: "def is not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.ClassDef: "class is not allowed",
    ast.While: "while loops are not allowed (use 'for' over a bounded range)",
    ast.Try: "try is not allowed",
    ast.With: "with is not allowed",
    ast.AsyncWith: "with is not allowed",
    ast.Global: "global is not allowed",
    ast.Nonlocal: "nonlocal is not allowed",
    ast.Raise: "raise is not allowed",
    ast.Assert: "assert is not allowed",
    ast.Return: "return is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Await: "await is not allowed",
    ast.NamedExpr: "':=' is not allowed",
    ast.Match: "match is not allowed",
    ast.AnnAssign: "annotated assignment is not allowed",
    ast.AsyncFor: "async for is not allowed",
    ast.MatMult: "'@' is not allowed",
}
if hasattr(ast, "TryStar"):
    _REFUSED_WHY[ast.TryStar] = "try is not allowed"


@dataclass(frozen=True)
class Limits:
    max_steps: int = 100_000  # loop / comprehension iterations per evaluation
    max_seconds: float = 1.0  # wall time per evaluation, checked at ticks and guards
    max_range: int = 1_000_000  # len(range(...))
    max_sequence: int = 1_000_000  # chars / items of one str, list, tuple, set, dict produced
    max_alloc: int = 5_000_000  # chars / items produced by guarded operations per evaluation
    max_int_digits: int = 4_300  # decimal digits of an int produced by + - * ** <<
    max_data: int = 2_000_000  # size units of values a script leaves / an expression returns
    max_depth: int = 100  # nesting of those values
    max_source: int = 20_000  # characters of source
    cache_size: int = 4_096  # compiled sources kept

    @property
    def max_bits(self) -> int:
        return _max_bits(self)


@functools.lru_cache(maxsize=64)
def _max_bits(limits: Limits) -> int:
    return int(limits.max_int_digits * math.log2(10)) + 1


DEFAULT_LIMITS = Limits()

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

import ast
import builtins
import copy
import datetime as _dt
import decimal
import functools
import math
import operator
import time
import uuid
from dataclasses import dataclass
from typing import Callable

from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

__all__ = ["SafeEnvironment", "ScriptRefused", "ScriptLimitExceeded", "Limits", "check_source",
           "DEFAULT_HELPER_NAMES", "ALLOWED_FUNCTIONS", "ALLOWED_METHODS"]


class ScriptRefused(ValueError):
    """The source uses a construct outside the allowed subset (found before running anything)."""

    def __init__(self, problems: list[tuple[int, str]]):
        self.problems = list(problems)
        super().__init__("; ".join(f"line {line}: {msg}" for line, msg in self.problems))


class ScriptLimitExceeded(RuntimeError):
    """A run-time limit (steps, time, size, digits) was reached."""


# --------------------------------------------------------------------------- the language
ALLOWED_FUNCTIONS = frozenset(
    "len min max sum any all sorted abs round str int float bool list dict set range".split())
ALLOWED_METHODS = frozenset(
    ("get keys values items append extend upper lower strip split join replace startswith endswith "
     "count index isoformat").split())
DENIED_NAMES = frozenset(
    ("exec eval open getattr setattr delattr compile globals locals vars __import__ input breakpoint "
     "help type object super memoryview").split())
DENIED_ATTRIBUTES = frozenset({"format", "format_map", "mro"})
# The helpers the engine gives every process (engine/runtime.py): what check_source accepts when
# it is not told otherwise.
DEFAULT_HELPER_NAMES = frozenset(
    {"now", "days_after", "hours_after", "workdays_after", "end_of_day", "catalogue_item", "setting"})

# Builtins called directly (constant-time or bounded by their argument); the rest get a guard.
_DIRECT_BUILTINS = {n: getattr(builtins, n) for n in ("len", "abs", "float", "bool")}
_GUARDED_BUILTINS = ALLOWED_FUNCTIONS - _DIRECT_BUILTINS.keys()
_SAFE_BUILTINS = dict(_DIRECT_BUILTINS)

_STMTS = (ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Pass, ast.Expr, ast.Break, ast.Continue,
          ast.Delete)
_EXPRS = (ast.Constant, ast.Name, ast.Subscript, ast.Slice, ast.Compare, ast.BoolOp, ast.UnaryOp,
          ast.BinOp, ast.IfExp, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.ListComp, ast.SetComp,
          ast.DictComp, ast.GeneratorExp, ast.comprehension, ast.JoinedStr, ast.FormattedValue,
          ast.Call, ast.Attribute, ast.Starred, ast.keyword,
          ast.expr_context, ast.boolop, ast.unaryop, ast.cmpop, ast.operator)
_REFUSED_WHY = {
    ast.Import: "import is not allowed", ast.ImportFrom: "import is not allowed",
    ast.FunctionDef: "def is not allowed", ast.AsyncFunctionDef: "def is not allowed",
    ast.Lambda: "lambda is not allowed", ast.ClassDef: "class is not allowed",
    ast.While: "while loops are not allowed (use 'for' over a bounded range)",
    ast.Try: "try is not allowed", ast.With: "with is not allowed", ast.AsyncWith: "with is not allowed",
    ast.Global: "global is not allowed", ast.Nonlocal: "nonlocal is not allowed",
    ast.Raise: "raise is not allowed", ast.Assert: "assert is not allowed",
    ast.Return: "return is not allowed", ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed", ast.Await: "await is not allowed",
    ast.NamedExpr: "':=' is not allowed", ast.Match: "match is not allowed",
    ast.AnnAssign: "annotated assignment is not allowed", ast.AsyncFor: "async for is not allowed",
    ast.MatMult: "'@' is not allowed",
}
if hasattr(ast, "TryStar"):
    _REFUSED_WHY[ast.TryStar] = "try is not allowed"


@dataclass(frozen=True)
class Limits:
    max_steps: int = 100_000          # loop / comprehension iterations per evaluation
    max_seconds: float = 1.0          # wall time per evaluation, checked at ticks and guards
    max_range: int = 1_000_000        # len(range(...))
    max_sequence: int = 1_000_000     # chars / items of one str, list, tuple, set, dict produced
    max_alloc: int = 5_000_000        # chars / items produced by guarded operations per evaluation
    max_int_digits: int = 4_300       # decimal digits of an int produced by + - * ** <<
    max_data: int = 2_000_000         # size units of values a script leaves / an expression returns
    max_depth: int = 100              # nesting of those values
    max_source: int = 20_000          # characters of source
    cache_size: int = 4_096           # compiled sources kept

    @property
    def max_bits(self) -> int:
        return _max_bits(self)


@functools.lru_cache(maxsize=64)
def _max_bits(limits: Limits) -> int:
    return int(limits.max_int_digits * math.log2(10)) + 1


DEFAULT_LIMITS = Limits()


# --------------------------------------------------------------------------- static check
def _spec_ok(spec: str) -> bool:
    """A constant f-string format spec: short and with no width/precision beyond 3 digits."""
    if len(spec) > 30:
        return False
    run = 0
    for ch in spec:
        run = run + 1 if ch.isdigit() else 0
        if run > 3:
            return False
    return True


class _Checker:
    def __init__(self, mode: str, callables: frozenset, limits: Limits):
        self.mode = mode
        self.callables = callables
        self.limits = limits
        self.problems: list[tuple[int, str]] = []
        self.call_funcs: set[int] = set()

    def bad(self, node, msg: str) -> None:
        self.problems.append((getattr(node, "lineno", None) or 1, msg))

    def run(self, tree: ast.AST) -> None:
        body = [tree.body] if isinstance(tree, ast.Expression) else tree.body
        stack = list(reversed(body))
        while stack:   # iterative: deep trees must not exhaust the C stack
            node = stack.pop()
            if self.visit(node):
                stack.extend(reversed(list(ast.iter_child_nodes(node))))

    def visit(self, node: ast.AST) -> bool:
        """Check one node; return whether to descend into its children."""
        t = type(node)
        if t in _REFUSED_WHY:
            self.bad(node, _REFUSED_WHY[t])
            return False
        if isinstance(node, ast.stmt):
            if self.mode != "exec" or not isinstance(node, _STMTS):
                self.bad(node, f"{t.__name__} statement is not allowed")
                return False
        elif not isinstance(node, _EXPRS):
            self.bad(node, f"{t.__name__} is not allowed")
            return False
        m = getattr(self, "v_" + t.__name__, None)
        return True if m is None else m(node)

    # names and attributes
    def _name_ok(self, node, name: str) -> bool:
        if name.startswith("_"):
            self.bad(node, f"name '{name}' is not allowed (names may not start with '_')")
            return False
        if name in DENIED_NAMES:
            self.bad(node, f"name '{name}' is not allowed")
            return False
        return True

    def v_Name(self, node: ast.Name) -> bool:
        if not self._name_ok(node, node.id):
            return False
        if node.id in self.callables:
            if not isinstance(node.ctx, ast.Load):
                self.bad(node, f"'{node.id}' is a function and cannot be assigned or deleted")
            elif id(node) not in self.call_funcs:
                self.bad(node, f"function '{node.id}' can only be called, not used as a value")
        return False

    def v_Attribute(self, node: ast.Attribute) -> bool:
        a = node.attr
        if a.startswith("_"):
            self.bad(node, f"attribute '{a}' is not allowed (names may not start with '_')")
        elif a in DENIED_ATTRIBUTES or a not in ALLOWED_METHODS:
            self.bad(node, f"attribute '.{a}' is not allowed")
        elif not isinstance(node.ctx, ast.Load):
            self.bad(node, f"assigning or deleting attribute '.{a}' is not allowed")
        elif id(node) not in self.call_funcs:
            self.bad(node, f"method '.{a}' can only be called, not used as a value")
        return True

    def v_Call(self, node: ast.Call) -> bool:
        f = node.func
        if isinstance(f, ast.Name):
            if f.id not in self.callables and self._name_ok(f, f.id):
                self.bad(node, f"call of '{f.id}' is not allowed")
        elif not isinstance(f, ast.Attribute):
            self.bad(node, "only calls of allowed functions and methods are allowed")
        self.call_funcs.add(id(f))
        return True

    # values and structure
    def v_Constant(self, node: ast.Constant) -> bool:
        v = node.value
        if isinstance(v, int) and v.bit_length() > self.limits.max_bits:
            self.bad(node, "integer literal is too large")
        return False

    def v_FormattedValue(self, node: ast.FormattedValue) -> bool:
        spec = node.format_spec
        if spec is not None:
            parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
            if not all(isinstance(p, ast.Constant) and isinstance(p.value, str) for p in parts):
                self.bad(node, "f-string format spec must be constant")
                return False
            if not _spec_ok("".join(p.value for p in parts)):
                self.bad(node, "f-string format spec is too long or too wide")
                return False
        return True

    def v_comprehension(self, node: ast.comprehension) -> bool:
        if node.is_async:
            self.bad(node.target, "async comprehensions are not allowed")
            return False
        self._targets(node.target)
        return True

    def v_Subscript(self, node: ast.Subscript) -> bool:
        if not isinstance(node.ctx, ast.Load) and isinstance(node.slice, ast.Slice):
            self.bad(node, "assigning or deleting a slice is not allowed")
            return False
        return True

    def _targets(self, t) -> bool:
        if isinstance(t, (ast.Tuple, ast.List)):
            return all([self._targets(e) for e in t.elts])
        if isinstance(t, ast.Starred):
            return self._targets(t.value)
        if isinstance(t, (ast.Name, ast.Subscript)):
            return True
        self.bad(t, f"cannot assign to {type(t).__name__}")
        return False

    def v_Assign(self, node: ast.Assign) -> bool:
        all([self._targets(t) for t in node.targets])
        return True

    def v_AugAssign(self, node: ast.AugAssign) -> bool:
        if isinstance(node.op, ast.MatMult):
            self.bad(node, "'@' is not allowed")
            return False
        self._targets(node.target)
        return True

    def v_For(self, node: ast.For) -> bool:
        self._targets(node.target)
        return True

    def v_Delete(self, node: ast.Delete) -> bool:
        all([self._targets(t) for t in node.targets])
        return True


def _parse(source: str, mode: str, callables: frozenset, limits: Limits):
    """Parse and check; return (tree, problems)."""
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    if not isinstance(source, str):
        return None, [(1, f"source must be a string, not {type(source).__name__}")]
    if len(source) > limits.max_source:
        return None, [(1, f"source is longer than {limits.max_source} characters")]
    try:
        if mode == "eval":   # like eval(): surrounding whitespace (XML text) is fine
            stripped = source.strip()
            source = "\n" * source[:len(source) - len(source.lstrip())].count("\n") + stripped
        tree = ast.parse(source, "<string>", mode)
    except SyntaxError as e:
        return None, [(e.lineno or 1, f"syntax error: {e.msg}")]
    except (ValueError, RecursionError, MemoryError) as e:
        return None, [(1, f"cannot parse: {type(e).__name__}: {e}")]
    checker = _Checker(mode, callables, limits)
    try:
        checker.run(tree)
    except RecursionError:
        return None, [(1, "expression is too deeply nested")]
    problems = sorted(set(checker.problems))
    return tree, problems


def check_source(source: str, mode: str, helpers=None, limits: Limits = DEFAULT_LIMITS
                 ) -> list[tuple[int, str]]:
    """Static validation (deploy time). ``mode`` is "eval" (expressions) or "exec" (scripts);
    ``helpers`` the helper names callable besides the builtins (default: the engine's helpers).
    Returns (line, message) problems, empty when the source is acceptable."""
    names = DEFAULT_HELPER_NAMES if helpers is None else frozenset(helpers)
    _, problems = _parse(source, mode, ALLOWED_FUNCTIONS | names, limits)
    return problems


# --------------------------------------------------------------------------- rewrite
_GUARDED_OPS = {ast.Add: "_sg_add", ast.Sub: "_sg_sub", ast.Mult: "_sg_mul", ast.Mod: "_sg_mod",
                ast.Pow: "_sg_pow", ast.LShift: "_sg_lshift", ast.BitOr: "_sg_or",
                ast.BitXor: "_sg_xor", ast.BitAnd: "_sg_and"}


class _Rewriter(ast.NodeTransformer):
    def __init__(self):
        self.used: set[str] = set()

    def _call(self, name: str, args: list, node, keywords=()) -> ast.Call:
        self.used.add(name)
        return ast.copy_location(
            ast.Call(func=ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node),
                     args=args, keywords=list(keywords)), node)

    def visit_BinOp(self, node):
        self.generic_visit(node)
        g = _GUARDED_OPS.get(type(node.op))
        return self._call(g, [node.left, node.right], node) if g else node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        g = _GUARDED_OPS.get(type(node.op))
        if not g:
            return node
        # x op= y  ->  x = guard(x, y)   (the guard does the in-place op, so lists stay shared;
        # a subscript target's container and key expressions are evaluated twice)
        g = "_sg_i" + g[len("_sg_"):]
        value = self._call(g, [_as_load(node.target), node.value], node)
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)

    def visit_Call(self, node):
        self.generic_visit(node)
        for kw in node.keywords:
            if kw.arg is None:
                kw.value = self._call("_sg_star", [kw.value], kw.value)
        f = node.func
        if isinstance(f, ast.Name) and f.id in _GUARDED_BUILTINS:
            node.func = ast.copy_location(ast.Name(id="_sg_b_" + f.id, ctx=ast.Load()), f)
            self.used.add(node.func.id)
        elif isinstance(f, ast.Attribute):
            return self._call("_sg_meth", [f.value, ast.Constant(f.attr), *node.args], node, node.keywords)
        return node

    def visit_Starred(self, node):
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.value = self._call("_sg_star", [node.value], node.value)
        return node

    def visit_Dict(self, node):
        self.generic_visit(node)
        node.values = [self._call("_sg_star", [v], v) if k is None else v
                       for k, v in zip(node.keys, node.values)]
        return node

    def visit_Subscript(self, node):
        self.generic_visit(node)
        s = node.slice
        if isinstance(node.ctx, ast.Load) and isinstance(s, ast.Slice):
            none = ast.Constant(None)
            return self._call("_sg_slice", [node.value, s.lower or none, s.upper or none, s.step or none], node)
        return node

    def visit_FormattedValue(self, node):
        self.generic_visit(node)
        node.value = self._call("_sg_fmt", [node.value], node.value)
        return node

    def visit_For(self, node):
        self.generic_visit(node)
        node.body.insert(0, ast.copy_location(ast.Expr(self._call("_sg_tick", [], node)), node))
        return node

    def visit_comprehension(self, node):
        self.generic_visit(node)
        node.ifs.insert(0, self._call("_sg_tick", [], node.target))
        return node


def _as_load(t):
    t = copy.deepcopy(t)
    for n in ast.walk(t):
        if hasattr(n, "ctx"):
            n.ctx = ast.Load()
    return t


# --------------------------------------------------------------------------- run-time guards
_NUM = (int, float, complex)
_SEQ = (str, bytes, list, tuple)
_COLL = (set, frozenset, dict)
_COPYING_METHODS = frozenset({"upper", "lower", "strip", "split"})
_PLAIN_METHODS = frozenset({"get", "keys", "values", "items", "append", "startswith", "endswith", "count",
                            "index", "isoformat"})


def _too(what: str) -> ScriptLimitExceeded:
    return ScriptLimitExceeded(f"script limit exceeded: {what}")


def _checked_format(fmt) -> None:
    """Refuse printf-style specs with '*' or a width/precision beyond 3 digits."""
    s = fmt.decode("latin-1") if isinstance(fmt, bytes) else fmt
    i, n = 0, len(s)
    while True:
        i = s.find("%", i)
        if i < 0 or i + 1 >= n:
            return
        i += 1
        if s[i] == "(":          # mapping key, parentheses nest as in CPython
            depth, i = 1, i + 1
            while i < n and depth:
                depth += {"(": 1, ")": -1}.get(s[i], 0)
                i += 1
        while i < n and s[i] in "#0- +":
            i += 1
        for part in (0, 1):
            if part and (i >= n or s[i] != "."):
                break
            if part:
                i += 1
            j = i
            while i < n and (s[i].isdigit() or s[i] == "*"):
                i += 1
            field = s[j:i]
            if "*" in field or len(field) > 3:
                raise _too("a '%' format width or precision above 999 (or '*')")
        i += 1


class _Run:
    """The state of one evaluation; guards are its methods, bound into the namespace."""

    __slots__ = ("steps", "alloc", "deadline", "L", "max_steps", "max_bits", "max_seq", "max_alloc")

    def __init__(self, limits: Limits):
        self.L = limits
        self.steps = 0
        self.alloc = 0
        self.max_steps = limits.max_steps
        self.max_bits = _max_bits(limits)
        self.max_seq = limits.max_sequence
        self.max_alloc = limits.max_alloc
        self.deadline = time.monotonic() + limits.max_seconds

    # --- bookkeeping
    def _sg_tick(self):
        self.steps += 1
        if self.steps > self.max_steps:
            raise _too(f"more than {self.max_steps} loop steps")
        if time.monotonic() > self.deadline:
            raise _too(f"ran longer than {self.L.max_seconds} s")
        return True

    def _clock(self):
        if time.monotonic() > self.deadline:
            raise _too(f"ran longer than {self.L.max_seconds} s")

    def _size(self, n: int, weight: int = 1) -> None:
        """Account a produced str/list/… of n chars or items (weight: a set or dict entry costs
        several list slots)."""
        if n > self.max_seq:
            raise _too(f"a result of more than {self.max_seq} items or characters")
        self.alloc += n * weight
        if self.alloc > self.max_alloc:
            raise _too(f"more than {self.max_alloc} items or characters produced")
        if time.monotonic() > self.deadline:
            raise _too(f"ran longer than {self.L.max_seconds} s")

    def _bits(self, b: int) -> None:
        if b > self.max_bits:
            raise _too(f"an integer of more than {self.L.max_int_digits} digits")

    # --- operators: check the operands' sizes first, then compute
    def _ck_add(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            if a.bit_length() >= self.max_bits or b.bit_length() >= self.max_bits:
                self._bits(max(a.bit_length(), b.bit_length()) + 1)
        elif isinstance(a, _SEQ) and isinstance(b, _SEQ):
            self._size(len(a) + len(b))

    def _ck_sub(self, a, b):
        if isinstance(a, _COLL):
            self._size(len(a), 4)
        else:
            self._ck_add(a, b)

    def _ck_mul(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            self._bits(a.bit_length() + b.bit_length())
        elif isinstance(a, _SEQ) and isinstance(b, int):
            self._size(len(a) * max(b, 0))
        elif isinstance(b, _SEQ) and isinstance(a, int):
            self._size(len(b) * max(a, 0))

    def _ck_pow(self, a, b):
        if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
            self._bits(b if b > self.max_bits else math.ceil(b * math.log2(abs(a))))

    def _ck_lshift(self, a, b):
        if isinstance(a, int) and isinstance(b, int) and a and b > 0:
            self._bits(a.bit_length() + b if b <= self.max_bits else b)

    def _ck_mod(self, a, b):
        if isinstance(a, (str, bytes)):
            _checked_format(a)
            self._size(len(a) + _text_size(b, self.max_seq))

    def _ck_or(self, a, b):
        if isinstance(a, _COLL) and isinstance(b, _COLL):
            self._size(len(a) + len(b), 4)
        elif isinstance(a, _COLL):
            self._size(len(a), 4)

    _ck_xor = _ck_or
    _ck_and = _ck_or

    def _sg_add(self, a, b):
        self._ck_add(a, b)
        return a + b

    def _sg_sub(self, a, b):
        self._ck_sub(a, b)
        return a - b

    def _sg_mul(self, a, b):
        self._ck_mul(a, b)
        return a * b

    def _sg_pow(self, a, b):
        self._ck_pow(a, b)
        return a ** b

    def _sg_lshift(self, a, b):
        self._ck_lshift(a, b)
        return a << b

    def _sg_mod(self, a, b):
        self._ck_mod(a, b)
        return a % b

    def _sg_or(self, a, b):
        self._ck_or(a, b)
        return a | b

    def _sg_xor(self, a, b):
        self._ck_xor(a, b)
        return a ^ b

    def _sg_and(self, a, b):
        self._ck_and(a, b)
        return a & b

    # in-place forms for 'x op= y' (lists, sets and dicts stay the same object, as in Python)
    def _sg_iadd(self, a, b):
        self._ck_add(a, b)
        return operator.iadd(a, b)

    def _sg_isub(self, a, b):
        self._ck_sub(a, b)
        return operator.isub(a, b)

    def _sg_imul(self, a, b):
        self._ck_mul(a, b)
        return operator.imul(a, b)

    def _sg_ipow(self, a, b):
        self._ck_pow(a, b)
        return operator.ipow(a, b)

    def _sg_ilshift(self, a, b):
        self._ck_lshift(a, b)
        return operator.ilshift(a, b)

    def _sg_imod(self, a, b):
        self._ck_mod(a, b)
        return operator.imod(a, b)

    def _sg_ior(self, a, b):
        self._ck_or(a, b)
        return operator.ior(a, b)

    def _sg_ixor(self, a, b):
        self._ck_xor(a, b)
        return operator.ixor(a, b)

    def _sg_iand(self, a, b):
        self._ck_and(a, b)
        return operator.iand(a, b)

    # --- other expressions
    def _sg_slice(self, obj, lo, hi, step):
        r = obj[lo:hi:step]
        if isinstance(r, (str, bytes, list, tuple)):
            self._size(len(r))
        return r

    def _sg_star(self, x):
        try:
            n = len(x)
        except TypeError:
            return x          # an iterator: generator expressions tick as they go
        self._size(n, 4 if isinstance(x, _COLL) else 1)
        return x

    def _sg_fmt(self, v):
        if type(v) is str:
            self._size(len(v))
        else:
            self._size(_text_size(v, self.max_seq))
        return v

    def _sg_meth(self, obj, name, /, *args, **kw):
        if time.monotonic() > self.deadline:
            raise _too(f"ran longer than {self.L.max_seconds} s")
        if name in _PLAIN_METHODS:        # no copy, no growth beyond one item
            return getattr(obj, name)(*args, **kw)
        if name not in ALLOWED_METHODS:   # checked statically too
            raise ScriptRefused([(0, f"method '.{name}' is not allowed")])
        if isinstance(obj, (str, bytes)):
            if name == "join" and args:
                items = args[0] if isinstance(args[0], (list, tuple)) else self._sg_b_list(args[0])
                total = max(len(items) - 1, 0) * len(obj)
                if total <= self.max_seq:
                    try:
                        total += sum(map(len, items))
                    except TypeError:
                        pass                 # not strings: join raises its own error
                self._size(total)
                return obj.join(items, *args[1:], **kw)
            if name == "replace" and len(args) >= 2:
                old, new = args[0], args[1]
                count = args[2] if len(args) > 2 else kw.get("count", -1)
                if isinstance(old, (str, bytes)) and isinstance(new, (str, bytes)):
                    hits = obj.count(old) if old else len(obj) + 1
                    if isinstance(count, int) and count >= 0:
                        hits = min(hits, count)
                    self._size(len(obj) + hits * max(len(new) - len(old), 0))
            elif name in _COPYING_METHODS:
                self._size(len(obj))
        elif name == "extend" and isinstance(obj, list) and args:
            items = args[0]
            if not hasattr(items, "__len__"):
                items = self._sg_b_list(items)
            if len(obj) + len(items) > self.max_seq:
                raise _too(f"a list of more than {self.max_seq} items")
            self._size(len(items))
            return obj.extend(items)
        return getattr(obj, name)(*args, **kw)

    # --- builtins that need a guard
    def _sg_b_range(self, *args):
        self._clock()
        r = range(*args)
        try:
            n = len(r)
        except OverflowError:
            n = self.L.max_range + 1
        if n > self.L.max_range:
            raise _too(f"a range of more than {self.L.max_range} numbers")
        return r

    def _sg_b_str(self, *args, **kw):
        if len(args) == 1 and not kw:
            v = args[0]
            self._size(len(v) if type(v) is str else _text_size(v, self.max_seq))
        r = str(*args, **kw)
        if len(args) != 1 or kw:
            self._size(len(r))
        return r

    def _sg_b_round(self, number, ndigits=None):
        # round(int, -n) computes 10**n first
        if isinstance(ndigits, int) and abs(ndigits) > self.L.max_int_digits:
            raise _too(f"round() to more than {self.L.max_int_digits} digits")
        return round(number, ndigits)

    def _sg_b_int(self, *args, **kw):
        if args and isinstance(args[0], (str, bytes)) and len(args[0]) > self.L.max_int_digits + 50:
            raise _too(f"an integer of more than {self.L.max_int_digits} digits")
        return int(*args, **kw)

    def _collect(self, fn, args, kw, weight=1):
        self._clock()
        if args:
            try:
                n = len(args[0])
            except TypeError:
                n = 0
            if n > self.max_seq:
                raise _too(f"a result of more than {self.max_seq} items")
        r = fn(*args, **kw)
        self._size(len(r), weight)
        return r

    def _sg_b_list(self, *args, **kw):
        return self._collect(list, args, kw)

    def _sg_b_set(self, *args, **kw):
        return self._collect(set, args, kw, 4)

    def _sg_b_dict(self, *args, **kw):
        return self._collect(dict, args, kw, 4)

    def _sg_b_sorted(self, *args, **kw):
        return self._collect(sorted, args, kw)

    def _sg_b_sum(self, iterable, /, start=0):
        self._clock()
        if isinstance(start, _NUM):
            r = sum(iterable, start)
            if isinstance(r, int):
                self._bits(r.bit_length())
            return r
        acc = start            # sum(lists, []) and the like: a bounded concatenation
        for x in iterable:
            self._sg_tick()
            acc = self._sg_add(acc, x)
        return acc

    def _sg_b_min(self, *args, **kw):
        self._clock()
        return min(*args, **kw)

    def _sg_b_max(self, *args, **kw):
        self._clock()
        return max(*args, **kw)

    def _sg_b_any(self, it):
        self._clock()
        return any(it)

    def _sg_b_all(self, it):
        self._clock()
        return all(it)


def _text_size(v, limit: int) -> int:
    """An upper-ish estimate of len(str(v)) / len(repr(v)), stopping early past ``limit``."""
    total = 0
    stack = [v]
    while stack:
        x = stack.pop()
        t = type(x)
        if t is str or t is bytes:
            total += len(x) * (1 if t is str else 4) + 3
        elif t is int:
            total += x.bit_length() // 3 + 2
        elif t is float or t is bool or x is None or t is complex:
            total += 50
        elif isinstance(x, dict):
            total += 2 + 4 * len(x)
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, (list, tuple, set, frozenset)):
            total += 2 + 2 * len(x)
            stack.extend(x)
        else:
            total += 100
        if total > limit:
            raise _too(f"text of more than {limit} characters")
    return total


# --------------------------------------------------------------------------- result check
_DATA_SCALARS = (type(None), bool, int, float, str, bytes, _dt.date, _dt.time, _dt.timedelta,
                 decimal.Decimal, uuid.UUID)


def _check_data(values, limits: Limits, extra_types: tuple) -> None:
    """Only plain data may be left in task data or returned: no functions, generators, views,
    ranges, …; bounded size (aliases counted each time, so cycles are refused) and depth."""
    units = 0
    stack = [(v, 0) for v in values]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (str, bytes)):
            units += len(v) + 1
        elif isinstance(v, dict):
            units += 1 + len(v)
            if v:
                if depth >= limits.max_depth:
                    raise _too(f"data nested deeper than {limits.max_depth}")
                stack.extend((x, depth + 1) for x in v.keys())
                stack.extend((x, depth + 1) for x in v.values())
        elif isinstance(v, (list, tuple, set, frozenset)):
            units += 1 + len(v)
            if v:
                if depth >= limits.max_depth:
                    raise _too(f"data nested deeper than {limits.max_depth}")
                stack.extend((x, depth + 1) for x in v)
        elif isinstance(v, _DATA_SCALARS) or (extra_types and isinstance(v, extra_types)):
            units += 1
        else:
            raise TypeError(f"a script may only produce plain data, not a value of type "
                            f"'{type(v).__name__}'")
        if units > limits.max_data:
            raise _too(f"data larger than {limits.max_data} units (or cyclic)")


_SCALAR_RESULT = frozenset({bool, int, float, str, type(None)})


# --------------------------------------------------------------------------- the environment
class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment running only the restricted subset.

    ``helpers``: trusted Python functions callable by name from expressions and scripts.
    ``data_types``: further types allowed as values in task data / results.
    """

    def __init__(self, helpers: dict[str, Callable] | None = None, limits: Limits = DEFAULT_LIMITS,
                 data_types: tuple = ()):
        helpers = dict(helpers or {})
        for name, fn in helpers.items():
            if (not isinstance(name, str) or not name.isidentifier() or name.startswith("_")
                    or name in DENIED_NAMES or name in ALLOWED_FUNCTIONS):
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
        code = compile(tree, "<string>", mode)   # '<string>': SpiffWorkflow looks for it for line numbers
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
            del context[k]       # 'del x' in the script
        context.update(out)
        return True

    def check_for_overwrite(self, context, external_context, guards=()):
        clash = (set(self.helpers) | set(external_context) | set(guards)).intersection(context)
        if clash:
            raise ValueError(
                "You have task data that overwrites a predefined function(s). Please change the "
                f"following variable or field name(s) to something else: {sorted(clash)}")

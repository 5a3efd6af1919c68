"""The static check: only allowed syntax, names, calls and attributes (also run at deploy)."""

from __future__ import annotations

import ast

from engine.workflow.scripting.language import (
    _EXPRS,
    _REFUSED_WHY,
    _STMTS,
    ALLOWED_FUNCTIONS,
    ALLOWED_METHODS,
    DEFAULT_HELPER_NAMES,
    DEFAULT_LIMITS,
    DENIED_ATTRIBUTES,
    DENIED_NAMES,
    Limits,
)


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
        while stack:  # iterative: deep trees must not exhaust the C stack
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
        if mode == "eval":  # like eval(): surrounding whitespace (XML text) is fine
            stripped = source.strip()
            source = "\n" * source[: len(source) - len(source.lstrip())].count("\n") + stripped
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


def check_source(source: str, mode: str, helpers=None, limits: Limits = DEFAULT_LIMITS) -> list[tuple[int, str]]:
    """Static validation (deploy time). ``mode`` is "eval" (expressions) or "exec" (scripts);
    ``helpers`` the helper names callable besides the builtins (default: the engine's helpers).
    Returns (line, message) problems, empty when the source is acceptable."""
    names = DEFAULT_HELPER_NAMES if helpers is None else frozenset(helpers)
    _, problems = _parse(source, mode, ALLOWED_FUNCTIONS | names, limits)
    return problems

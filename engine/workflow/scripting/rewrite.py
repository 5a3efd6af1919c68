"""The rewrite: operations whose cost depends on run-time values become guarded calls."""

from __future__ import annotations

import ast
import copy

from engine.workflow.scripting.language import _GUARDED_BUILTINS

_GUARDED_OPS = {
    ast.Add: "_sg_add",
    ast.Sub: "_sg_sub",
    ast.Mult: "_sg_mul",
    ast.Mod: "_sg_mod",
    ast.Pow: "_sg_pow",
    ast.LShift: "_sg_lshift",
    ast.BitOr: "_sg_or",
    ast.BitXor: "_sg_xor",
    ast.BitAnd: "_sg_and",
}


class _Rewriter(ast.NodeTransformer):
    def __init__(self):
        self.used: set[str] = set()

    def _call(self, name: str, args: list, node, keywords=()) -> ast.Call:
        self.used.add(name)
        return ast.copy_location(
            ast.Call(
                func=ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node), args=args, keywords=list(keywords)
            ),
            node,
        )

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
        g = "_sg_i" + g[len("_sg_") :]
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
        node.values = [self._call("_sg_star", [v], v) if k is None else v for k, v in zip(node.keys, node.values)]
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

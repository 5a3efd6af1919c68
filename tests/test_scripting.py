"""The restricted expression/script environment (engine/scripting.py, docs/MODELING.md)."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.workflow.scripting import (
    DEFAULT_HELPER_NAMES,
    SafeEnvironment,
    ScriptLimitExceeded,
    ScriptRefused,
    check_source,
)


def _days_after(n, start=None):
    return f"days_after({n})"


HELPERS = {
    "now": lambda: "2025-10-01T00:00:00+00:00",
    "days_after": _days_after,
    "setting": lambda name, default=None: {"notice_period_days": 5}.get(name, default),
}


@pytest.fixture
def env():
    return SafeEnvironment(HELPERS)


def data():
    return {
        "materials_complete": True,
        "x": {"a": 2},
        "items": [1, 2, 3],
        "round_no": 1,
        "days": 5,
        "name": "张三",
        "approved": False,
    }


# --------------------------------------------------------------------------- allowed
@pytest.mark.parametrize(
    "expr, expected",
    [
        ("materials_complete == True", True),
        ("approved == False and materials_complete", True),
        ("x.get('a', 1) > 0", True),
        ("x.get('missing', 1)", 1),
        ("len(items) >= 2 and round_no < 3", True),
        ("'P%dD' % days", "P5D"),
        ("'%(n)s-%(x)05.1f' % {'n': name, 'x': 1}", "张三-001.0"),
        ("[i * 2 for i in items if i > 1]", [4, 6]),
        ("{k: v + 1 for k, v in x.items()}", {"a": 3}),
        ("{i % 2 for i in items}", {0, 1}),
        ("sum(i for i in items)", 6),
        ("any(i > 2 for i in items) and all(i > 0 for i in items)", True),
        ("sorted(items, reverse=True)[:2]", [3, 2]),
        ("max(items) - min(items)", 2),
        ("'yes' if materials_complete else 'no'", "yes"),
        ("not approved", True),
        ("3 in items and 4 not in items", True),
        ("items[-1]", 3),
        ("items[::-1]", [3, 2, 1]),
        ("(1, 'a', None, 2.5)", (1, "a", None, 2.5)),
        ("-days + abs(-2) + round(2.567, 2)", -5 + 2 + 2.57),
        ("str(days) + 'd'", "5d"),
        ("int('42') + float('0.5')", 42.5),
        ("bool([]) or list(range(3))", [0, 1, 2]),
        ("dict(a=1)", {"a": 1}),
        ("set('aab') == {'a', 'b'}", True),
        ("', '.join(str(i) for i in items)", "1, 2, 3"),
        ("' A b '.strip().lower().replace('b', 'c').upper().split(' ')", ["A", "C"]),
        ("'abc'.startswith('a') and 'abc'.endswith('c') and 'abca'.count('a') == 2", True),
        ("items.index(2)", 1),
        ("f'{name}: {days} days'", "张三: 5 days"),
        ("f'{name!r}'", "'张三'"),  # decided: conversions are harmless (repr of data)
        ("f'{days:>4}|{2.5:.2f}'", "   5|2.50"),  # decided: constant, narrow format specs are fine
        ("2 ** 10 + (1 << 4)", 1040),
        ("[*items, *items][3:]", [1, 2, 3]),
        ("now()", "2025-10-01T00:00:00+00:00"),
        ("days_after(setting('notice_period_days'))", "days_after(5)"),
        ("\n   materials_complete == True\n  ", True),  # XML text around an expression
    ],
)
def test_allowed_expressions(env, expr, expected):
    assert check_source(expr, "eval") == [] or expr.strip().startswith(("days_after", "now"))
    assert env.evaluate(expr, data()) == expected


def test_allowed_script_assigns_loops_and_helpers(env):
    ctx = data()
    script = "\n".join(
        [
            "total = 0",
            "for i in items:",
            "    if i == 2:",
            "        continue",
            "    total += i",
            "else:",
            "    finished = True",
            "items.append(total)",
            "items.extend([7, 8])",
            "x['b'] = x.get('a') * 10",
            "x['b'] += 1",
            "a, b = 1, 2",
            "label = f'{name}-{round_no}'",
            "due = days_after(days)",
            "evens = [i for i in range(10) if i % 2 == 0]",
            "s = 'ab'",
            "s *= 2",
            "del approved",
            "pass",
        ]
    )
    assert env.execute(script, ctx) is True
    assert ctx["total"] == 4 and ctx["finished"] is True
    assert ctx["items"] == [1, 2, 3, 4, 7, 8]
    assert ctx["x"] == {"a": 2, "b": 21}
    assert (ctx["a"], ctx["b"], ctx["label"], ctx["due"]) == (1, 2, "张三-1", "days_after(5)")
    assert ctx["evens"] == [0, 2, 4, 6, 8] and ctx["s"] == "abab"
    assert "approved" not in ctx


def test_augmented_assignment_keeps_list_identity(env):
    shared = [1]
    ctx = {"a": shared}
    env.execute("a += [2]\nb = a + [3]", ctx)
    assert ctx["a"] is shared and shared == [1, 2]  # in place, as in Python
    assert ctx["b"] == [1, 2, 3] and shared == [1, 2]  # '+' makes a new list


def test_execute_leaves_no_helper_or_builtin_in_context(env):
    ctx = data()
    env.execute("y = now()\nz = len(items)", ctx)
    assert ctx["y"] == "2025-10-01T00:00:00+00:00" and ctx["z"] == 3
    assert not set(HELPERS) & set(ctx)
    assert not any(k.startswith("_") for k in ctx)
    assert not any(callable(v) for v in ctx.values())


def test_execute_refuses_data_overwriting_a_helper(env):
    ctx = dict(data(), now="yesterday")
    with pytest.raises(ValueError, match="now"):
        env.execute("y = 1", ctx)
    assert "y" not in ctx


def test_external_context_visible_but_not_stored(env):
    assert env.evaluate("dmninputexpr > 3", {}, {"dmninputexpr": 4}) is True
    ctx = {"a": 1}
    env.execute("b = extra + a", ctx, {"extra": 1})
    assert ctx == {"a": 1, "b": 2}


def test_normal_errors_propagate(env):
    with pytest.raises(NameError):
        env.evaluate("undefined_var > 1", data())
    with pytest.raises(KeyError):
        env.evaluate("x['nope']", data())
    with pytest.raises(ZeroDivisionError):
        env.execute("y = 1 / 0", data())


def test_compiled_code_is_cached(env):
    env.evaluate("round_no < 3", data())
    hits = env._compile.cache_info().hits
    for _ in range(10):
        env.evaluate("round_no < 3", data())
    assert env._compile.cache_info().hits == hits + 10


# --------------------------------------------------------------------------- refused
EXPRESSION_ESCAPES = [
    "().__class__.__base__.__subclasses__()",
    "__import__('os')",
    "[c for c in ().__class__.__bases__[0].__subclasses__()]",
    "(lambda: 0).__globals__",
    "lambda: 1",
    "getattr(x, '__cl' + 'ass__')",
    "'{0.__class__}'.format(1)",
    "'{0.__class__}'.format_map",
    "'{0.__class__}'.format_map({})",
    "exec('1')",
    "eval('1')",
    "open('/etc/passwd')",
    "type(1)",
    "type(x).mro()",
    "globals()",
    "vars()",
    "locals()",
    "x.__dict__",
    "compile('1', 'f', 'eval')",
    "object.__subclasses__()",
    "super()",
    "memoryview(b'a')",
    "breakpoint()",
    "help()",
    "input()",
    "setattr(x, 'a', 1)",
    "delattr(x, 'a')",
    "print(1)",  # not on the function whitelist
    "len",  # functions are not values (e.g. key=len, f = len)
    "str.upper('a')",
    "now",
    "sorted(items, key=len)",
    "x.get",  # methods only as calls
    "items.pop()",  # not on the method allowlist
    "x.items().mapping",
    "[*().__class__.__mro__]",
    "max(*().__class__.__mro__)",
    "dict(**x.__dict__)",
    "f'{x.__class__}'",
    "f'{x!r:{days}}'",  # format spec from data
    "f'{name:>999999999}'",  # huge width
    "x.get('a')()",
    "(x := 1)",
    "_secret",
    "items @ items",
]

SCRIPT_ESCAPES = [
    "import os",
    "from os import system",
    "def f(): pass",
    "class A: pass",
    "while True: pass",
    "try:\n    y = 1\nexcept:\n    pass",
    "with open('f') as f: pass",
    "global y\ny = 1",
    "x.a = 1",
    "del _x",
    "_y = 1",
    "len = 3",
    "items[0:1] = [1, 2]",
    "raise ValueError()",
    "assert False",
    "y: int = 1",
    "for i in items:\n    y = ().__class__",
    "if True:\n    y = (lambda: 1)()",
]


def test_escapes_work_in_plain_spiff_environment():
    # The corpus is meaningful: SpiffWorkflow's default environment runs it.
    assert TaskDataEnvironment().evaluate("().__class__.__base__.__subclasses__()", {})


@pytest.mark.parametrize("source", EXPRESSION_ESCAPES)
def test_expression_escape_refused(env, source):
    problems = check_source(source, "eval")
    assert problems and all(isinstance(line, int) and msg for line, msg in problems)
    with pytest.raises(ScriptRefused):
        env.evaluate(source, data())
    with pytest.raises(ScriptRefused):
        env.execute(f"y = {source}", data())


@pytest.mark.parametrize("source", SCRIPT_ESCAPES)
def test_script_escape_refused(env, source):
    ctx = data()
    assert check_source(source, "exec")
    with pytest.raises(ScriptRefused):
        env.execute(source, ctx)
    assert ctx == data()


def test_refusal_names_line_and_construct():
    problems = check_source("a = 1\nb = ().__class__\nwhile a: pass", "exec")
    assert (2, "attribute '__class__' is not allowed (names may not start with '_')") in problems
    assert any(line == 3 and "while" in msg for line, msg in problems)
    with pytest.raises(ScriptRefused, match=r"line 2: attribute '__class__'"):
        SafeEnvironment().execute("a = 1\nb = ().__class__", {})


def test_check_source_syntax_error_and_modes():
    assert check_source("a ==", "eval")[0][1].startswith("syntax error")
    assert check_source("a = 1", "eval")  # a statement is not an expression
    assert check_source("a = 1", "exec") == []
    assert check_source("\x00", "eval")
    assert check_source("(" * 500 + ")" * 500, "eval")  # too nested for the parser
    assert check_source("a" * 30_000, "eval")  # too long


def test_check_source_helper_names():
    assert check_source("workdays_after(now(), 3)", "eval") == []  # the engine's helpers
    assert check_source("catalogue_item('x').get('name')", "eval") == []
    assert check_source("my_helper(1)", "eval")
    assert check_source("my_helper(1)", "eval", helpers={"my_helper"}) == []
    assert "setting" in DEFAULT_HELPER_NAMES


def test_bad_helper_names_rejected():
    for name in ("_x", "eval", "len", "not an identifier"):
        with pytest.raises(ValueError):
            SafeEnvironment({name: lambda: 1})


def test_only_plain_data_comes_out(env):
    for script in ("g = (i for i in items)", "r = range(3)", "v = x.items()"):
        with pytest.raises(TypeError, match="plain data"):
            env.execute(script, data())
    with pytest.raises(TypeError, match="plain data"):
        env.evaluate("(i for i in items)", data())


# --------------------------------------------------------------------------- runtime limits
SEQ = "a result of more than 1000000"
RUNTIME_BOMBS = [
    ("eval", "10**10**10", "digits"),
    ("eval", "2**100000000", "digits"),
    ("eval", "'a'*10**9", SEQ),
    ("eval", "[0]*10**9", SEQ),
    ("eval", "10**9*'a'", SEQ),
    ("eval", "1 << 10**9", "digits"),
    ("eval", "round(1, -10**8)", "round"),
    ("eval", "int('9' * 100000)", "digits"),
    ("eval", "'%0999999999d' % 1", "format width"),
    ("eval", "'%*d' % (10**9, 1)", "format width"),
    ("eval", "'%(a(b))99999999s' % {'a(b)': 1}", "format width"),
    ("eval", "('a'*900000).replace('', 'b'*900000)", SEQ),
    ("eval", "('a'*1000000).join([''] * 1000000)", SEQ),
    ("eval", "str([['a' * 1000000] * 1000000])", "text of more than"),
    ("eval", "f'{[\"a\" * 1000000] * 1000000}'", "text of more than"),
    ("eval", "'%s' % [['a' * 1000000] * 1000000]", "text of more than"),
    ("eval", "sum([[0] * 1000000] * 1000, [])", SEQ),
    ("eval", "list(range(10**12))", "range of more than"),
    ("eval", "len([i for i in range(1000000)])", "loop steps"),
    ("exec", "for i in range(10**12): pass", "range of more than"),
    ("exec", "for i in range(100000):\n    for j in range(100000):\n        pass", "loop steps"),
    ("exec", "s = 'ab'\nfor i in range(100):\n    s = s + s", SEQ),
    ("exec", "s = 'ab'\nfor i in range(100):\n    s += s", SEQ),
    ("exec", "n = 2\nfor i in range(100):\n    n = n * n", "digits"),
    ("exec", "n = 2\nfor i in range(100000):\n    n += n", "digits"),
    ("exec", "l = [0]\nfor i in range(100):\n    l.extend(l)", "list of more than"),
    ("exec", "l = [0] * 1000000\nkeep = []\nfor i in range(100000):\n    keep.append(l[:])", "produced"),
    ("exec", "s = 'a' * 1000000\nkeep = []\nfor i in range(100000):\n    keep.append(s.upper())", "produced"),
    ("exec", "l = [0] * 1000000\nkeep = [[*l] for i in range(100000)]", "produced"),
    ("exec", "s = {i for i in range(90000)}\nkeep = []\nfor i in range(100):\n    keep.append(s | s)", "produced"),
    ("exec", "a = []\nfor i in range(1000):\n    a = [a]", "nested deeper"),  # too deep to store
    ("exec", "a = []\na.append(a)", "nested deeper|cyclic"),  # cyclic
    ("exec", "x = ['a' * 100000] * 100", "data larger"),  # too big to store
]


@pytest.mark.parametrize("mode, source, why", RUNTIME_BOMBS)
def test_runtime_limit(env, mode, source, why):
    assert check_source(source, mode) == []  # statically fine: only run time can tell
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ScriptLimitExceeded, match=why):
            (env.evaluate if mode == "eval" else env.execute)(source, data())
        elapsed = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 2.0
    assert peak < 100 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_wall_time_limit(env):
    # each step is cheap for the step counter but slow (a 1M-character count)
    t0 = time.perf_counter()
    with pytest.raises(ScriptLimitExceeded, match="longer than"):
        env.execute("s = 'ab' * 500000\nfor i in range(99999):\n    n = s.count('b') + s.count('c')", {})
    assert time.perf_counter() - t0 < 2.0


def test_wall_time_limit_at_loop_steps(env):
    # no guarded call in the body: only the loop tick can see the clock
    t0 = time.perf_counter()
    with pytest.raises(ScriptLimitExceeded, match="longer than"):
        env.execute("l = list(range(1000000))\nfor i in range(2000):\n    n = -1 in l", {})
    assert time.perf_counter() - t0 < 2.0


def test_namespace_builtins_are_restricted(env):
    # defence in depth behind the static check: the code runs without Python's builtins
    ns = env._namespace({"__builtins__": __builtins__}, None, ())
    assert set(ns["__builtins__"]) <= {"len", "abs", "float", "bool"}
    assert env.evaluate("len(items)", {"items": [1], "__builtins__": __builtins__}) == 1


def test_language_tables_are_consistent():
    from engine.workflow.scripting import ALLOWED_FUNCTIONS, ALLOWED_METHODS, DENIED_ATTRIBUTES, DENIED_NAMES

    assert not ALLOWED_METHODS & (DENIED_ATTRIBUTES | {"mro", "format", "format_map"})
    assert not any(m.startswith("_") for m in ALLOWED_METHODS)
    assert not ALLOWED_FUNCTIONS & DENIED_NAMES


def test_limits_are_per_evaluation(env):
    script = "for i in range(60000): pass"
    for _ in range(3):  # 180,000 steps in all, 60,000 per evaluation
        env.execute(script, {})


# --------------------------------------------------------------------------- SpiffWorkflow
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://example.com/bpmn">
  <bpmn:process id="proc" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="calc" name="Calc">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>SCRIPT</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" default="f_no">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_no</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="end_yes">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">materials_complete == True and len(picked) &gt;= 2</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="end_no"/>
    <bpmn:endEvent id="end_yes"><bpmn:incoming>f_yes</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_no"><bpmn:incoming>f_no</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""

GOOD_SCRIPT = "picked = [i for i in items if i &gt; 1]\ndue = days_after(days)"


def run_workflow(script: str, start_data: dict) -> BpmnWorkflow:
    parser = BpmnParser()
    parser.add_bpmn_str(BPMN.replace("SCRIPT", script).encode())
    wf = BpmnWorkflow(parser.get_spec("proc"), script_engine=PythonScriptEngine(environment=SafeEnvironment(HELPERS)))
    for t in wf.get_tasks(state=TaskState.READY):
        t.data.update(start_data)
    wf.do_engine_steps()
    return wf


def _ended_at(wf) -> set[str]:
    return {
        t.task_spec.bpmn_id
        for t in wf.get_tasks(state=TaskState.COMPLETED)
        if t.task_spec.bpmn_id in ("end_yes", "end_no")
    }


@pytest.mark.parametrize("complete, expected", [(True, "end_yes"), (False, "end_no")])
def test_workflow_condition_and_script(complete, expected):
    wf = run_workflow(GOOD_SCRIPT, {"items": [1, 2, 3], "days": 5, "materials_complete": complete})
    assert wf.is_completed()
    assert _ended_at(wf) == {expected}
    assert wf.data["picked"] == [2, 3] and wf.data["due"] == "days_after(5)"
    assert not set(HELPERS) & set(wf.data)


def test_workflow_script_escape_is_refused():
    script = "y = ().__class__.__base__.__subclasses__()"
    with pytest.raises(SpiffWorkflowException) as ei:
        run_workflow(script, {"items": [], "days": 1, "materials_complete": True})
    assert ei.value.error_type == "ScriptRefused"
    assert "'__class__' is not allowed" in str(ei.value) and "'__subclasses__'" in str(ei.value)


def test_workflow_runtime_limit_is_an_error():
    with pytest.raises(SpiffWorkflowException, match="limit exceeded") as ei:
        run_workflow("y = 'a' * 10**9", {"items": [], "days": 1, "materials_complete": True})
    assert ei.value.error_type == "ScriptLimitExceeded"


def test_workflow_condition_escape_is_refused():
    bpmn_cond = "materials_complete == True and ().__class__.__base__.__subclasses__()"
    parser = BpmnParser()
    parser.add_bpmn_str(
        BPMN.replace("SCRIPT", "y = 1")
        .replace("materials_complete == True and len(picked) &gt;= 2", bpmn_cond)
        .encode()
    )
    wf = BpmnWorkflow(parser.get_spec("proc"), script_engine=PythonScriptEngine(environment=SafeEnvironment(HELPERS)))
    for t in wf.get_tasks(state=TaskState.READY):
        t.data.update({"materials_complete": True})
    with pytest.raises(SpiffWorkflowException) as ei:
        wf.do_engine_steps()
    assert ei.value.error_type == "ScriptRefused"

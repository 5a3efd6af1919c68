"""Hostile input through the real API: XML attacks and oversized uploads on POST /api/deployments,
hostile DMN and form files, script/expression escapes (refused at deploy time) and resource
exhaustion (stopped at run time), and bad form data — each refused with a 4xx and a clear message,
fast, with bounded memory, and with nothing stored."""

from __future__ import annotations

import io
import json
import resource
import time
import tracemalloc
from contextlib import contextmanager
from xml.sax.saxutils import escape

import pytest
from test_api_core import GOOD_START, MINI, mini_files

MB = 1024 * 1024
FAST = 2.0  # seconds: every refusal below must come back quicker than this
MEMORY = 64 * MB  # bytes: Python allocations while refusing (the payload is built before)
RSS_GROWTH = 256 * 1024  # KiB: growth of the process's peak resident set (libxml2 included)


@contextmanager
def bounded(what: str, seconds: float = FAST, memory: int = MEMORY):
    """Asserts the block is fast, allocates little (tracemalloc) and does not grow the peak RSS."""
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
    assert elapsed < seconds, f"{what}: {elapsed:.2f}s"
    assert peak < memory, f"{what}: {peak / MB:.1f} MB allocated"
    assert rss < RSS_GROWTH, f"{what}: peak RSS grew {rss / 1024:.0f} MB"


def bpmn_text() -> str:
    return (MINI / "mini.bpmn").read_text(encoding="utf-8")


def refused(resp, *needles: str) -> list[dict]:
    assert resp.status_code == 422, resp.get_data(as_text=True)[:2000]
    body = resp.get_json()
    assert body["error"] == "deployment_refused"
    text = json.dumps(body["problems"], ensure_ascii=False)
    for n in needles:
        assert n in text, text[:2000]
    return body["problems"]


def no_deployments(siji):
    assert siji.ok(siji.get("/api/process-definitions", "analyst"))["items"] == []


# ================================================================== hostile XML
XXE_DOCTYPE = '<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'


def with_doctype(doctype: str, ref: str = "&xxe;") -> str:
    text = bpmn_text()
    head, rest = text.split("\n", 1)
    return head + "\n" + doctype + rest.replace('name="审查材料"', f'name="审查材料{ref}"', 1)


def lol_doctype(levels: int = 10) -> str:
    ents = ['<!ENTITY lol0 "lollollollollollollollollollol">']
    ents += [f'<!ENTITY lol{i} "{(f"&lol{i - 1};") * 10}">' for i in range(1, levels)]
    return "<!DOCTYPE definitions [" + "".join(ents) + "]>\n"


HOSTILE_XML = {
    "xxe_file": lambda: with_doctype(XXE_DOCTYPE).encode(),
    "xxe_network": lambda: with_doctype(
        '<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/x">]>\n'
    ).encode(),
    "xxe_parameter_entity": lambda: with_doctype(
        '<!DOCTYPE definitions [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n', ""
    ).encode(),
    "external_dtd": lambda: with_doctype('<!DOCTYPE definitions SYSTEM "file:///etc/passwd">\n', "").encode(),
    "billion_laughs": lambda: with_doctype(lol_doctype(), "&lol9;").encode(),
    "quadratic_blowup": lambda: with_doctype(
        '<!DOCTYPE definitions [<!ENTITY a "' + "a" * 50000 + '">]>\n', "&a;" * 2000
    ).encode(),
    # the DOCTYPE hidden behind a comment longer than any prefix a scanner might look at
    "xxe_after_big_comment": lambda: with_doctype("<!--" + "x" * 200_000 + "-->\n" + XXE_DOCTYPE).encode(),
    "xxe_utf16": lambda: with_doctype(XXE_DOCTYPE).replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
    "billion_laughs_utf16": lambda: (
        with_doctype(lol_doctype(), "&lol9;").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    ),
}


@pytest.mark.parametrize("attack", sorted(HOSTILE_XML))
def test_hostile_bpmn_is_refused(siji_sqlite, attack):
    siji = siji_sqlite
    payload = HOSTILE_XML[attack]()
    files = mini_files(mini_dot_bpmn=payload)
    with bounded(attack):
        resp = siji.deploy_files(files)
    problems = refused(resp, "DOCTYPE")
    assert problems[0]["file"] == "mini.bpmn"
    assert "root:" not in resp.get_data(as_text=True)  # /etc/passwd never comes back
    no_deployments(siji)


DMN_ATTACKS = {
    "xxe_file": (XXE_DOCTYPE, "&xxe;", "utf-8"),
    "billion_laughs": (lol_doctype(), "&lol9;", "utf-8"),
    "xxe_utf16": (XXE_DOCTYPE, "&xxe;", "utf-16"),
}


@pytest.mark.parametrize("attack", sorted(DMN_ATTACKS))
def test_hostile_dmn_is_refused(siji_sqlite, attack):
    siji = siji_sqlite
    doctype, ref, encoding = DMN_ATTACKS[attack]
    head, rest = HOSTILE_DMN.replace("EXPR", "&quot;ok&quot;").split("\n", 1)
    body = (
        head.replace("UTF-8", encoding.upper())
        + "\n"
        + doctype.replace("definitions", "definitions", 1)
        + rest.replace("<text>review_days</text>", f"<text>review_days {ref}</text>")
    )
    data = body.encode(encoding)
    with bounded(attack):
        resp = siji.deploy_files(mini_files(hostile_dot_dmn=data))
    problems = refused(resp, "DOCTYPE")
    assert any(p["file"] == "hostile.dmn" for p in problems)
    assert "root:" not in resp.get_data(as_text=True)
    no_deployments(siji)


def test_xinclude_is_not_expanded(siji_sqlite):
    siji = siji_sqlite
    text = (
        bpmn_text()
        .replace('id="Defs_mini"', 'xmlns:xi="http://www.w3.org/2001/XInclude" id="Defs_mini"')
        .replace("<bpmn:collaboration", '<xi:include href="file:///etc/passwd" parse="text"/>\n  <bpmn:collaboration')
    )
    resp = siji.deploy_files(mini_files(mini_dot_bpmn=text.encode()))
    assert resp.status_code in (201, 422), resp.status_code
    assert "root:" not in resp.get_data(as_text=True)
    if resp.status_code == 201:
        xml = siji.get("/api/process-definitions/mini/xml", "analyst").get_data(as_text=True)
        assert "root:" not in xml and "xi:include" in xml


def test_deeply_nested_xml_is_refused(siji_sqlite):
    siji = siji_sqlite
    for levels in (100, 100_000):
        deep = "<bpmn:extensionElements>" + "<x>" * levels + "</x>" * levels + "</bpmn:extensionElements>"
        text = bpmn_text().replace(
            '<bpmn:userTask id="Task_Review" name="审查材料">',
            f'<bpmn:userTask id="Task_Review" name="审查材料">{deep}',
        )
        payload = text.encode()
        with bounded(f"{levels} levels"):
            resp = siji.deploy_files(mini_files(mini_dot_bpmn=payload))
        refused(resp, "嵌套过深", "nested deeper than")
    no_deployments(siji)


class LazyBody(io.RawIOBase):
    """A request body generated as it is read; counts what the server read."""

    def __init__(self, total: int):
        self.total, self.pos, self.read_total = total, 0, 0
        self.head = (
            b'--xyz\r\nContent-Disposition: form-data; name="file0"; filename="big.bpmn"\r\n'
            b"Content-Type: application/xml\r\n\r\n<a>"
        )

    def readable(self):
        return True

    def seekable(self):  # the test client measures the length by seeking
        return True

    def tell(self):
        return self.pos

    def seek(self, pos, whence=0):
        self.pos = {0: pos, 1: self.pos + pos, 2: self.total + pos}[whence]
        return self.pos

    def readinto(self, b):
        n = min(len(b), self.total - self.pos)
        if n <= 0:
            return 0
        chunk = self.head[self.pos : self.pos + n] if self.pos < len(self.head) else b""
        b[:n] = chunk + b"x" * (n - len(chunk))
        self.pos += n
        self.read_total += n
        return n


def test_50_mb_upload_is_refused_unread(siji_sqlite):
    siji = siji_sqlite
    body = LazyBody(50 * MB)
    with bounded("50 MB, declared"):
        resp = siji.client.post(
            "/api/deployments",
            input_stream=body,
            content_length=50 * MB,
            content_type="multipart/form-data; boundary=xyz",
            headers=siji.headers("analyst"),
        )
    assert resp.status_code == 413
    err = resp.get_json()
    assert err["error"] == "too_large" and "8 MB" in err["message"]
    assert body.read_total == 0  # refused from the Content-Length alone
    # chunked (no Content-Length): read up to the limit, then refused
    body = LazyBody(50 * MB)
    with bounded("50 MB, chunked"):
        resp = siji.client.post(
            "/api/deployments",
            input_stream=body,
            content_type="multipart/form-data; boundary=xyz",
            headers={**siji.headers("analyst"), "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},
        )
    assert resp.status_code == 413 and resp.get_json()["error"] == "too_large"
    assert body.read_total <= 9 * MB
    # without a token nothing is read at all
    body = LazyBody(50 * MB)
    resp = siji.client.post(
        "/api/deployments", input_stream=body, content_length=50 * MB, content_type="multipart/form-data; boundary=xyz"
    )
    assert resp.status_code == 401 and body.read_total == 0
    no_deployments(siji)


def test_xml_over_the_file_limit_is_refused(siji_sqlite):
    siji = siji_sqlite
    padding = "<!--" + "x" * (6 * MB) + "-->"
    payload = bpmn_text().replace("<bpmn:collaboration", padding + "<bpmn:collaboration").encode()
    assert 5 * MB < len(payload) < 8 * MB  # under the request limit, over the XML limit
    with bounded("6 MB bpmn", memory=4 * len(payload)):
        resp = siji.deploy_files(mini_files(mini_dot_bpmn=payload))
    refused(resp, "file too large")
    no_deployments(siji)


# ================================================================== hostile DMN and form files
HOSTILE_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Defs_hostile" name="hostile" namespace="http://siji.example/dmn">
  <decision id="Decision_Hostile" name="恶意决策">
    <decisionTable id="Table_Hostile">
      <input id="Input_Days" label="天数"><inputExpression id="InputExpr_Days" typeRef="number"><text>review_days</text></inputExpression></input>
      <output id="Output_Result" label="结果" name="result" typeRef="string"/>
      <rule id="Rule_Hostile"><inputEntry id="In_Hostile"><text>-</text></inputEntry><outputEntry id="Out_Hostile"><text>EXPR</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


@pytest.mark.parametrize(
    "expr",
    [
        "().__class__.__base__.__subclasses__()",
        "__import__('os').system('id')",
        "getattr(review_days, '__class__')",
        "'{0.__class__}'.format(review_days)",
    ],
)
def test_dmn_expression_escapes_are_refused(siji_sqlite, expr):
    siji = siji_sqlite
    dmn = HOSTILE_DMN.replace("EXPR", escape(expr, {'"': "&quot;"})).encode()
    problems = refused(siji.deploy_files(mini_files(hostile_dot_dmn=dmn)), "expression refused")
    assert any(p["file"] == "hostile.dmn" and p["element"] == "Out_Hostile" for p in problems), problems
    no_deployments(siji)


def _deep_json(levels: int) -> bytes:
    return b'{"type": "default", "components": [' + b"[" * levels + b"]" * levels + b"]}"


HOSTILE_JSON_FILES = {
    "deep_10000": (_deep_json(10_000), "nested deeper"),
    "deep_200": (_deep_json(200), "nested deeper"),
    "nan": (b'{"type": "default", "components": [], "x": NaN}', "NaN"),
    "huge_integer": (b'{"type": "default", "components": [], "x": ' + b"9" * 5000 + b"}", "invalid JSON"),
    "not_utf8": (b'{"type": "default", "components": [], "x": "\xff\xfe"}', "not UTF-8"),
    "huge": (b'{"type": "default", "components": [], "x": "' + b"x" * (2 * MB) + b'"}', "file too large"),
    "truncated": (b'{"type": "default", "components": [', "invalid JSON"),
}


@pytest.mark.parametrize("target", ["forms__mini__Task_Review_dot_form", "mini_dot_settings_dot_json"])
@pytest.mark.parametrize("case", sorted(HOSTILE_JSON_FILES))
def test_hostile_form_and_settings_files(siji_sqlite, case, target):
    siji = siji_sqlite
    payload, needle = HOSTILE_JSON_FILES[case]
    with bounded(case):
        resp = siji.deploy_files(mini_files(**{target: payload}))
    problems = refused(resp, needle)
    name = target.replace("__", "/").replace("_dot_", ".")
    assert any(p["file"] == name for p in problems), problems
    no_deployments(siji)


# ================================================================== expressions: deploy time
EXPRESSION_ESCAPES = [
    "().__class__.__base__.__subclasses__()",
    "().__class__.__mro__[1].__subclasses__()",
    "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen']",
    "days_after.__globals__['__builtins__']",
    "now.__self__",
    "review_days.__class__",
    "review_days.__dict__",
    "__builtins__",
    "__import__('os').system('id')",
    "getattr(review_days, '__cla' + 'ss__')",
    "getattr(days_after, '__glo' + 'bals__')",
    "setattr(review_days, 'x', 1)",
    "'{0.__class__.__base__}'.format(review_days)",
    "'{x.__globals__}'.format_map({'x': days_after})",
    "str.format('{0.__class__}', review_days)",
    "f'{review_days.__class__}'",
    "eval('1 + 1')",
    "exec('x = 1')",
    "compile('1', 'x', 'eval')",
    "open('/etc/passwd').read()",
    "globals()",
    "locals()",
    "vars()",
    "type(review_days).__subclasses__()",
    "object.__subclasses__()",
    "super()",
    "(lambda: 1)()",
    "_sg_tick()",
    "breakpoint()",
    "memoryview(b'x')",
]
SCRIPT_ESCAPES = EXPRESSION_ESCAPES + [
    "import os",
    "from os import system",
    "while True:\n    pass",
    "def f():\n    return 1",
    "class X:\n    pass",
    "try:\n    x = 1\nexcept Exception:\n    pass",
    "with open('/etc/passwd') as f:\n    x = 1",
    "global review_days",
    "raise SystemExit()",
    "x = [1]\nx.__class__ = dict",
    "del __builtins__",
]
LOCATIONS = {
    "condition": (
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">complete == True</bpmn:conditionExpression>',
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{}</bpmn:conditionExpression>',
        "Flow_Complete",
    ),
    "script": (
        "<bpmn:script>review_rounds = review_rounds + 1</bpmn:script>",
        "<bpmn:script>{}</bpmn:script>",
        "Script_Count",
    ),
    "timer": (
        '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">days_after(review_days)</bpmn:timeDate>',
        '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">{}</bpmn:timeDate>',
        "TimerDef_Review",
    ),
}


def bpmn_with_expression(location: str, source: str) -> bytes:
    old, template, _ = LOCATIONS[location]
    text = bpmn_text()
    assert old in text
    return text.replace(old, template.format(escape(source))).encode()


@pytest.mark.parametrize("location", sorted(LOCATIONS))
def test_expression_escapes_refused_at_deploy(siji_sqlite, location):
    siji = siji_sqlite
    corpus = SCRIPT_ESCAPES if location == "script" else EXPRESSION_ESCAPES
    element = LOCATIONS[location][2]
    t0 = time.perf_counter()
    for source in corpus:
        resp = siji.deploy_files(mini_files(mini_dot_bpmn=bpmn_with_expression(location, source)))
        problems = refused(resp)
        mine = [p for p in problems if p["element"] == element]
        assert mine, (source, problems)
        assert any("表达式不被允许" in p["message"] or "expression refused" in p["message"] for p in mine), (
            source,
            mine,
        )
        assert all(p["file"] == "mini.bpmn" and p["line"] for p in mine), mine
    assert time.perf_counter() - t0 < 2.0 * len(corpus)
    no_deployments(siji)


# ================================================================== expressions: run time
def _settings(**kw) -> bytes:
    data = json.loads((MINI / "mini.settings.json").read_text(encoding="utf-8"))
    data.update(kw)
    return json.dumps(data).encode()


# Sources the static check accepts (they are legal) but that blow a run-time limit. Each runs on
# completing Task_Review with complete=False and missing_items of 100 characters; the
# data-dependent ones (last item True) then pass with a 1-character missing_items.
SCRIPT = "review_rounds = review_rounds + 1\n"
RUNTIME = {
    "huge_power_constant": ("script", SCRIPT + "x = 9 ** 9 ** 9", "Script_Count", False),
    "huge_power_from_data": ("script", SCRIPT + "x = 10 ** (len(missing_items) * 1000)", "Script_Count", True),
    "string_times_data": ("script", SCRIPT + "s = missing_items * (len(missing_items) ** 4)", "Script_Count", True),
    "loop_over_step_budget": (
        "script",
        SCRIPT + "n = 0\nfor i in range(len(missing_items)):\n"
        "    for j in range(len(missing_items)):\n        for k in range(len(missing_items)):\n"
        "            n = n + 1",
        "Script_Count",
        True,
    ),
    "huge_range": ("script", SCRIPT + "x = list(range(len(missing_items) * 100000))", "Script_Count", True),
    "doubling_list": (
        "script",
        SCRIPT + "x = [missing_items]\nfor i in range(64):\n    x = x + x",
        "Script_Count",
        False,
    ),
    "comprehension_bomb": (
        "script",
        SCRIPT + "x = [[missing_items for a in range(1000)] for b in range(1000)]",
        "Script_Count",
        False,
    ),
    "condition_string_bomb": (
        "condition_incomplete",
        "complete == False and len(missing_items * 100000000) > 0",
        "Gateway_Decision",
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(RUNTIME))
def test_runtime_limits_stop_a_step(siji, case):
    location, source, element, data_dependent = RUNTIME[case]
    if location == "condition_incomplete":
        old = '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">complete == False</bpmn:conditionExpression>'
        bpmn = bpmn_text().replace(old, old.replace("complete == False", escape(source))).encode()
    else:
        bpmn = bpmn_with_expression(location, source)
    siji.ok(siji.deploy_files(mini_files(mini_dot_bpmn=bpmn)), 201)  # statically fine
    inst = siji.start("mini", "ent_a", GOOD_START)["id"]
    task = siji.task_for("bureau", inst, "Task_Review")["id"]
    before, trace = siji.instance(inst), siji.trace(inst)
    with bounded(case, seconds=5.0, memory=256 * MB):
        resp = siji.post(
            f"/api/tasks/{task}/complete", "bureau", json={"data": {"complete": False, "missing_items": "缺" * 100}}
        )
    assert resp.status_code == 422, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"] == "engine_step_failed" and body["activity_id"] == element, body
    assert siji.instance(inst) == before
    assert siji.trace(inst) == trace
    assert siji.task_for("bureau", inst, "Task_Review")["id"] == task
    incidents = siji.ok(siji.get(f"/api/incidents?process_instance_id={inst}", "auditor"))["items"]
    assert len(incidents) == 1 and incidents[0]["activity_id"] == element and incidents[0]["command"] == "complete"
    assert incidents[0]["actor"] == "bureau" and incidents[0]["message"]
    if data_dependent:  # the case is intact: with small data the same step goes through
        siji.ok(
            siji.post(
                f"/api/tasks/{task}/complete", "bureau", json={"data": {"complete": False, "missing_items": "缺"}}
            )
        )
        assert [a["id"] for a in siji.instance(inst)["active_activities"]] == ["Task_Correct"]


def test_runtime_limit_in_a_timer_expression(siji):
    # review_days ** review_days ** review_days with review_days = 9 has 369 million digits
    bpmn = bpmn_with_expression("timer", "days_after(review_days ** review_days ** review_days)")
    siji.ok(siji.deploy_files(mini_files(mini_dot_bpmn=bpmn, mini_dot_settings_dot_json=_settings(review_days=9))), 201)
    with bounded("timer", seconds=5.0, memory=256 * MB):
        resp = siji.post("/api/process-instances", "ent_a", json={"process_key": "mini", "variables": GOOD_START})
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.get_json()["error"] == "engine_step_failed"
    assert siji.ok(siji.get("/api/process-instances", "auditor"))["total"] == 0
    incidents = siji.ok(siji.get("/api/incidents", "auditor"))["items"]
    assert len(incidents) == 1 and incidents[0]["command"] == "start" and incidents[0]["process_instance_id"] is None


# ================================================================== form data
def _fields(resp) -> dict:
    body = resp.get_json()
    assert body and "message" in body, resp.get_data(as_text=True)[:500]
    return body.get("fields") or {}


def _deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


# (name, raw body or JSON value, expected status, a field that must be named)
BAD_COMPLETES = [
    ("wrong_type", {"data": {"complete": "yes"}}, 422, "complete"),
    ("wrong_type_number", {"data": {"complete": 1}}, 422, "complete"),
    ("missing", {"data": {}}, 422, "complete"),
    ("null_data", {"data": None}, 422, "data"),
    ("extra_field", {"data": {"complete": True, "extra": 1}}, 422, "extra"),
    ("extra_top_level", {"data": {"complete": True}, "actor": "admin"}, 422, "actor"),
    ("data_is_list", {"data": [1, 2]}, 422, None),
    ("data_is_string", {"data": "complete"}, 422, None),
    ("text_as_number", {"data": {"complete": False, "missing_items": 12}}, 422, "missing_items"),
    ("text_as_list", {"data": {"complete": False, "missing_items": ["a"]}}, 422, "missing_items"),
    ("text_as_object", {"data": {"complete": False, "missing_items": {"a": "b"}}}, 422, "missing_items"),
    ("huge_string", {"data": {"complete": False, "missing_items": "长" * 1_000_000}}, 422, "missing_items"),
    ("nul", {"data": {"complete": False, "missing_items": "a\u0000b"}}, 422, "missing_items"),
    ("escape_sequence", {"data": {"complete": False, "missing_items": "\u001b[31mred"}}, 422, "missing_items"),
    ("bell", {"data": {"complete": False, "missing_items": "\u0007"}}, 422, "missing_items"),
    ("c1_control", {"data": {"complete": False, "missing_items": "a\u0085b"}}, 422, "missing_items"),
    ("lone_surrogate", '{"data": {"complete": false, "missing_items": "\\ud800"}}', 422, "missing_items"),
    ("control_in_key", {"data": {"complete": True, "a\u0000": 1}}, 422, "data"),
    ("nested_100", '{"data": {"complete": false, "missing_items": ' + _deep(100) + "}}", 422, "missing_items"),
    ("nested_10000", '{"data": ' + _deep(10_000) + "}", 400, "json"),
    ("array_10000", "[" * 10_000 + "]" * 10_000, 400, "json"),
    ("invalid_utf8", b'{"data": {"complete": false, "missing_items": "\xff\xfe"}}', 400, "json"),
    ("overlong_utf8", b'{"data": {"complete": false, "missing_items": "\xc0\xaf"}}', 400, "json"),
    ("raw_control_char", '{"data": {"complete": false, "missing_items": "a\u0001b"}}', 400, "json"),
    ("nan", '{"data": {"complete": NaN}}', 400, "json"),
    ("infinity", '{"data": {"complete": false, "missing_items": Infinity}}', 400, "json"),
    ("huge_integer", '{"data": {"complete": ' + "9" * 5000 + "}}", 400, "json"),
    ("truncated", '{"data": {"complete": tr', 400, "json"),
    ("not_an_object", "[]", 422, None),
]


def test_bad_form_data_is_refused_and_nothing_stored(siji):
    siji.deploy_paths(MINI)
    inst = siji.start("mini", "ent_a", GOOD_START)["id"]
    task = siji.task_for("bureau", inst, "Task_Review")["id"]
    before, trace = siji.instance(inst), siji.trace(inst)
    url = f"/api/tasks/{task}/complete"
    for name, body, status, field in BAD_COMPLETES:
        if isinstance(body, (dict, list)):
            raw = json.dumps(body, ensure_ascii=True).encode()
        else:
            raw = body.encode() if isinstance(body, str) else body
        with bounded(name):
            resp = siji.client.post(url, headers=siji.headers("bureau"), data=raw, content_type="application/json")
        assert resp.status_code == status, (name, resp.status_code, resp.get_data(as_text=True)[:500])
        fields = _fields(resp)
        if field:
            assert any(field in k for k in fields), (name, fields)
    assert siji.instance(inst) == before
    assert siji.trace(inst) == trace
    assert siji.ok(siji.get("/api/incidents", "auditor"))["items"] == []
    # a good completion still works afterwards
    siji.ok(siji.post(url, "bureau", json={"data": {"complete": True}}))
    assert siji.instance(inst)["status"] == "completed"


def test_bad_start_variables_and_parameters(siji):
    siji.deploy_paths(MINI)
    cases = [
        ({"process_key": "mini", "variables": GOOD_START, "business_key": "BK\u0000"}, "business_key"),
        ({"process_key": "mini", "variables": {**GOOD_START, "enterprise_name": "甲\u0000"}}, "enterprise_name"),
        ({"process_key": "mini", "variables": {**GOOD_START, "enterprise_name": "甲" * 100_000}}, "enterprise_name"),
        ({"process_key": "mini", "variables": {**GOOD_START, "enterprise_name": 5}}, "enterprise_name"),
        ({"process_key": "mini", "variables": {**GOOD_START, "extra": "x"}}, "extra"),
        ({"process_key": "mini", "variables": {"enterprise_name": "甲"}}, "credit_code"),
        ({"process_key": "mini", "variables": [1]}, "variables"),
        ({"process_key": "mini\u0000", "variables": GOOD_START}, "process_key"),
        ({"process_key": "mini", "variables": GOOD_START, "on_behalf_of": "x" * 1000}, "on_behalf_of"),
        ({"variables": GOOD_START}, "process_key"),
    ]
    for body, field in cases:
        resp = siji.post("/api/process-instances", "ent_a", json=body)
        assert resp.status_code == 422, (body, resp.status_code, resp.get_data(as_text=True)[:300])
        assert any(field in k for k in _fields(resp)), (field, resp.get_json())
    assert siji.ok(siji.get("/api/process-instances", "auditor"))["total"] == 0
    # query and path parameters
    for url, status in (
        ("/api/tasks?role=%00", 422),
        ("/api/process-instances?business_key=a%00b", 422),
        ("/api/process-instances?business_key=" + "x" * 5000, 422),
        ("/api/tasks?page=0", 422),
        ("/api/tasks?per_page=100000", 422),
        ("/api/tasks?process_instance_id=" + "9" * 40, 422),
        ("/api/tasks/%00", 404),
        ("/api/tasks/" + "x" * 5000, 404),
        ("/api/process-instances/" + "9" * 30, 404),
        ("/api/process-instances/2147483648", 404),  # beyond a 32-bit INTEGER column
        ("/api/tasks?process_instance_id=2147483648", 422),
        ("/api/process-definitions/mini?version=2147483648", 422),
        ("/api/process-definitions/mini?version=0000000000001", 200),
        ("/api/process-definitions/mini%00", 404),
    ):
        resp = siji.get(url, "auditor")
        assert resp.status_code == status, (url, resp.status_code, resp.get_data(as_text=True)[:300])
        assert status == 200 or "message" in resp.get_json()
    inst = siji.start("mini", "ent_a", GOOD_START)["id"]
    task = siji.task_for("bureau", inst, "Task_Review")["id"]
    for key in ("", "k\u0000", "k\x7f", "x" * 201):
        resp = siji.client.post(
            f"/api/tasks/{task}/complete",
            json={"data": {"complete": True}},
            headers=siji.headers("bureau", {"Idempotency-Key": key}),
        )
        assert resp.status_code == 422 and "Idempotency-Key" in _fields(resp), (key[:5], resp.status_code)
    assert siji.completed_activities(inst) == []

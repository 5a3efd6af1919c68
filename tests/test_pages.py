"""The web pages in a real browser: headless Chromium (Debian's package, /usr/bin/chromium) driven
by Playwright for Python against a live server (werkzeug in a thread) on the test harness.

An analyst opens completion_acceptance in the modeler, sees a refused deployment's problem on the
element, renames a task and deploys a new version; a department claims and completes a task
through its form (one field refused by the server, shown on the field, then a valid submit); the
case view highlights what the API says was done. Screenshots go to test-artifacts/pages/.

Without Chromium, Playwright, Node.js or the built pages these tests skip with the reason, except
with SIJI_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import DATA, ROOT, make_harness

REQUIRE = os.environ.get("SIJI_REQUIRE_BROWSER") == "1"
CHROMIUM = os.environ.get("SIJI_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "pages"
MANIFEST = ROOT / "api" / "pages" / "dist" / "manifest.json"
PROCESS = "completion_acceptance"
DMN_PROCESS = "land_to_construction"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 20_000


def _unavailable(reason: str):
    if REQUIRE:
        pytest.fail(f"browser tests required (SIJI_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(reason)


def _uscc(prefix17: str) -> str:
    """A unified social credit code with a correct check character."""
    from engine.forms.values import uscc_valid

    for c in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        if uscc_valid(prefix17 + c):
            return prefix17 + c
    raise AssertionError(prefix17)


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def browser():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium; or set SIJI_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -e '.[test]')")
    if not MANIFEST.is_file():
        if shutil.which("node") and shutil.which("npm"):
            subprocess.run([str(ROOT / "tools" / "pages-setup")], check=False, timeout=600)
        if not MANIFEST.is_file():
            _unavailable("the pages are not built (tools/pages-setup needs Node.js 18+ and npm)")
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception as e:  # noqa: BLE001 - the reason is shown
        pw.stop()
        _unavailable(f"Chromium at {CHROMIUM} did not start: {e}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield b
    b.close()
    pw.stop()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The real app on the harness (SQLite file, injected clock, base users) served over HTTP."""
    from werkzeug.serving import make_server

    tmp = tmp_path_factory.mktemp("pages")
    h = make_harness(f"sqlite:///{tmp / 'siji.sqlite3'}", "sqlite")
    bpmn = ROOT / "bpmn" / f"{PROCESS}.bpmn"
    assert bpmn.is_file(), f"{bpmn} is missing"
    forms = sorted((ROOT / "forms" / PROCESS).glob("*.form"))
    settings = ROOT / "bpmn" / f"{PROCESS}.settings.json"
    h.deploy_paths(bpmn, *([settings] if settings.is_file() else []), *forms)
    h.deploy_paths(DATA / "mini")
    land = ROOT / "bpmn" / f"{DMN_PROCESS}.bpmn"
    if land.is_file():  # a process with a DMN table, for the DMN editor
        h.deploy_paths(
            land,
            *sorted((ROOT / "bpmn").glob("*.dmn")),
            ROOT / "bpmn" / "catalogue.json",
            *sorted((ROOT / "bpmn").glob(f"{DMN_PROCESS}.settings.json")),
            *sorted((ROOT / "forms" / DMN_PROCESS).glob("*.form")),
        )
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)  # not one line per asset
    server = make_server("127.0.0.1", 0, h.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    h.base_url = f"http://127.0.0.1:{server.server_port}"
    yield h
    server.shutdown()
    thread.join(10)
    werkzeug_log.setLevel(level)
    h.service.db.dispose()


@pytest.fixture
def page(browser, live, request):
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True
    )
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    pg.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    pg.errors = errors
    yield pg
    context.close()


def login(pg, live, user: str, path: str = "/"):
    pg.goto(live.base_url + "/")
    pg.click("#login-mode-token")
    pg.fill("#token", live.tokens[user])
    pg.click("#login button[type=submit]")
    pg.wait_for_selector("#whoami")
    assert user in pg.inner_text("#whoami")
    if path != "/":
        pg.goto(live.base_url + path)


def shot(pg, name: str):
    pg.screenshot(path=str(ARTIFACTS / name), full_page=False)


def real_errors(pg) -> list[str]:
    """Console errors other than the HTTP answers the pages handle themselves (403/404/409/422)."""
    return [
        e
        for e in pg.errors
        if not (
            e.startswith("console.error: Failed to load resource")
            and any(f"status of {c}" in e for c in (403, 404, 409, 422))
        )
    ]


# ------------------------------------------------------------------ case data through the API
USCC_A = _uscc("91370800MA3C12345")
START = {
    "builder_name": "济宁高新建设有限公司",
    "builder_uscc": USCC_A,
    "contact_name": "王工",
    "contact_phone": "13800000000",
    "project_name": "高新区创新大厦",
    "project_code": "2020-370871-26-03-012345",
    "parcel_code": "370871001002GB00012",
    "construction_permit_no": "370871202509260101",
    "permitted_floor_area": 12000,
    "project_address": "济宁高新区崇文大道 1 号",
}
SURVEY = {
    "survey_agency_name": "济宁测绘院",
    "survey_agency_uscc": _uscc("12370800MB2850001"),
    "survey_report_no": "CH-2025-0001",
    "survey_date": "2025-09-20",
    "measured_floor_area": 12345.5,
}
APPLY = {
    "self_acceptance_date": "2025-09-22",
    "application_channel": "online",
    "acceptance_parties": [
        {"party_role": r, "party_name": f"{n}单位", "party_uscc": _uscc(f"91370800MA3C1000{i}")}
        for i, (r, n) in enumerate(
            [("survey", "勘察"), ("design", "设计"), ("construction", "施工"), ("supervision", "监理")]
        )
    ],
}


def case_at_reviews(live) -> int:
    """A completion_acceptance case whose applicant steps and window intake are done: the special
    reviews are open."""
    iid = live.start(PROCESS, "ent_a", START)["id"]
    live.complete("ent_a", iid, "Task_CombinedCompletionSurvey", SURVEY)
    live.complete("ent_a", iid, "Task_ApplyJointAcceptance", APPLY)
    live.complete(
        "bureau", iid, "Task_AcceptApplication", {"application_accepted": True, "intake_no": "JSCK-2025-0001"}
    )
    return iid


# ------------------------------------------------------------------ modeler
def test_page_shells_are_public_and_say_when_not_built(siji_sqlite, monkeypatch, tmp_path):
    """No browser needed: the shells are public (the API behind them is not); without a build
    (no Node.js) every page answers 503 saying the API works, and the API does."""
    import api.pages as pages

    h = siji_sqlite
    monkeypatch.setattr(pages, "DIST", tmp_path / "dist")  # nothing built there
    for path in ("/", "/modeler", "/inbox", "/case", "/case/7"):
        resp = h.client.get(path)
        text = resp.get_data(as_text=True)
        assert resp.status_code == 503 and "/api/docs" in text and "API 照常可用" in text, path
    assert h.client.get("/pages/assets/home.js").status_code == 404
    assert h.client.get("/api/health").status_code == 200
    assert h.client.get("/api/process-definitions").status_code == 401

    dist = tmp_path / "dist"
    (dist / "chunks").mkdir(parents=True)
    (dist / "manifest.json").write_text(
        '{"inbox": {"js": "inbox-AB12.js", "css": "inbox-CD34.css", "preload": ["chunks/c-EF56.js"]}}', "utf-8"
    )
    (dist / "inbox-AB12.js").write_text("console.log(1)", "utf-8")
    resp = h.client.get("/inbox")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert '<script type="module" src="/pages/assets/inbox-AB12.js"></script>' in text
    assert '<link rel="stylesheet" href="/pages/assets/inbox-CD34.css">' in text
    assert '<link rel="modulepreload" href="/pages/assets/chunks/c-EF56.js">' in text
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    asset = h.client.get("/pages/assets/inbox-AB12.js")
    assert asset.status_code == 200 and asset.mimetype == "text/javascript"
    assert "immutable" in asset.headers["Cache-Control"]
    import gzip

    (dist / "inbox-AB12.js.gz").write_bytes(gzip.compress(b"console.log(1)"))
    zipped = h.client.get("/pages/assets/inbox-AB12.js", headers={"Accept-Encoding": "gzip, br"})
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.mimetype == "text/javascript"
    assert gzip.decompress(zipped.data) == b"console.log(1)"
    assert h.client.get("/pages/assets/../manifest.json").status_code == 404
    assert h.client.get("/pages/assets/..%2F..%2Fpages.py").status_code == 404


def test_modeler_problems_rename_and_deploy(page, live):
    pg = page
    login(pg, live, "analyst", f"/modeler?key={PROCESS}")
    task = "Task_ReviewFireSafety"
    shape = f'.djs-element[data-element-id="{task}"]'
    pg.wait_for_selector(shape)
    assert pg.locator(f'#defs li[data-key="{PROCESS}"]').get_attribute("data-latest") == "1"
    shot(pg, "modeler.png")

    def rename(text: str):
        pg.dblclick(shape)
        pg.wait_for_selector(".djs-direct-editing-parent", state="visible")
        pg.keyboard.press("Control+A")
        if text:
            pg.keyboard.type(text)
        else:
            pg.keyboard.press("Delete")
        pg.keyboard.press("Enter")
        pg.wait_for_selector(".djs-direct-editing-parent", state="hidden")

    # 1. a task without a name is refused: the problem is shown on that element
    rename("")
    pg.click("#deploy")
    pg.wait_for_selector(f"{shape}.siji-problem")
    badge = pg.locator(".problem-badge").first
    assert "没有名称" in badge.inner_text()
    assert pg.locator(f'#problems li[data-element="{task}"]').count() == 1
    assert "部署被拒绝" in pg.inner_text("#status")
    shot(pg, "modeler-problems.png")
    assert live.ok(live.get(f"/api/process-definitions/{PROCESS}", "analyst"))["latest_version"] == 1

    # 2. renamed: one click deploys version 2, which the list then shows
    new_name = "消防验收：审核申请材料（网页修改）"
    rename(new_name)
    pg.click("#deploy")
    pg.wait_for_selector("#status.msg-ok")
    assert "v2" in pg.inner_text("#status")
    assert pg.locator(f'#defs li[data-key="{PROCESS}"]').get_attribute("data-latest") == "2"
    assert "v2" in pg.locator(f'#defs li[data-key="{PROCESS}"]').inner_text()
    assert pg.locator("#version").input_value() == "2"
    assert pg.locator(f"{shape}.siji-problem").count() == 0
    shot(pg, "modeler-deployed.png")
    detail = live.ok(live.get(f"/api/process-definitions/{PROCESS}", "analyst"))
    assert detail["latest_version"] == 2
    assert {t["activity_id"]: t["name"] for t in detail["tasks"]}[task] == new_name
    # the forms, settings and lanes of version 1 carried over (the page sent only the diagram)
    v1 = live.ok(live.get(f"/api/process-definitions/{PROCESS}/resources?version=1", "analyst"))
    v2 = live.ok(live.get(f"/api/process-definitions/{PROCESS}/resources?version=2", "analyst"))
    assert v2["forms"] == v1["forms"] and v2["settings"] == v1["settings"]
    assert {t["activity_id"]: t["role"] for t in detail["tasks"]}[task] == "fire_rescue"
    assert not real_errors(pg), real_errors(pg)


def test_modeler_edits_a_form_and_deploys_it(page, live):
    pg = page
    login(pg, live, "analyst", f"/modeler?key={PROCESS}")
    pg.wait_for_selector('.djs-element[data-element-id="Task_ReviewFireSafety"]')
    form_key = f"{PROCESS}/Task_ReviewFireSafety"
    pg.select_option("#form-picker", form_key)
    pg.wait_for_selector("#form-canvas .fjs-editor-container")
    # change the opinion field's label through the form editor's properties panel
    pg.click('#form-canvas .fjs-editor-container [data-id="Field_fire_review_opinion"]')
    general = pg.locator("#form-canvas .bio-properties-panel-group-header", has_text="常规")
    if "open" not in (general.get_attribute("class") or ""):
        general.click()
    label = pg.locator(
        '#form-canvas .bio-properties-panel [data-entry-id="label"] [contenteditable], '
        '#form-canvas .bio-properties-panel input[name="label"]'
    ).first
    label.click()
    pg.keyboard.press("Control+A")
    pg.keyboard.type("不通过的理由（网页修改）")
    shot(pg, "modeler-form.png")
    prev = live.ok(live.get(f"/api/process-definitions/{PROCESS}/resources", "analyst"))
    pg.click("#deploy")
    pg.wait_for_selector("#status.msg-ok")
    res = live.ok(live.get(f"/api/process-definitions/{PROCESS}/resources", "analyst"))
    assert res["version"] == prev["version"] + 1
    comps = {c.get("key"): c for c in res["forms"][form_key]["components"]}
    old = {c.get("key"): c for c in prev["forms"][form_key]["components"]}
    assert comps["fire_review_opinion"]["label"] == "不通过的理由（网页修改）"
    for k in ("properties", "conditional", "validate"):  # the rest of the field is as it was
        assert comps["fire_review_opinion"].get(k) == old["fire_review_opinion"].get(k), k
    assert {k: v for k, v in res["forms"].items() if k != form_key} == {
        k: v for k, v in prev["forms"].items() if k != form_key
    }
    assert not real_errors(pg), real_errors(pg)


def test_modeler_export_then_upload_back(page, live, tmp_path):
    pg = page
    login(pg, live, "analyst", f"/modeler?key={PROCESS}")
    pg.wait_for_selector('.djs-element[data-element-id="Task_ReviewLandscaping"]')
    with pg.expect_download() as dl:
        pg.click("#export")
    assert dl.value.suggested_filename == f"{PROCESS}.bpmn"
    xml = Path(dl.value.path()).read_text("utf-8")
    tasks = live.ok(live.get(f"/api/process-definitions/{PROCESS}", "analyst"))["tasks"]
    current = {t["activity_id"]: t["name"] for t in tasks}["Task_ReviewLandscaping"]
    old = f'name="{current}"'
    assert old in xml and "camunda" in xml  # extension attributes survive the round trip
    # edited "in a desktop modeler", uploaded back and deployed
    edited = tmp_path / f"{PROCESS}.bpmn"
    edited.write_text(xml.replace(old, 'name="园林绿化验收：审核申请（桌面修改）"'), "utf-8")
    before = live.ok(live.get(f"/api/process-definitions/{PROCESS}", "analyst"))["latest_version"]
    pg.set_input_files("#upload", str(edited))
    pg.wait_for_selector("#status.msg-ok")
    assert "已载入" in pg.inner_text("#status")
    pg.click("#deploy")
    pg.wait_for_selector(f'#defs li[data-key="{PROCESS}"][data-latest="{before + 1}"]')
    detail = live.ok(live.get(f"/api/process-definitions/{PROCESS}", "analyst"))
    assert {t["activity_id"]: t["name"] for t in detail["tasks"]}[
        "Task_ReviewLandscaping"
    ] == "园林绿化验收：审核申请（桌面修改）"
    assert not real_errors(pg), real_errors(pg)


def test_modeler_edits_a_dmn_table(page, live):
    if not (ROOT / "bpmn" / f"{DMN_PROCESS}.bpmn").is_file():
        pytest.skip(f"bpmn/{DMN_PROCESS}.bpmn (the process with a DMN table) is not in this tree")
    pg = page
    login(pg, live, "analyst", f"/modeler?key={DMN_PROCESS}")
    pg.wait_for_selector("#dmn-picker")
    res = live.ok(live.get(f"/api/process-definitions/{DMN_PROCESS}/resources", "analyst"))
    name = sorted(res["dmn"])[0]
    pg.select_option("#dmn-picker", name)
    title = pg.locator("#dmn-canvas .decision-table-name")
    title.wait_for()
    shot(pg, "modeler-dmn.png")
    title.click()
    pg.keyboard.press("Control+A")
    pg.keyboard.type("适用范围（网页修改）")
    pg.click("#deploy")  # straight after typing
    pg.wait_for_selector("#status.msg-ok")
    after = live.ok(live.get(f"/api/process-definitions/{DMN_PROCESS}/resources", "analyst"))
    assert after["version"] == res["version"] + 1
    assert 'name="适用范围（网页修改）"' in after["dmn"][name]
    assert set(after["dmn"]) == set(res["dmn"]) and after["forms"] == res["forms"]
    assert not real_errors(pg), real_errors(pg)


# ------------------------------------------------------------------ inbox
def test_inbox_claim_reject_then_complete(page, live):
    pg = page
    iid = case_at_reviews(live)
    task = live.task_for("fire", iid, "Task_ReviewFireSafety")
    login(pg, live, "fire", "/inbox")
    row = pg.locator(f'#task-table tr[data-task-id="{task["id"]}"]')
    row.wait_for()
    # claim, give back, claim again
    row.locator("button.claim").click()
    row.locator("button.unclaim").wait_for()
    assert live.ok(live.get(f"/api/tasks/{task['id']}", "fire"))["assignee"] == "fire"
    row.locator("button.unclaim").click()
    row.locator("button.claim").wait_for()
    assert live.ok(live.get(f"/api/tasks/{task['id']}", "fire"))["assignee"] is None
    row.locator("button.claim").click()
    row.locator("button.unclaim").wait_for()
    row.locator("a").first.click()
    pg.wait_for_selector("#task-form .fjs-form")
    shot(pg, "inbox.png")

    # "not passed" without the opinion the server requires then: refused, shown on the field
    pg.locator("#task-form .fjs-form-field-radio label", has_text="不通过").click()
    opinion = pg.locator('#task-form .fjs-form-field:has(textarea[id*="fire_review_opinion"])')
    opinion.wait_for()
    pg.click("#complete")
    error = opinion.locator(".fjs-form-field-error")
    error.wait_for()
    assert error.inner_text().strip()
    assert live.ok(live.get(f"/api/tasks/{task['id']}", "fire"))["state"] == "open"
    assert "表单数据有误" in pg.inner_text("#task-msg")
    shot(pg, "inbox-rejected.png")

    opinion.locator("textarea").fill("消防设施检测报告缺页，请补正。")
    error.wait_for(state="detached")  # form-js re-validates the field once typing settles
    pg.click("#complete")
    pg.wait_for_selector("#done-msg")
    shot(pg, "inbox-done.png")
    done = live.ok(live.get(f"/api/tasks/{task['id']}", "fire"))
    assert done["state"] == "completed" and done["completed_by"] == "fire"
    inst = live.instance(iid)
    assert "Task_ReviewFireSafety" in inst["completed_activities"]
    assert pg.locator(f'#task-table tr[data-task-id="{task["id"]}"]').count() == 0
    assert not real_errors(pg), real_errors(pg)


def test_applicant_starts_a_case_with_the_start_form(page, live):
    pg = page
    login(pg, live, "ent_b", "/inbox")
    pg.click(f'#starters button[data-process-key="{PROCESS}"]')
    pg.wait_for_selector("#task-form .fjs-form")
    labels = {
        "builder_name": "建设单位名称",
        "builder_uscc": "建设单位统一社会信用代码",
        "contact_name": "联系人",
        "contact_phone": "联系电话",
        "project_name": "项目名称",
        "project_code": "项目代码",
        "parcel_code": "宗地代码",
        "construction_permit_no": "施工许可证编号",
        "permitted_floor_area": "规划许可总建筑面积",
        "project_address": "项目地址",
    }
    wrong = USCC_A[:-1] + ("0" if USCC_A[-1] != "0" else "1")  # fits the pattern, wrong check character
    for key, label in labels.items():
        pg.get_by_label(label, exact=False).first.fill(wrong if key == "builder_uscc" else str(START[key]))
    pg.fill("#business-key", "BK-PAGES-1")
    pg.click("#start")
    field = pg.locator('#task-form .fjs-form-field:has(input[id*="builder_uscc"])')
    field.locator(".fjs-form-field-error").wait_for()
    assert "builder_uscc" not in pg.inner_text("#task-msg")  # the label is shown, not the key
    assert "建设单位统一社会信用代码" in pg.inner_text("#task-form .server-errors")
    shot(pg, "inbox-start-rejected.png")
    field.locator("input").fill(USCC_A)
    field.locator(".fjs-form-field-error").wait_for(state="detached")
    pg.click("#start")
    pg.wait_for_selector("#detail .msg-ok")
    iid = int(pg.inner_text("#detail .msg-ok").split("#")[1].split(" ")[0])
    inst = live.instance(iid)
    assert inst["enterprise"] == "ent_b" and inst["business_key"] == "BK-PAGES-1"
    assert [a["id"] for a in inst["active_activities"]] == ["Task_CombinedCompletionSurvey"]
    pg.wait_for_selector(f'#task-table a[href="/case/{iid}"]')  # the applicant's first step, in the inbox


def test_auditor_reads_the_inbox_without_acting(page, live):
    iid = case_at_reviews(live)
    task = live.task_for("fire", iid, "Task_ReviewFireSafety")
    login(page, live, "auditor", f"/inbox?task={task['id']}")
    page.wait_for_selector("#task-form .fjs-form")
    assert "只能查看" in page.inner_text("#detail")
    assert page.locator("#complete").count() == 0
    assert page.locator("#task-table button.claim").count() == 0
    assert (
        page.locator(
            "#task-form .fjs-readonly, #task-form .fjs-form-field input[readonly], "
            "#task-form .fjs-form-field textarea[readonly], #task-form .fjs-form-field input[disabled]"
        ).count()
        > 0
    )


def test_inbox_sorted_by_due_time_with_overdue_marked(page, live):
    # mini: the review is due 3 days after the case starts (a boundary timer). The clock moves on
    # without running the timer worker, the moment between a deadline and the worker's next run.
    first = live.start("mini", "ent_a", {"enterprise_name": "甲公司", "credit_code": USCC_A})["id"]
    live.clock.advance(timedelta(days=2))
    second = live.start("mini", "ent_b", {"enterprise_name": "乙公司", "credit_code": USCC_A})["id"]
    live.clock.advance(timedelta(days=1, hours=12))
    login(page, live, "bureau", "/inbox")
    rows = page.locator("#task-table tbody tr")
    rows.first.wait_for()
    order = [
        int(t)
        for t in page.eval_on_selector_all(
            "#task-table tbody tr td:nth-child(4) a", "els => els.map(e => e.textContent.slice(1))"
        )
    ]
    assert order.index(first) < order.index(second)
    overdue = page.locator("#task-table tbody tr.overdue")
    assert overdue.count() >= 1
    first_row = page.locator("#task-table tbody tr", has=page.locator(f'a[href="/case/{first}"]'))
    second_row = page.locator("#task-table tbody tr", has=page.locator(f'a[href="/case/{second}"]'))
    assert "已逾期" in first_row.inner_text() and "overdue" in first_row.get_attribute("class")
    assert "已逾期" not in second_row.inner_text()
    shot(page, "inbox-overdue.png")


# ------------------------------------------------------------------ case view
def test_case_view_highlights_progress(page, live):
    pg = page
    iid = case_at_reviews(live)
    live.complete("fire", iid, "Task_ReviewFireSafety", {"fire_review_passed": True})
    inst = live.instance(iid)
    login(pg, live, "auditor", f"/case/{iid}")
    pg.wait_for_selector("#case-canvas .djs-element.siji-done")
    svg_ids = set(
        pg.eval_on_selector_all(
            "#case-canvas .djs-element[data-element-id]", "els => els.map(e => e.dataset.elementId)"
        )
    )

    def classes(element_id):
        return pg.locator(f'#case-canvas .djs-element[data-element-id="{element_id}"]').get_attribute("class")

    assert {"Task_CombinedCompletionSurvey", "Task_ApplyJointAcceptance", "Task_ReviewFireSafety"} <= set(
        inst["completed_activities"]
    )
    for aid in inst["completed_activities"]:
        if aid in svg_ids:
            assert "siji-done" in classes(aid), aid
    for a in inst["active_activities"]:
        assert "siji-active" in classes(a["id"]), a
    assert "siji-active" in classes("Task_ReviewCivilAirDefence")
    assert "siji-done" not in classes("Task_ReviewCivilAirDefence")
    assert "siji-done" not in classes("Task_OrganiseOnSiteAcceptance")
    assert "siji-flow-taken" in classes("Flow_SurveyToApplication")
    assert "siji-flow-taken" in classes("Flow_ReviewStartFireSafety")  # out of the parallel split
    assert "siji-flow-taken" in classes("Flow_ReviewFireSafetyDone")  # into the waiting join
    assert "siji-flow-taken" not in (classes("Flow_ReviewsPassed") or "")
    for f in inst["taken_flows"]:
        assert "siji-flow-taken" in classes(f), f
    # the trace timeline beside it (or a clear notice while the trace API is not there)
    trace = live.get(f"/api/process-instances/{iid}/trace?format=json", "auditor")
    pg.wait_for_selector("#timeline, #trace-missing")
    if trace.status_code == 200:
        body = trace.get_json()
        events = body if isinstance(body, list) else (body.get("events") or body.get("items") or [])
        assert pg.locator("#timeline li[data-seq]").count() == len(events)
        with pg.expect_download() as dl:
            pg.click('button[data-format="csv"]')
        assert dl.value.suggested_filename == f"trace-{iid}.csv"
        assert "Task_ReviewFireSafety" in Path(dl.value.path()).read_text("utf-8")
    else:
        assert trace.status_code == 404
        assert "暂不可用" in pg.inner_text("#trace-missing")
    assert str(iid) in pg.inner_text("#case-head")
    shot(pg, "case.png")
    if pg.locator("#verify").count():
        pg.click("#verify")
        pg.wait_for_selector("#verify-msg.badge-ok")
    pg.click("#zoom-in")
    pg.click("#zoom-in")
    if trace.status_code == 200:  # a timeline entry focuses its element on the diagram
        pg.locator('#timeline li[data-activity-id="Task_ReviewFireSafety"]:visible').first.click()
        pg.wait_for_selector('#case-canvas .djs-element.siji-focus[data-element-id="Task_ReviewFireSafety"]')
    pg.wait_for_timeout(300)
    shot(pg, "case-zoomed.png")
    assert not real_errors(pg), real_errors(pg)


def test_case_view_refuses_what_the_caller_may_not_see(page, live):
    iid = case_at_reviews(live)
    login(page, live, "ent_b", f"/case/{iid}")
    page.wait_for_selector("#case-head .msg-error")
    assert "不存在或您无权查看" in page.inner_text("#case-head")
    assert page.locator("#case-canvas svg").count() == 0


def test_home_lists_cases_and_login_errors(page, live):
    iid = case_at_reviews(live)
    page.goto(live.base_url + "/")
    page.click("#login-mode-token")
    page.fill("#token", "sj_not-a-token")
    page.click("#login button[type=submit]")
    page.wait_for_selector("#login .login-msg:has-text('无效')")
    page.fill("#token", live.tokens["ent_a"])
    page.click("#login button[type=submit]")
    page.wait_for_selector(f'#cases a[href="/case/{iid}"]')
    shot(page, "home.png")
    # the token lives in this tab's sessionStorage only
    assert page.evaluate("sessionStorage.getItem('siji.token')") == live.tokens["ent_a"]
    assert page.evaluate("localStorage.length") == 0

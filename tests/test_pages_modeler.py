"""The modeler for analysts in a real browser (issue 15): the Camunda 7 properties panel edits a
condition, a timer, candidate groups and documentation; a new user task brings its starter form so
the diagram deploys; the editors speak Chinese; a file bpmn-js cannot import is reported with the
importer's warnings and nothing is loaded; a refused deployment marks its element and lists the
problem that has none. Same live server and Chromium as tests/test_pages.py; every page is checked
for console errors and failed requests; screenshots go to test-artifacts/pages/."""

from __future__ import annotations

from test_pages import PROCESS, browser, live, login, shot  # noqa: F401
from test_pages_workbench import clean, page  # noqa: F401

PANEL = "#bpmn-panel"


def open_modeler(pg, live, wait_for: str = "Task_ReviewFireSafety"):
    login(pg, live, "analyst")
    pg.wait_for_load_state("networkidle")
    # what the home page (not the modeler) did on the way is its own tests' business: it lists
    # cases, which an analyst may not read (403)
    pg.errors.clear()
    pg.failed.clear()
    pg.goto(f"{live.base_url}/modeler?key={PROCESS}")
    pg.wait_for_selector(f'.djs-element[data-element-id="{wait_for}"]')


def select(pg, element_id: str):
    """Selects an element as a click on it would (connections are too thin to hit reliably at the
    zoom that fits the whole pool); everything after that happens in the panel."""
    pg.evaluate(
        "id => { const b = window.siji.bpmn; b.get('selection').select(b.get('elementRegistry').get(id)); }", element_id
    )
    pg.wait_for_selector(f"{PANEL} .bio-properties-panel-header-label")


def open_group(pg, group_id: str):
    header = pg.locator(f'{PANEL} [data-group-id="group-{group_id}"] .bio-properties-panel-group-header')
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def fill_entry(pg, entry_id: str, text: str):
    field = pg.locator(f'{PANEL} [data-entry-id="{entry_id}"] :is(input, textarea, [contenteditable])').first
    field.click()
    pg.keyboard.press("Control+A")
    pg.keyboard.type(text)


def deployed(pg, live, version: int) -> dict:
    pg.wait_for_selector(f'#defs li[data-key="{PROCESS}"][data-latest="{version}"]')
    pg.wait_for_selector("#status.msg-ok")
    return live.ok(live.get(f"/api/process-definitions/{PROCESS}/resources?version={version}", "analyst"))


def xml_of(live, version: int) -> str:
    resp = live.get(f"/api/process-definitions/{PROCESS}/xml?version={version}", "analyst")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_panel_edits_condition_timer_group_and_documentation_then_deploys(page, live):
    pg = page
    open_modeler(pg, live)
    # a condition
    select(pg, "Flow_ApplicationAccepted")
    open_group(pg, "CamundaPlatform__Condition")
    assert pg.locator(f'{PANEL} [data-entry-id="conditionType"] select').input_value() == "expression"
    fill_entry(pg, "conditionExpression", "application_accepted == True and intake_no != ''")
    shot(pg, "modeler-panel-condition.png")
    # a timer
    select(pg, "Event_RectificationOverdue")
    open_group(pg, "timer")
    assert pg.locator(f'{PANEL} [data-entry-id="timerEventDefinitionType"] select').input_value() == "timeDate"
    fill_entry(pg, "timerEventDefinitionValue", "workdays_after(now(), rectification_workdays + 2)")
    shot(pg, "modeler-panel-timer.png")
    # candidate groups and documentation of a user task
    select(pg, "Task_ReviewLandscaping")
    open_group(pg, "CamundaPlatform__UserAssignment")
    fill_entry(pg, "candidateGroups", "urban_management")
    open_group(pg, "documentation")
    fill_entry(pg, "documentation", "园林绿化验收改由城市管理局审核（网页属性面板修改）。")
    shot(pg, "modeler-panel-task.png")
    pg.click("#deploy")
    deployed(pg, live, 2)
    xml = xml_of(live, 2)
    assert "application_accepted == True and intake_no != ''" in xml
    assert "workdays_after(now(), rectification_workdays + 2)" in xml
    assert 'camunda:candidateGroups="urban_management"' in xml
    assert "园林绿化验收改由城市管理局审核（网页属性面板修改）。" in xml
    detail = live.ok(live.get(f"/api/process-definitions/{PROCESS}", "analyst"))
    assert {t["activity_id"]: t["role"] for t in detail["tasks"]}["Task_ReviewLandscaping"] == "urban_management"
    clean(pg)


def test_new_user_task_brings_its_starter_form_and_deploys(page, live):
    pg = page
    open_modeler(pg, live)
    before = live.ok(live.get(f"/api/process-definitions/{PROCESS}", "analyst"))["latest_version"]
    # zoom to the fire-safety branch, then drop a new task from the palette on its outgoing flow
    pg.evaluate("() => window.siji.bpmn.get('canvas').zoom(1, { x: 1615, y: 1037 })")
    pg.evaluate(
        "() => { const c = window.siji.bpmn.get('canvas'); const vb = c.viewbox();"
        " c.scroll({ dx: (vb.x + vb.width / 2) - 1615, dy: (vb.y + vb.height / 2) - 1037 }); }"
    )
    box = pg.evaluate("""() => { const c = window.siji.bpmn.get('canvas'); const vb = c.viewbox();
        const r = c.getContainer().getBoundingClientRect();
        return { x: r.left + (1615 - vb.x) * vb.scale, y: r.top + (1037 - vb.y) * vb.scale }; }""")
    pg.click(".djs-palette .entry.bpmn-icon-task")
    pg.mouse.move(box["x"] - 20, box["y"])
    pg.mouse.move(box["x"], box["y"])
    pg.mouse.click(box["x"], box["y"])
    pg.wait_for_selector(".djs-direct-editing-parent", state="visible")
    pg.keyboard.type("消防验收：补充现场核查")
    pg.click(f"{PANEL}", position={"x": 5, "y": 5})  # leave direct editing
    new_id = pg.evaluate("() => window.siji.bpmn.get('selection').get()[0].id")
    flows = pg.evaluate("id => window.siji.bpmn.get('elementRegistry').get(id).incoming.length", new_id)
    assert flows == 1, "the task was dropped on the flow"
    # make it a user task through the context pad's replace menu
    pg.click('.djs-context-pad .entry[data-action="replace"]')
    pg.click('.djs-popup [data-id="replace-with-user-task"]')
    new_id = pg.evaluate("() => window.siji.bpmn.get('selection').get()[0].id")  # a replaced shape gets a new id
    assert pg.evaluate("id => window.siji.bpmn.get('elementRegistry').get(id).type", new_id) == "bpmn:UserTask"
    form_key = f"{PROCESS}/{new_id}"
    open_group(pg, "CamundaPlatform__Form")
    assert pg.locator(f'{PANEL} [data-entry-id="formKey"] input').input_value() == form_key
    assert form_key in [o for o in pg.locator("#form-picker option").evaluate_all("os => os.map(o => o.value)")]
    # bpmn-js puts no sub-process child in a lane: the department is given as candidate group
    open_group(pg, "CamundaPlatform__UserAssignment")
    fill_entry(pg, "candidateGroups", "fire_rescue")
    shot(pg, "modeler-new-task.png")
    pg.select_option("#form-picker", form_key)
    pg.wait_for_selector("#form-canvas .fjs-editor-container")
    shot(pg, "modeler-new-task-form.png")
    pg.click("#deploy")
    res = deployed(pg, live, before + 1)
    assert res["forms"][form_key]["components"][1]["type"] == "textarea"
    detail = live.ok(live.get(f"/api/process-definitions/{PROCESS}", "analyst"))
    task = {t["activity_id"]: t for t in detail["tasks"]}[new_id]
    assert task["name"] == "消防验收：补充现场核查" and task["role"] == "fire_rescue"
    clean(pg)


def test_a_file_bpmn_js_cannot_import_is_reported_and_nothing_loaded(page, live, tmp_path):
    pg = page
    open_modeler(pg, live)
    xml = xml_of(live, live.ok(live.get(f"/api/process-definitions/{PROCESS}", "analyst"))["latest_version"])
    broken = tmp_path / f"{PROCESS}.bpmn"
    # a well-formed file that is not a BPMN diagram: the importer refuses it with warnings
    broken.write_text(xml.replace("bpmn:definitions", "bpmn:definition"), "utf-8")
    pg.set_input_files("#upload", str(broken))
    pg.wait_for_selector("#status.msg-error")
    status = pg.inner_text("#status")
    assert "无法导入" in status and "未载入任何内容" in status and "警告" in status
    assert pg.locator("#problems .import-warnings li").count() >= 1
    assert "导入警告" in pg.inner_text("#problems")
    # what is shown is still the deployed diagram, untouched
    pg.wait_for_selector('.djs-element[data-element-id="Task_ReviewFireSafety"]')
    assert pg.evaluate("() => window.siji.bpmn.get('commandStack').canUndo()") is False
    assert "●" not in pg.inner_text("#toolbar")
    shot(pg, "modeler-import-refused.png")
    # BPMN that parses but has nothing to draw: bpmn-js clears the canvas, then fails
    no_di = tmp_path / "no_diagram.bpmn"
    no_di.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn='
        '"http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs_1" targetNamespace="x">'
        '<bpmn:process id="Process_1" isExecutable="true"/></bpmn:definitions>',
        "utf-8",
    )
    pg.set_input_files("#upload", str(no_di))
    pg.wait_for_selector("#status.msg-error >> text=no_diagram.bpmn")
    assert "未载入任何内容" in pg.inner_text("#status")
    pg.wait_for_selector('.djs-element[data-element-id="Task_ReviewFireSafety"]')
    assert pg.evaluate("() => window.siji.bpmn.getDefinitions().rootElements.some(e => e.id === 'Process_1')") is False
    clean(pg)


def test_refused_deploy_marks_its_element_and_lists_the_one_without(page, live):
    pg = page
    open_modeler(pg, live)
    before = live.ok(live.get(f"/api/process-definitions/{PROCESS}", "analyst"))["latest_version"]
    # an unnamed user task: a problem on that element
    select(pg, "Task_ReviewFireSafety")
    open_group(pg, "general")
    fill_entry(pg, "name", "")
    pg.keyboard.press("Delete")
    # a renamed task id that the settings' task_deadlines still names: a problem on no element
    select(pg, "Task_ReviewPlanningVerification")
    fill_entry(pg, "id", "Task_ReviewPlanningCheck")
    pg.keyboard.press("Tab")
    pg.click("#deploy")
    pg.wait_for_selector('.djs-element[data-element-id="Task_ReviewFireSafety"].siji-problem')
    marked = pg.locator('#problems li[data-marked="yes"]')
    unmarked = pg.locator('#problems li[data-marked="no"]')
    assert marked.count() >= 1 and unmarked.count() >= 1
    assert "Task_ReviewFireSafety" in marked.first.inner_text()
    assert "task_deadlines.Task_ReviewPlanningVerification" in unmarked.first.inner_text()
    assert "图中无对应元素" in unmarked.first.inner_text()
    status = pg.inner_text("#status")
    assert "已在图中标出" in status and "无对应元素" in status, status
    # the renamed task kept its form (its key written down), so no "missing form" problem
    assert "缺少表单" not in pg.inner_text("#problems")
    assert pg.locator(".siji-problem").count() == marked.count() or pg.locator(".problem-badge").count() >= 1
    shot(pg, "modeler-problems-unmarked.png")
    assert live.ok(live.get(f"/api/process-definitions/{PROCESS}", "analyst"))["latest_version"] == before
    clean(pg, expected_status=(422,))


def test_editors_and_panel_speak_chinese(page, live):
    pg = page
    open_modeler(pg, live)
    assert pg.get_attribute(".djs-palette .entry.bpmn-icon-task", "aria-label") == "任务"
    select(pg, "Flow_ApplicationAccepted")
    headers = pg.locator(f"{PANEL} .bio-properties-panel-group-header-title").all_inner_texts()
    assert "常规" in headers and "条件" in headers and "General" not in headers, headers
    assert pg.inner_text(f"{PANEL} .bio-properties-panel-header-type") == "顺序流"
    select(pg, "Task_ReviewFireSafety")
    headers = pg.locator(f"{PANEL} .bio-properties-panel-group-header-title").all_inner_texts()
    assert "办理人分配" in headers and "表单" in headers, headers
    shot(pg, "modeler-zh-panel.png")
    # the form editor: palette and its properties panel
    pg.select_option("#form-picker", f"{PROCESS}/Task_ReviewFireSafety")
    pg.wait_for_selector("#form-canvas .fjs-palette-entries")
    palette = pg.inner_text("#form-canvas .fjs-palette-entries")
    assert "单行文本" in palette and "Text field" not in palette, palette
    for en, zh in (("Input", "输入"), ("Selection", "选择"), ("Presentation", "展示")):
        assert zh in palette and en not in palette, palette  # the group titles (build-time strings)
    assert pg.inner_text("#form-canvas .fjs-palette-header") == "组件"
    assert pg.get_attribute("#form-canvas .fjs-palette-search", "placeholder") == "搜索组件"
    pg.click('#form-canvas .fjs-editor-container [data-id="Field_fire_review_opinion"]')
    pg.wait_for_selector("#form-canvas .bio-properties-panel-group-header-title")
    headers = pg.locator("#form-canvas .bio-properties-panel-group-header-title").all_inner_texts()
    assert "常规" in headers and "General" not in headers, headers
    shot(pg, "modeler-zh-form.png")
    clean(pg)


def test_dmn_editor_speaks_chinese(page, live):
    pg = page
    login(pg, live, "analyst")
    pg.wait_for_load_state("networkidle")
    pg.errors.clear()
    pg.failed.clear()
    pg.goto(f"{live.base_url}/modeler?key=land_to_construction")
    pg.wait_for_selector("#dmn-picker")
    name = pg.locator("#dmn-picker option").nth(1).get_attribute("value")
    pg.select_option("#dmn-picker", name)
    pg.wait_for_selector("#dmn-canvas .decision-table-name")
    text = pg.inner_text("#dmn-canvas")
    assert "当" in text or "则" in text or "注释" in text, text[:400]
    assert "Annotations" not in text
    shot(pg, "modeler-zh-dmn.png")
    clean(pg)

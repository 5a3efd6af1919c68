"""Everything the modeler shows an analyst is Chinese. A crawl of the Camunda 7 properties panel
over every kind of element the repository's flows use (land_to_construction, completion_acceptance)
and every kind the palette and the replace menu make of them: each group and list item open, each
tooltip shown, one new item in every list, each option of every select and each checkbox tried in
turn; the palette, the search, each context pad and replace menu, the ID field's validation
messages. Then the DMN decision table editor (header editors, context menus, the cell editor of each
data type, the DRD) and the form editor (palette, and a field of each type, its panel crawled the
same way). Besides, every literal the libraries hand to `translate` must have Chinese: what no crawl
opens (a message of a field left valid, a view no diagram here has) is covered too.

Every visible text, title, aria-label, placeholder and select option is collected (not what the
analyst typed: inputs, editable cells, code editors; not <code> examples). A string with Latin
letters and no Chinese fails the test, the offending strings printed with where they were seen,
unless each of its words is an acronym (BPMN, DMN, ID, FEEL, ...) or an identifier or value (an
element id, a variable, a `camunda:` name, an expression, an ISO 8601 or cron example).
Screenshots (test-artifacts/pages/modeler-zh-*.png): the panel of a user task, of a timer boundary
event with its tooltip, of a conditional flow; the replace menu; the DMN input and cell editors; the
form editor."""

from __future__ import annotations

import json
import re

from conftest import ROOT
from test_pages import ARTIFACTS, DMN_PROCESS, PROCESS, browser, live, login, shot  # noqa: F401
from test_pages_workbench import clean, page  # noqa: F401

PANEL = "#bpmn-panel"

# ------------------------------------------------------------------ what counts as English
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
LATIN = re.compile(r"[A-Za-z]")
# acronyms and names an analyst reads as they are
ACRONYMS = {
    *("BPMN", "DMN", "DRD", "FEEL", "JUEL", "ID", "ISO", "UTC", "URL", "URI", "HTML", "JSON", "CSS", "QName", "EL"),
    *("Camunda", "Java", "JavaScript", "Groovy", "Python", "cron", "iFrame", "CMMN", "PMML", "SpiffWorkflow"),
}
# a token that is an identifier or a value, not a word: snake_case, a prefixed name, an expression,
# anything with a digit (ISO 8601 dates and durations, versions), camelCase, a letter (a boxed
# function's kind: F for FEEL)
IDENTIFIER = re.compile(r"[_:$#{}()\[\]/\\.=<>@0-9]|^[a-z]+[A-Z]\w*$|^[A-Za-z]$")
# FEEL's type names, as a function's signature shows them: "(n: number)"
FEEL_TYPES = {"number", "string", "boolean", "date", "time", "dateTime", "Any", "any", "context", "list"}
TOKENS = re.compile(r"[A-Za-z][A-Za-z0-9_:$#{}()\[\]/\\.=<>@-]*")


# the bpmn.io watermark's link title: the bpmn.io license forbids changing the code that shows it
LICENSE_NOTICE = {"Powered by bpmn.io"}


def english(text: str) -> bool:
    """Text an analyst would read as English: Latin letters, no Chinese, and a word that is neither
    an acronym nor an identifier."""
    if text in LICENSE_NOTICE or CJK.search(text) or not LATIN.search(text) or re.fullmatch(r"https?://\S+", text):
        return False
    words = (tok for tok in TOKENS.findall(text) if tok not in ACRONYMS and tok not in FEEL_TYPES)
    return any(not IDENTIFIER.search(tok) for tok in words)


def test_what_counts_as_english():
    for text in ("General", "Toggle section", "Create: Java class", "List contains 2 items", "e.g. { sample }"):
        assert english(text), text
    for text in (
        "常规",
        "ID",
        "Task_ReviewFireSafety",
        "camunda:candidateGroups",
        "${approved}",
        "R5/PT10S",
        "2019-10-01T12:00:00Z",
        "P14D",
        "BPMN",
        "workdays_after(now(), 5)",
        "FEEL 表达式",
        "- 10 -",
    ):
        assert not english(text), text


# ------------------------------------------------------------------ collecting what is visible
# Loaded into the page: window.sijiZh.collect(selectors) returns the visible texts; panel() walks
# a properties panel through every state it can show and returns everything collected on the way.
CRAWL = r"""
(() => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  // Preact renders on a timer after a state change: a frame and a tick see it done
  const settle = async () => {
    await sleep(0);
    await new Promise((r) => requestAnimationFrame(() => r()));
    await sleep(0);
  };
  // laid out: what CSS hides until hovered (visibility: hidden) counts, it is read on hover
  const visible = (el) => !!el && el.getClientRects().length > 0 && getComputedStyle(el).display !== 'none';
  // what the analyst typed (editable cells, code editors, text areas) and <code> examples
  const USER_DATA = '[contenteditable=""], [contenteditable="true"], .cm-editor, code, pre, textarea, script, style';
  const where = (el) => {
    const entry = el.closest('[data-entry-id]');
    const group = el.closest('[data-group-id]');
    if (entry || group) return [group && group.dataset.groupId, entry && entry.dataset.entryId].filter(Boolean).join(' / ');
    const named = el.closest('[class]');
    if (!named) return el.tagName.toLowerCase();
    const cls = String(named.className.baseVal ?? named.className).trim().split(/\s+/).slice(0, 3).join('.');
    return `${named.tagName.toLowerCase()}.${cls}`;
  };

  function collect(selectors, state = '') {
    const out = [];
    const add = (text, el, kind) => {
      text = (text || '').replace(/\s+/g, ' ').trim();
      if (text) out.push({ text, kind, where: where(el), state });
    };
    for (const root of [].concat(selectors).flatMap((s) => [...document.querySelectorAll(s)])) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      while (walker.nextNode()) {
        const p = walker.currentNode.parentElement;
        if (!p || !visible(p)) continue;
        // a code editor's placeholder is the editor's text, not the analyst's
        if (p.closest(USER_DATA) && !p.closest('.cm-placeholder')) continue;
        add(walker.currentNode.nodeValue, p, 'text');
      }
      for (const el of [root, ...root.querySelectorAll('*')]) {
        if (el.closest('.cm-content')) continue;
        if (el.tagName === 'OPTION') {
          if (visible(el.closest('select'))) add(el.textContent, el, 'option');
          continue;
        }
        // a button shown on hover (display: none until then) is read on hover
        if (!visible(el) && !visible(el.parentElement)) continue;
        for (const a of ['title', 'aria-label', 'placeholder', 'alt', 'data-title']) {
          if (el.hasAttribute(a)) add(el.getAttribute(a), el, a);
        }
      }
    }
    return out;
  }

  /**
   * Everything a properties panel can show for the selected element: every group and list item
   * open, each tooltip shown; then one new item in every list; then each option of every select and
   * each checkbox in turn. All changes are undone after (the viewer's command stack).
   */
  async function panel({ root, viewer, vary = true, element = null, kind = '' }) {
    const out = [];
    // a state already seen on another element is not visited again (an input mapping's type on a
    // service task shows what it showed on a user task): list entries are named after the element
    const done = (window.sijiZh.done ||= new Set());
    const norm = (id) => (element ? id.split(element).join('*') : id);
    const first = (key) => !done.has(key) && !!done.add(key);
    const q = (sel) => [...document.querySelectorAll(`${root} ${sel}`)];
    const stack = () => window.siji[viewer].get('commandStack');
    const undoTo = async (i) => {
      const s = stack();
      while (s._stackIdx > i && s.canUndo()) s.undo();
      await settle();
    };
    // each closed header clicked once ("empty" marks a group without edits, or a list without items)
    const expand = async () => {
      const clickedHeaders = new WeakSet();
      for (let k = 0; k < 10; k++) {
        const closed = q('.bio-properties-panel-group-header:not(.open), .bio-properties-panel-collapsible-entry:not(.open) > .bio-properties-panel-collapsible-entry-header')
          .filter((h) => visible(h) && !clickedHeaders.has(h));
        if (!closed.length) return;
        closed.forEach((h) => { clickedHeaders.add(h); h.click(); });
        await settle();
      }
    };
    const tips = async (state) => {
      for (const w of q('.bio-properties-panel-tooltip-wrapper')) {
        if (!visible(w)) continue;
        w.focus();
        await settle();
        out.push(...collect('.bio-properties-panel-tooltip', state).map((i) => ({ ...i, kind: `tooltip ${i.kind}` })));
        w.blur();
        await settle();
      }
    };
    const grab = async (state, withTips = true) => {
      await expand();
      out.push(...collect(root, state));
      if (withTips) await tips(state);
    };
    await grab('');
    // a text's pop-up editor, once
    const popupButton = q('.bio-properties-panel-open-feel-popup')[0];
    if (popupButton && first(`popup ${popupButton.closest('[data-entry-id]').dataset.entryId}`)) {
      popupButton.click();
      await settle();
      out.push(...collect('.bio-properties-panel-popup', 'pop-up editor'));
      const close = document.querySelector('.bio-properties-panel-popup .bio-properties-panel-popup__close, .bio-properties-panel-popup button[class*="close"]');
      if (close) close.click();
      await settle();
    }
    if (!vary) return out;
    const base = stack()._stackIdx;
    const clicked = new Set();
    for (let round = 0; round < 4; round++) { // new items may bring lists of their own
      const buttons = q('.bio-properties-panel-add-entry').filter(visible).filter((b) => {
        const g = b.closest('[data-group-id]');
        const e = b.closest('[data-entry-id]');
        const key = `${g ? g.dataset.groupId : ''}|${e ? norm(e.dataset.entryId) : ''}`;
        if (clicked.has(key)) return false;
        clicked.add(key);
        return first(`add ${kind} ${key}`); // lists differ by kind (a flow's listeners have "take")
      });
      if (!buttons.length) break;
      for (const b of buttons) {
        if (!b.isConnected) continue;
        b.click();
        await settle();
        // some lists ask what to create
        const menu = document.querySelector('.bio-properties-panel-dropdown-button__menu');
        if (menu && visible(menu)) {
          out.push(...collect('.bio-properties-panel-dropdown-button__menu', 'create menu'));
          const item = menu.querySelector('.bio-properties-panel-dropdown-button__menu-item:not(.separator)');
          if (item) item.click();
          await settle();
        }
      }
      await expand();
    }
    await grab('new items');
    const withItems = stack()._stackIdx;
    const selects = q('[data-entry-id] select').map((s) => ({
      entry: s.closest('[data-entry-id]').dataset.entryId, values: [...s.options].map((o) => o.value),
    }));
    for (const { entry, values } of selects) {
      for (const value of values) {
        if (!first(`select ${norm(entry)} = ${value}`)) continue;
        const s = document.querySelector(`${root} [data-entry-id="${CSS.escape(entry)}"] select`);
        if (!s || s.value === value) continue;
        s.value = value;
        s.dispatchEvent(new Event('input', { bubbles: true })); // the panel's selects listen to input
        s.dispatchEvent(new Event('change', { bubbles: true }));
        await settle();
        await grab(`${entry} = ${value}`);
        await undoTo(withItems);
      }
    }
    const checks = [...new Set(q('[data-entry-id] input[type=checkbox]').map((c) => c.closest('[data-entry-id]').dataset.entryId))];
    for (const entry of checks) {
      if (!first(`check ${norm(entry)}`)) continue;
      const c = document.querySelector(`${root} [data-entry-id="${CSS.escape(entry)}"] input[type=checkbox]`);
      if (!c) continue;
      c.click();
      await settle();
      await grab(`${entry} toggled`, false);
      await undoTo(withItems);
    }
    await undoTo(base);
    return out;
  }

  window.sijiZh = { collect, panel, settle };
})();
"""


class Seen:
    """The strings collected, each with the first place it was seen."""

    def __init__(self):
        self.where: dict[str, str] = {}

    def add(self, items: list[dict], context: str):
        for it in items:
            state = f" ({it['state']})" if it.get("state") else ""
            self.where.setdefault(it["text"], f"{context}{state}: {it['kind']} at {it['where']}")

    def english(self) -> dict[str, str]:
        return {t: w for t, w in sorted(self.where.items()) if english(t)}

    def report(self, what: str) -> str:
        bad = self.english()
        text = "\n".join([f"{len(bad)} English string(s) in the {what}:"] + [f"  {t!r}  ({w})" for t, w in bad.items()])
        print(text)
        return text


def inject(pg):
    pg.evaluate(CRAWL)  # through the debugger protocol: the page's CSP allows no inline script


def collect(pg, *selectors: str) -> list[dict]:
    return pg.evaluate("s => window.sijiZh.collect(s)", list(selectors))


def crawl_panel(pg, seen: Seen, context: str, element=None, root: str = PANEL, viewer: str = "bpmn", vary: bool = True):
    args = {"root": root, "viewer": viewer, "vary": vary, "element": element, "kind": context}
    seen.add(pg.evaluate("a => window.sijiZh.panel(a)", args), context)


def settle(pg):
    pg.evaluate("() => window.sijiZh.settle()")


# ------------------------------------------------------------------ the diagram
def open_process(pg, live, key: str, wait_for: str):
    login(pg, live, "analyst")
    pg.wait_for_load_state("networkidle")
    pg.errors.clear()
    pg.failed.clear()
    pg.goto(f"{live.base_url}/modeler?key={key}")
    pg.wait_for_selector(f'.djs-element[data-element-id="{wait_for}"]')
    inject(pg)


def select(pg, element_id: str | None):
    pg.evaluate(
        "id => { const b = window.siji.bpmn; b.get('selection').select(id ? b.get('elementRegistry').get(id) : null); }",
        element_id,
    )
    settle(pg)
    pg.wait_for_selector(f"{PANEL} .bio-properties-panel-header-type")


def stack_index(pg) -> int:
    return pg.evaluate("() => window.siji.bpmn.get('commandStack')._stackIdx")


def undo_to(pg, index: int):
    pg.evaluate(
        "i => { const s = window.siji.bpmn.get('commandStack'); while (s._stackIdx > i && s.canUndo()) s.undo(); }",
        index,
    )
    settle(pg)


def first_of(pg, js_filter: str) -> str | None:
    """The id of the first diagram element the filter (JS over `e` and its business object `bo`) accepts."""
    return pg.evaluate(
        "() => { const e = window.siji.bpmn.get('elementRegistry').find((e) => { const bo = e.businessObject;"
        f" return !e.labelTarget && ({js_filter}); }}); return e ? e.id : null; }}"
    )


def replace(pg, element_id: str, target: dict) -> str:
    """Replaces an element as the replace menu does; returns the new element's id."""
    return pg.evaluate(
        "([id, t]) => { const b = window.siji.bpmn; const el = b.get('elementRegistry').get(id);"
        " return b.get('bpmnReplace').replaceElement(el, t).id; }",
        [element_id, target],
    )


def crawl_chrome(pg, seen: Seen, context: str):
    """The selected element's context pad and, when it has one, its replace menu."""
    seen.add(collect(pg, ".djs-context-pad"), f"{context} context pad")
    if pg.locator('.djs-context-pad .entry[data-action="replace"]').count():
        pg.locator('.djs-context-pad .entry[data-action="replace"]').click()
        pg.wait_for_selector(".djs-popup")
        seen.add(collect(pg, ".djs-popup"), f"{context} replace menu")
        pg.keyboard.press("Escape")
        pg.wait_for_selector(".djs-popup", state="detached")


# every element kind the repository's flows use (a JS filter finding one)
REAL_KINDS = {
    "participant": "e.type === 'bpmn:Participant'",
    "lane": "e.type === 'bpmn:Lane'",
    "user task": "e.type === 'bpmn:UserTask'",
    "script task": "e.type === 'bpmn:ScriptTask'",
    "business rule task": "e.type === 'bpmn:BusinessRuleTask'",
    "sub-process": "e.type === 'bpmn:SubProcess'",
    "exclusive gateway": "e.type === 'bpmn:ExclusiveGateway' && !!bo.default",
    "parallel gateway": "e.type === 'bpmn:ParallelGateway'",
    "conditional flow": "e.type === 'bpmn:SequenceFlow' && !!bo.conditionExpression",
    "default flow": "e.type === 'bpmn:SequenceFlow' && e.source.businessObject.default === bo",
    "plain flow": "e.type === 'bpmn:SequenceFlow' && !bo.conditionExpression",
    "timer boundary event (non-interrupting)": "e.type === 'bpmn:BoundaryEvent' && bo.cancelActivity === false",
    "timer intermediate catch event": "e.type === 'bpmn:IntermediateCatchEvent'",
    "start event": "e.type === 'bpmn:StartEvent' && e.parent.type === 'bpmn:Participant'",
    "sub-process start event": "e.type === 'bpmn:StartEvent' && e.parent.type === 'bpmn:SubProcess'",
    "end event": "e.type === 'bpmn:EndEvent' && !(bo.eventDefinitions || []).length",
    "terminate end event": "e.type === 'bpmn:EndEvent' && !!(bo.eventDefinitions || []).length",
}

_D = {
    name: f"bpmn:{name}EventDefinition"
    for name in ("Message", "Timer", "Signal", "Error", "Escalation", "Conditional", "Compensate", "Link")
}
# what the palette and the replace menu make of them: kind -> (kind replaced, replace target)
MADE_KINDS = {
    "service task": ("user task", {"type": "bpmn:ServiceTask"}),
    "send task": ("user task", {"type": "bpmn:SendTask"}),
    "receive task": ("user task", {"type": "bpmn:ReceiveTask"}),
    "manual task": ("user task", {"type": "bpmn:ManualTask"}),
    "task": ("user task", {"type": "bpmn:Task"}),
    "call activity": ("user task", {"type": "bpmn:CallActivity"}),
    "transaction": ("sub-process", {"type": "bpmn:Transaction", "isExpanded": True}),
    "event sub-process": ("sub-process", {"type": "bpmn:SubProcess", "isExpanded": True, "triggeredByEvent": True}),
    "inclusive gateway": ("exclusive gateway", {"type": "bpmn:InclusiveGateway"}),
    "complex gateway": ("exclusive gateway", {"type": "bpmn:ComplexGateway"}),
    "event-based gateway": ("exclusive gateway", {"type": "bpmn:EventBasedGateway"}),
    **{
        f"{d.lower()} boundary event{'' if cancel else ' (non-interrupting)'}": (
            "timer boundary event (non-interrupting)",
            {"type": "bpmn:BoundaryEvent", "eventDefinitionType": _D[d], "cancelActivity": cancel},
        )
        for d, cancel in (
            ("Timer", True),
            ("Message", True),
            ("Message", False),
            ("Signal", True),
            ("Error", True),
            ("Escalation", True),
            ("Conditional", True),
            ("Compensate", True),
        )
    },
    **{
        f"{d.lower()} intermediate catch event": (
            "timer intermediate catch event",
            {"type": "bpmn:IntermediateCatchEvent", "eventDefinitionType": _D[d]},
        )
        for d in ("Message", "Signal", "Conditional", "Link")
    },
    "intermediate throw event": ("timer intermediate catch event", {"type": "bpmn:IntermediateThrowEvent"}),
    **{
        f"{d.lower()} intermediate throw event": (
            "timer intermediate catch event",
            {"type": "bpmn:IntermediateThrowEvent", "eventDefinitionType": _D[d]},
        )
        for d in ("Message", "Signal", "Escalation", "Compensate", "Link")
    },
    **{
        f"{d.lower()} start event": ("start event", {"type": "bpmn:StartEvent", "eventDefinitionType": _D[d]})
        for d in ("Message", "Timer", "Signal", "Conditional")
    },
    **{
        f"{d.lower()} end event": ("end event", {"type": "bpmn:EndEvent", "eventDefinitionType": _D[d]})
        for d in ("Message", "Signal", "Error", "Escalation", "Compensate")
    },
}


def test_bpmn_editor_and_properties_panel_speak_only_chinese(page, live):
    pg = page
    open_process(pg, live, DMN_PROCESS, "Task_CheckProjectScope")
    seen = Seen()
    seen.add(collect(pg, "#bpmn-canvas"), "canvas")
    pg.click("#bpmn-canvas")
    pg.keyboard.press("Control+f")
    pg.wait_for_selector(".djs-search-container input", state="visible")
    seen.add(collect(pg, ".djs-search-container"), "search")
    pg.keyboard.press("Escape")
    ids = {}
    for kind, js in REAL_KINDS.items():
        ids[kind] = first_of(pg, js)
        assert ids[kind], f"no {kind} in {DMN_PROCESS}"
        select(pg, ids[kind])
        crawl_chrome(pg, seen, kind)
        crawl_panel(pg, seen, kind, ids[kind])
    select(pg, None)  # the collaboration
    crawl_panel(pg, seen, "collaboration", first_of(pg, "e.type === 'bpmn:Collaboration'"))
    # a multi-instance task
    base = stack_index(pg)
    pg.evaluate(
        "id => { const b = window.siji.bpmn; b.get('modeling').updateProperties(b.get('elementRegistry').get(id),"
        " { loopCharacteristics: b.get('moddle').create('bpmn:MultiInstanceLoopCharacteristics') }); }",
        ids["user task"],
    )
    select(pg, ids["user task"])
    crawl_panel(pg, seen, "multi-instance user task", ids["user task"])
    undo_to(pg, base)
    for kind, (source, target) in MADE_KINDS.items():
        base = stack_index(pg)
        new_id = replace(pg, ids[source], target)
        select(pg, new_id)
        crawl_chrome(pg, seen, kind)
        crawl_panel(pg, seen, kind, new_id)
        undo_to(pg, base)
    # the ID field's validation messages
    select(pg, ids["user task"])
    field = pg.locator(f'{PANEL} [data-entry-id="id"] input')
    for bad_id in ("", "Task one", "1Task", "a:Task", ids["script task"]):
        field.fill(bad_id)
        pg.wait_for_selector(f'{PANEL} [data-entry-id="id"] .bio-properties-panel-error')
        seen.add(collect(pg, PANEL), f"user task (id = {bad_id!r})")
    field.fill(ids["user task"])
    assert not seen.english(), seen.report("BPMN editor")
    # the crawl reached what it is for: closed groups, tooltips, new list items, select options, menus
    reached = {
        "办理人分配",
        "候选角色（部门）",
        "到期时间",
        "每 10 秒一次，最多 5 次",
        "条件表达式",
        "异步延续（之前）",
        "监听器类型",
        "字段注入",
        "赋值类型",
        "共 1 项",
        "经过",
        "信号边界事件（非中断）",
        "ID 不能含空格。",
        "抓手工具",
    }
    assert reached <= seen.where.keys(), reached - seen.where.keys()
    # the replace menu of a boundary event: long names, nothing cut off
    select(pg, ids["timer boundary event (non-interrupting)"])
    pg.locator('.djs-context-pad .entry[data-action="replace"]').click()
    pg.wait_for_selector(".djs-popup")
    shot(pg, "modeler-zh-replace-menu.png")
    pg.keyboard.press("Escape")
    clean(pg)


def test_completion_acceptance_panel_speaks_only_chinese(page, live):
    """The other flow: its elements of each kind, every group and list item open."""
    pg = page
    open_process(pg, live, PROCESS, "Task_ReviewFireSafety")
    seen = Seen()
    kinds = 0
    for kind, js in REAL_KINDS.items():
        element = first_of(pg, js)
        if element:  # it has no business rule task, no intermediate catch event
            kinds += 1
            select(pg, element)
            crawl_chrome(pg, seen, kind)
            crawl_panel(pg, seen, kind, element, vary=False)
    assert kinds >= 12, kinds
    assert not seen.english(), seen.report("BPMN editor")
    clean(pg)


# ------------------------------------------------------------------ the DMN decision table editor
DMN = "#dmn-canvas"
DMN_VIEWER = "window.siji.dmn.getActiveViewer()"

# Opens everything a context menu holds: each select's options, each radio choice in turn.
OPEN_MENU = """async (root) => {
  const out = [];
  const menu = () => document.querySelector(root + ' .context-menu');
  if (!menu()) return out;
  out.push(...window.sijiZh.collect(root, 'menu'));
  for (let i = 0; i < menu().querySelectorAll('input[type=radio]').length; i++) {
    menu().querySelectorAll('input[type=radio]')[i].click();
    await window.sijiZh.settle();
    out.push(...window.sijiZh.collect(root, 'radio ' + i));
  }
  for (let i = 0; menu() && i < menu().querySelectorAll('.dms-input-select').length; i++) {
    const select = menu().querySelectorAll('.dms-input-select')[i];
    select.querySelector('.dms-input').dispatchEvent(new MouseEvent('click', { bubbles: true }));
    await window.sijiZh.settle();
    out.push(...window.sijiZh.collect([root + ' .dms-select-options'], 'select ' + i));
    const options = [...document.querySelectorAll(root + ' .dms-select-options .option')];
    for (let k = 0; k < options.length; k++) {
      const o = document.querySelectorAll(root + ' .dms-select-options .option')[k];
      if (!o) break;
      o.dispatchEvent(new MouseEvent('mousedown', { bubbles: true }));
      o.dispatchEvent(new MouseEvent('click', { bubbles: true }));
      await window.sijiZh.settle();
      if (menu()) out.push(...window.sijiZh.collect(root, 'select ' + i + ' option ' + k));
      const again = menu() && menu().querySelectorAll('.dms-input-select')[i];
      if (!again) break;
      again.querySelector('.dms-input').dispatchEvent(new MouseEvent('click', { bubbles: true }));
      await window.sijiZh.settle();
    }
  }
  return out;
}"""


OTHER_VIEWS = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Defs_Views" name="视图" namespace="x">
  <decision id="Decision_Literal" name="字面表达式决策">
    <variable id="Var_Literal" name="scope_result" typeRef="string" />
    <literalExpression id="Literal_1"><text>"a"</text></literalExpression>
  </decision>
  <businessKnowledgeModel id="Bkm_1" name="业务知识">
    <variable id="Var_Bkm" name="next_day" />
    <encapsulatedLogic id="Fn_1" kind="FEEL">
      <formalParameter id="Param_1" name="n" typeRef="number" />
      <literalExpression id="Literal_2"><text>n + 1</text></literalExpression>
    </encapsulatedLogic>
  </businessKnowledgeModel>
</definitions>"""


def dmn_close_menu(pg):
    pg.evaluate(f"() => {DMN_VIEWER}.get('contextMenu').close()")
    settle(pg)


def dmn_menu(pg, seen: Seen, context: str):
    if pg.locator(f"{DMN} .context-menu").count():
        seen.add(pg.evaluate(OPEN_MENU, DMN), context)
    dmn_close_menu(pg)


def dmn_cell(column: int, row: int = 0) -> str:
    return f"{DMN} tbody tr:nth-child({row + 1}) td:nth-child({column + 2})"


def test_dmn_editor_speaks_only_chinese(page, live):
    pg = page
    open_process(pg, live, DMN_PROCESS, "Task_CheckProjectScope")
    name = pg.locator("#dmn-picker option").nth(1).get_attribute("value")
    pg.select_option("#dmn-picker", name)
    pg.wait_for_selector(f"{DMN} .decision-table-name")
    seen = Seen()
    seen.add(collect(pg, DMN), "decision table")
    # the hit policy's choices
    pg.click(f"{DMN} .hit-policy .dms-input")
    seen.add(collect(pg, DMN), "hit policy")
    pg.keyboard.press("Escape")
    pg.click(f"{DMN} .decision-table-name")
    n_inputs = pg.locator(f"{DMN} thead th.input-cell").count()
    # the header editors of an input and an output
    for kind in ("input", "output"):
        pg.evaluate(f"() => document.querySelector('{DMN} thead th.{kind}-cell .edit-button').click()")
        pg.wait_for_selector(f"{DMN} .context-menu")
        if kind == "input":
            shot(pg, "modeler-zh-dmn-input-editor.png")
        dmn_menu(pg, seen, f"{kind} editor")
    # the context menus of the header, a rule's cells, its annotation and its index
    for what, selector in (
        ("input header", f"{DMN} thead th.input-cell"),
        ("output header", f"{DMN} thead th.output-cell"),
        ("annotation header", f"{DMN} thead th.annotation"),
        ("input cell", dmn_cell(0)),
        ("output cell", dmn_cell(n_inputs)),
        ("annotation cell", f"{DMN} tbody tr:first-child td.annotation"),
        ("rule index", f"{DMN} tbody tr:first-child td.rule-index"),
    ):
        pg.locator(selector).first.click(button="right")
        settle(pg)
        if not pg.locator(f"{DMN} .context-menu").count():
            print("no context menu:", what)
            continue
        seen.add(collect(pg, DMN), f"{what} context menu")
        # a cell's menu opens the expression language and the description editors
        entry = pg.locator(f"{DMN} .context-menu .context-menu-group-entry", has_text="表达式语言")
        if what == "input cell" and entry.count():
            entry.first.click()
            dmn_menu(pg, seen, "expression language")
        else:
            dmn_close_menu(pg)
    # each simple editor: a cell of each type, in an input column and an output column
    for column in (0, n_inputs):
        for type_ref in (
            "string",
            "boolean",
            "number",
            "date",
            "time",
            "dateTime",
            "dayTimeDuration",
            "yearMonthDuration",
        ):
            pg.evaluate(
                """([col, typeRef]) => { const v = window.siji.dmn.getActiveViewer();
                  const c = v.get('sheet').getRoot().cols[col].businessObject;
                  const m = v.get('modeling');
                  if (c.inputExpression) m.editInputExpressionTypeRef(c.inputExpression, typeRef);
                  else m.editOutputTypeRef(c, typeRef); }""",
                [column, type_ref],
            )
            settle(pg)
            seen.add(collect(pg, DMN), f"column of {type_ref}")
            pg.locator(dmn_cell(column)).first.click()
            button = pg.locator(f"{DMN} .simple-mode-button")
            if button.count() and button.first.is_visible():
                button.first.click()
                pg.wait_for_selector(f"{DMN} .context-menu")
                if column == 0 and type_ref == "number":
                    shot(pg, "modeler-zh-dmn-number-cell-editor.png")
                dmn_menu(pg, seen, f"{type_ref} {'input' if column == 0 else 'output'} editor")
            pg.click(f"{DMN} .decision-table-name")
    # the DRD
    pg.click(f"{DMN} .view-drd-button")
    pg.wait_for_selector(f"{DMN} .djs-palette")
    seen.add(collect(pg, DMN), "DRD")
    pg.evaluate(
        f"() => {{ const v = {DMN_VIEWER}; const d = v.get('elementRegistry').find(e => e.type === 'dmn:Decision');"
        " v.get('selection').select(d); }"
    )
    settle(pg)
    seen.add(collect(pg, DMN), "DRD decision")
    # the views no table of the repository opens: a literal expression, a business knowledge model
    pg.evaluate(
        """async (xml) => { const d = window.siji.dmn; await d.importXML(xml);
          for (const v of d.getViews()) if (v.type !== 'drd') { await d.open(v); await window.sijiZh.settle(); } }""",
        OTHER_VIEWS,
    )
    for view in ("literalExpression", "boxedExpression"):
        pg.evaluate("t => { const d = window.siji.dmn; return d.open(d.getViews().find((v) => v.type === t)); }", view)
        settle(pg)
        pg.wait_for_selector(
            f"{DMN} .dmn-{'literal-expression' if view == 'literalExpression' else 'boxed-expression'}-container"
        )
        seen.add(collect(pg, DMN), view)
        shot(pg, f"modeler-zh-dmn-{view}.png")
        for edit in pg.locator(f"{DMN} .dms-input-select .dms-input").all():
            edit.click()
            seen.add(collect(pg, DMN), f"{view} select")
            pg.keyboard.press("Escape")
        # its editors (the function's kind and parameters)
        for i in range(pg.locator(f"{DMN} button.edit-button, {DMN} .edit-button").count()):
            pg.evaluate(
                "([s, i]) => document.querySelectorAll(s)[i].click()",
                [f"{DMN} button.edit-button, {DMN} .edit-button", i],
            )
            settle(pg)
            seen.add(pg.evaluate(OPEN_MENU, DMN), f"{view} editor {i}")
            pg.evaluate(f"() => {{ try {{ {DMN_VIEWER}.get('contextMenu').close(); }} catch {{}} }}")
            settle(pg)
    assert not seen.english(), seen.report("DMN editor")
    reached = {
        "命中策略：",
        "汇总（求和）",
        "设置日期",
        "介于",
        "输入标签",
        "在上方添加规则",
        "格式须为 PnDTnH（如 P2DT3H）",
    }
    assert reached <= seen.where.keys(), reached - seen.where.keys()
    clean(pg)


# ------------------------------------------------------------------ the form editor
FORM = "#form-canvas"
FORM_PANEL = "#form-canvas .fjs-properties-panel"


def test_form_editor_speaks_only_chinese(page, live):
    pg = page
    open_process(pg, live, PROCESS, "Task_ReviewFireSafety")
    pg.select_option("#form-picker", f"{PROCESS}/Task_ReviewFireSafety")
    pg.wait_for_selector(f"{FORM} .fjs-palette-entries")
    seen = Seen()
    seen.add(collect(pg, f"{FORM} .fjs-palette"), "palette")
    seen.add(collect(pg, f"{FORM} .fjs-editor-container"), "form")
    # the form itself, then a new field of each type of the palette
    pg.evaluate("() => window.siji.formEditor.get('selection').clear()")
    settle(pg)
    crawl_panel(pg, seen, "form", root=FORM_PANEL, viewer="formEditor")
    types = pg.evaluate("() => Object.keys(window.siji.formEditor.get('formFields')._formFields)")
    for field_type in types:
        if field_type == "default":
            continue
        field_id = pg.evaluate(
            """(type) => { const e = window.siji.formEditor; const { schema } = e._getState();
              const f = e.get('modeling').addFormField({ type }, schema, schema.components.length);
              e.get('selection').set(f); return f.id; }""",
            field_type,
        )
        settle(pg)
        pg.wait_for_selector(f"{FORM_PANEL} .bio-properties-panel-header-type")
        seen.add(collect(pg, f"{FORM} .fjs-editor-container"), f"{field_type} field")
        crawl_panel(pg, seen, f"{field_type} field", element=field_id, root=FORM_PANEL, viewer="formEditor")
        if field_type in ("select", "iframe"):
            shot(pg, f"modeler-zh-form-{field_type}.png")
    assert not seen.english(), seen.report("form editor")
    reached = {
        "组件",
        "校验规则",
        "执行脚本",
        "选项来源",
        "了解更多",
        "新建单行文本",
        "删除下拉选择",
        "将组件拖放到这里。",
    }
    assert reached <= seen.where.keys(), reached - seen.where.keys()
    clean(pg)


# ------------------------------------------------------------------ every text the libraries translate
NODE_MODULES = ROOT / "api" / "pages" / "node_modules"
# a literal handed to `translate` (not 'translate(' inside a string): '...' (+ '...'), "..." or `...`
# without ${} (a computed template is not a dictionary key: its spellings are listed by hand)
TRANSLATED = re.compile(
    r"""(?<!['"\w])_?translate\(\s*('(?:[^'\\\n]|\\.)*'(?:\s*\+\s*'(?:[^'\\\n]|\\.)*')*|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\$]|\\.)*`)"""
)
SAME_IN_CHINESE = {"ID", "BPMN", "CMMN", "DMN"}


def translated_literals(source: str) -> set[str]:
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)  # doc comments show examples ('HELLO {you}')
    out = set()
    for m in TRANSLATED.finditer(source):
        parts = re.findall(r"""'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|`((?:[^`\\]|\\.)*)`""", m.group(1))
        text = "".join(a or b or c for a, b, c in parts)
        out.add(re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), text))
    return out


def library_texts() -> dict[str, str]:
    """Every literal the modeler's libraries hand to `translate` -> where: the Camunda 7 and BPMN
    parts of bpmn-js-properties-panel (its source map holds the sources; the Zeebe parts are not
    loaded), @bpmn-io/properties-panel, bpmn-js, diagram-js and the dmn-js views."""
    found: dict[str, str] = {}
    smap = json.loads((NODE_MODULES / "bpmn-js-properties-panel/dist/index.esm.js.map").read_text("utf-8"))
    for name, source in zip(smap["sources"], smap["sourcesContent"]):
        if not re.search(r"zeebe|element-templates", name):
            for text in translated_literals(source or ""):
                found.setdefault(text, f"bpmn-js-properties-panel {name}")
    files = [NODE_MODULES / "@bpmn-io/properties-panel/dist/index.esm.js"]
    for lib in ("bpmn-js", "diagram-js", *(p.name for p in NODE_MODULES.glob("dmn-js*"))):
        files += sorted((NODE_MODULES / lib / "lib").rglob("*.js"))
    for f in files:
        for text in translated_literals(f.read_text("utf-8")):
            found.setdefault(text, str(f.relative_to(NODE_MODULES)))
    return found


def test_every_text_the_libraries_translate_has_chinese(page, live):
    """What the crawls cannot open (a validation message of a field left alone, a view no diagram
    here has) is still in the dictionary: each literal the libraries pass to `translate`."""
    texts = library_texts()
    assert len(texts) > 300, len(texts)  # the scan found the libraries
    pg = page
    open_process(pg, live, PROCESS, "Task_ReviewFireSafety")
    missing = pg.evaluate(
        """(texts) => { const t = window.siji.bpmn.get('translate');
          return texts.filter((s) => !/[\\u4e00-\\u9fff]/.test(t(s))); }""",
        sorted(texts),
    )
    missing = {m: texts[m] for m in missing if m not in SAME_IN_CHINESE}
    lines = [f"  {t!r}  ({w})" for t, w in missing.items()]
    assert not missing, "\n".join([f"{len(missing)} text(s) without Chinese:", *lines])
    clean(pg)


# ------------------------------------------------------------------ what it looks like
def panel_shot(pg, name: str, left: int = 0):
    """The properties panel (and `left` pixels of the canvas beside it, where its tooltips open)."""
    box = pg.locator(PANEL).bounding_box()
    bottom = pg.evaluate(
        "p => Math.max(...[...document.querySelectorAll(p + ' .bio-properties-panel-group')]"
        ".map((g) => g.getBoundingClientRect().bottom))",
        PANEL,
    )
    height = min(box["height"], bottom - box["y"] + 20)
    clip = {"x": box["x"] - left, "y": box["y"], "width": box["width"] + left, "height": height}
    pg.screenshot(path=str(ARTIFACTS / name), clip=clip)


def test_panel_screenshots_user_task_timer_and_condition(page, live):
    """Screenshots to look at: each group open, Chinese throughout, nothing cut off."""
    pg = page
    pg.set_viewport_size({"width": 1440, "height": 1700})
    open_process(pg, live, DMN_PROCESS, "Task_CheckProjectScope")
    expand = "() => window.sijiZh.panel({ root: '#bpmn-panel', viewer: 'bpmn', vary: false })"
    select(pg, first_of(pg, "e.type === 'bpmn:UserTask' && !!bo.documentation.length"))
    pg.evaluate(expand)
    assert "办理人分配" in pg.inner_text(PANEL) and "到期时间" in pg.inner_text(PANEL)
    panel_shot(pg, "modeler-zh-panel-user-task.png")
    select(pg, first_of(pg, "e.type === 'bpmn:BoundaryEvent'"))
    pg.evaluate(expand)
    pg.locator(f'{PANEL} [data-entry-id="timerEventDefinitionValue"] .bio-properties-panel-tooltip-wrapper').focus()
    tooltip = pg.locator(".bio-properties-panel-tooltip")
    tooltip.wait_for()
    assert "一个时间点" in tooltip.inner_text() and "UTC 时间" in tooltip.inner_text()
    panel_shot(pg, "modeler-zh-panel-timer.png", left=420)
    select(pg, first_of(pg, "e.type === 'bpmn:SequenceFlow' && !!bo.conditionExpression"))
    pg.evaluate(expand)
    assert "条件表达式" in pg.inner_text(PANEL)
    panel_shot(pg, "modeler-zh-panel-condition.png")
    clean(pg)

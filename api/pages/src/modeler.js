// Modeler (analysts): open a deployed definition (latest or a chosen version) in bpmn-js, edit the
// diagram, its DMN tables (dmn-js) and forms (form-js editor), deploy everything as a new version
// with one click, see the server's validation problems on the elements they concern, export the
// XML for a desktop modeler and upload it back.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css';
import 'dmn-js/dist/assets/dmn-js-shared.css';
import 'dmn-js/dist/assets/dmn-js-drd.css';
import 'dmn-js/dist/assets/dmn-js-decision-table.css';
import 'dmn-js/dist/assets/dmn-js-decision-table-controls.css';
import 'dmn-js/dist/assets/dmn-js-literal-expression.css';
import 'dmn-js/dist/assets/dmn-js-boxed-expression.css';
import 'dmn-js/dist/assets/dmn-js-boxed-expression-controls.css';
import 'dmn-js/dist/assets/dmn-font/css/dmn-embedded.css';
import '@bpmn-io/form-js-viewer/dist/assets/form-js.css';
import '@bpmn-io/form-js-editor/dist/assets/form-js-editor.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, CamundaPlatformPropertiesProviderModule } from 'bpmn-js-properties-panel';
import CamundaBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';
import { $, api, download, errorText, h, hasRole, initPage, readFile, say, put } from './common.js';
import translateZh, { formEditorZh } from './translate-zh.js';
import { starterFormKeysModule, syncStarterForms } from './starter-forms.js';

const state = {
  defs: [],
  key: null, version: null, latest: null, name: '',
  bpmnBaseline: '', // the XML as first saved after import: "dirty" means different from it
  dmn: {}, // filename -> {xml, baseline}
  forms: {}, // form key -> {schema, baseline}
  tab: { kind: 'bpmn', name: null },
  problems: [],
};

let bpmn = null; // bpmn-js Modeler
let dmn = null; // dmn-js Modeler, created when a DMN tab is first opened
let formEditor = null; // form-js FormEditor, likewise

initPage(async () => {
  if (!hasRole('analyst')) {
    put($('main'), h('div', { class: 'page' }, h('div', { class: 'msg msg-info' },
      '流程建模页面供业务分析员使用，您的角色不能部署流程。'), h('p', {}, h('a', { href: '/' }, '返回首页'))));
    return;
  }
  // Camunda 7's properties panel: conditions, timers, candidate groups, form keys and documentation
  // are edited as the engine reads them (camunda:* attributes, docs/MODELING.md).
  bpmn = new BpmnModeler({
    container: '#bpmn-canvas',
    propertiesPanel: { parent: '#bpmn-panel' },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, CamundaPlatformPropertiesProviderModule,
      CamundaBehaviorsModule, starterFormKeysModule, translateZh],
    moddleExtensions: { camunda: camundaModdle },
    debounceInput: false, // a deploy right after typing in the panel must see the last keystroke
  });
  bpmn.on('commandStack.changed', (e) => {
    // not on import ('clear'): a form is made for a task created here, not for every file loaded
    if (state.key && e.trigger !== 'clear') syncStarterForms(bpmn, state.forms);
    renderToolbar();
  });
  window.addEventListener('beforeunload', (e) => {
    if (unsavedNow()) {
      e.preventDefault();
      e.returnValue = '';
    }
  });
  window.siji = { bpmn, get dmn() { return dmn; }, get formEditor() { return formEditor; }, state }; // for power users and tests
  await loadDefs();
  const params = new URLSearchParams(location.search);
  const key = params.get('key') || (state.defs[0] && state.defs[0].key);
  if (key) await openDefinition(key, params.get('version') ? Number(params.get('version')) : null);
});

// ------------------------------------------------------------------ definitions list
async function loadDefs() {
  const ul = $('#defs');
  try {
    state.defs = (await api('/api/process-definitions')).items;
  } catch (e) {
    put(ul, h('li', { class: 'muted' }, errorText(e)));
    return;
  }
  renderDefs();
}

function renderDefs() {
  put($('#defs'), ...state.defs.map((d) => h('li', {
    class: d.key === state.key ? 'current' : '', dataset: { key: d.key, latest: d.latest_version },
    onclick: () => openDefinition(d.key, null),
  }, h('div', {}, d.name || d.key), h('div', { class: 'key' }, `${d.key} · v${d.latest_version}`,
    d.versions.length > 1 ? `（共 ${d.versions.length} 个版本）` : ''))));
  if (!state.defs.length) $('#defs').append(h('li', { class: 'muted' }, '尚未部署任何流程。'));
}

// ------------------------------------------------------------------ opening
async function isDirty() {
  await stashCurrent();
  return dirtyList().length > 0;
}

function dirtyList() {
  const out = [];
  if (bpmnDirtyNow()) out.push('流程图');
  for (const [n, d] of Object.entries(state.dmn)) if (d.xml !== d.baseline) out.push(n);
  for (const [k, f] of Object.entries(state.forms)) if (JSON.stringify(f.schema) !== f.baseline) out.push(`表单 ${k}`);
  return out;
}

/** Synchronous check for the browser's "leave page?" prompt. */
function unsavedNow() {
  const canUndo = (viewer) => {
    try {
      return !!viewer && viewer.get('commandStack').canUndo();
    } catch {
      return false;
    }
  };
  if (!state.key) return false;
  if (canUndo(bpmn) || bpmnXmlNow !== state.bpmnBaseline) return true;
  if (Object.values(state.dmn).some((d) => d.xml !== d.baseline)) return true;
  if (Object.values(state.forms).some((f) => JSON.stringify(f.schema) !== f.baseline)) return true;
  if (state.tab.kind === 'dmn' && dmn && canUndo(dmn.getActiveViewer())) return true;
  if (state.tab.kind === 'form' && formEditor && canUndo(formEditor)) return true;
  return false;
}

let bpmnXmlNow = '';
function bpmnDirtyNow() {
  return bpmn && bpmn.get('commandStack').canUndo() ? true : bpmnXmlNow !== state.bpmnBaseline;
}

async function openDefinition(key, version) {
  if (state.key && (await isDirty()) && !window.confirm(`有未部署的修改（${dirtyList().join('、')}），放弃并打开其他版本？`)) return;
  say($('#status'), '正在加载…', 'info');
  clearProblems();
  let xml;
  let resources;
  try {
    const q = version ? `?version=${version}` : '';
    [xml, resources] = await Promise.all([
      api(`/api/process-definitions/${encodeURIComponent(key)}/xml${q}`),
      api(`/api/process-definitions/${encodeURIComponent(key)}/resources${q}`),
    ]);
  } catch (e) {
    say($('#status'), errorText(e), 'error');
    return;
  }
  const def = state.defs.find((d) => d.key === key) || {};
  Object.assign(state, { key, version: resources.version, latest: def.latest_version || resources.version, name: def.name || key });
  state.dmn = {};
  for (const [name, text] of Object.entries(resources.dmn || {})) state.dmn[name] = { xml: text, baseline: text };
  state.forms = {};
  for (const [k, schema] of Object.entries(resources.forms || {})) {
    state.forms[k] = { schema, baseline: JSON.stringify(schema) };
  }
  await showTab({ kind: 'bpmn', name: null }, false); // visible first: fitting a hidden canvas fails
  let warnings;
  try {
    warnings = await importBpmn(xml);
  } catch (e) {
    state.key = null; // nothing shown is this definition: never offer to deploy it
    renderToolbar();
    showImportFailure(`${key} v${resources.version}`, e);
    return;
  }
  state.bpmnBaseline = bpmnXmlNow;
  renderToolbar();
  renderDefs();
  history.replaceState(null, '', `/modeler?key=${encodeURIComponent(key)}&version=${state.version}`);
  say($('#status'), '');
  if (warnings.length) {
    showImportWarnings(warnings);
    say($('#status'), `${key} v${state.version} 导入时有 ${warnings.length} 条警告（见下方列表），部分内容可能未显示，部署前请检查。`, 'error');
  }
}

/**
 * Imports a diagram; returns the importer's warnings. When bpmn-js cannot import it, the diagram
 * shown before is imported again (bpmn-js may have cleared the canvas half way) and the error,
 * carrying the importer's warnings, is thrown: a file that failed is never left looking loaded.
 */
async function importBpmn(xml) {
  let warnings;
  try {
    ({ warnings } = await bpmn.importXML(xml));
  } catch (e) {
    if (bpmnXmlNow) {
      try {
        await bpmn.importXML(bpmnXmlNow);
        bpmn.get('canvas').zoom('fit-viewport', 'auto');
      } catch { /* the previous diagram was imported once: it imports again */ }
    }
    throw e;
  }
  bpmn.get('canvas').zoom('fit-viewport', 'auto');
  bpmnXmlNow = (await bpmn.saveXML({ format: true })).xml;
  // an attribute no loaded schema knows (e.g. camunda:label) is kept as it is: nothing is lost
  return (warnings || []).filter((w) => !/^unknown attribute </.test(warningText(w)));
}

const warningText = (w) => (w && w.message ? w.message : String(w));

/** The importer's own words for a file it refused, with every warning it gave. */
function showImportFailure(what, err) {
  const warnings = err.warnings || [];
  say($('#status'), `无法导入 ${what}：bpmn-js 不能读取此文件（${err.message}），未载入任何内容。`
    + (warnings.length ? `导入器给出 ${warnings.length} 条警告，见下方列表。` : ''), 'error');
  put($('#problems'), h('ul', { class: 'import-warnings' }, warnings.map((w) => h('li', {}, `导入警告：${warningText(w)}`))));
}

function showImportWarnings(warnings) {
  put($('#problems'), h('ul', { class: 'import-warnings' }, warnings.map((w) => h('li', {}, `导入警告：${warningText(w)}`))));
}

// ------------------------------------------------------------------ toolbar and tabs
function renderToolbar() {
  const bar = $('#toolbar');
  if (!state.key) {
    put(bar, h('span', { class: 'muted' }, '请从左侧选择流程。'));
    return;
  }
  const versions = (state.defs.find((d) => d.key === state.key) || { versions: [state.version] }).versions;
  const vsel = h('select', { id: 'version', onchange: (e) => openDefinition(state.key, Number(e.target.value)) },
    [...versions].reverse().map((v) => h('option', { value: v, selected: v === state.version }, `v${v}${v === state.latest ? '（最新）' : ''}`)));
  const dirtyDmn = (n) => state.dmn[n].xml !== state.dmn[n].baseline;
  const dirtyForm = (k) => JSON.stringify(state.forms[k].schema) !== state.forms[k].baseline;
  const dmnNames = Object.keys(state.dmn).sort();
  const formKeys = Object.keys(state.forms).sort();
  const tabBtn = (label, tab, dirty) => h('button', {
    type: 'button', class: `${state.tab.kind === tab.kind && state.tab.name === tab.name ? 'current' : ''} ${dirty ? 'dirty' : ''}`,
    dataset: { tab: tab.kind }, onclick: () => showTab(tab),
  }, label);
  const short = (n) => n.split('/').pop();
  const picker = (kind, id, label, names, dirtyFn) => (names.length ? h('select', {
    id, class: state.tab.kind === kind ? 'current' : '',
    onchange: (e) => e.target.value && showTab({ kind, name: e.target.value }),
  }, h('option', { value: '' }, `${label}（${names.length}）…`),
  names.map((n) => h('option', { value: n, selected: state.tab.kind === kind && state.tab.name === n }, `${short(n)}${dirtyFn(n) ? ' ●' : ''}`))) : null);
  const upload = h('input', { type: 'file', id: 'upload', accept: '.bpmn,.xml,.dmn,.form,.json', hidden: true, onchange: onUpload });
  put(bar, ...[
    h('span', { class: 'title' }, state.name), h('span', { class: 'muted' }, state.key), vsel,
    h('span', { class: 'sep' }),
    h('span', { class: 'tabs' }, tabBtn('流程图', { kind: 'bpmn', name: null }, bpmnDirtyNow())),
    picker('dmn', 'dmn-picker', '决策表', dmnNames, dirtyDmn),
    picker('form', 'form-picker', '表单', formKeys, dirtyForm),
    h('span', { class: 'sep' }),
    h('button', { type: 'button', class: 'primary', id: 'deploy', onclick: deploy }, '部署为新版本'),
    h('button', { type: 'button', id: 'export', onclick: exportCurrent }, '导出'),
    h('button', { type: 'button', id: 'upload-btn', onclick: () => upload.click() }, '上传…'), upload,
  ].filter(Boolean));
}

/** Copies what the visible DMN or form editor holds back into state. */
async function stashCurrent() {
  if (bpmn && state.key) bpmnXmlNow = (await bpmn.saveXML({ format: true })).xml;
  const { kind, name } = state.tab;
  if (kind === 'dmn' && dmn && state.dmn[name]) {
    state.dmn[name].xml = (await dmn.saveXML({ format: true })).xml;
  } else if (kind === 'form' && formEditor && state.forms[name]) {
    state.forms[name].schema = formEditor.saveSchema();
  }
}

async function showTab(tab, stash = true) {
  if (stash) await stashCurrent();
  state.tab = tab;
  $('#bpmn-host').hidden = tab.kind !== 'bpmn';
  $('#dmn-canvas').hidden = tab.kind !== 'dmn';
  $('#form-canvas').hidden = tab.kind !== 'form';
  try {
    if (tab.kind === 'dmn') await openDmn(tab.name);
    if (tab.kind === 'form') await openForm(tab.name);
  } catch (e) {
    say($('#status'), `无法打开：${e.message}`, 'error');
  }
  renderToolbar();
}

async function openDmn(name) {
  if (!dmn) {
    const { default: DmnModeler } = await import('dmn-js/lib/Modeler');
    // no input debouncing: a deploy right after typing must see the last keystroke
    // dmn-js builds each view with its own modules: every view gets the translation
    const zh = { additionalModules: [translateZh] };
    dmn = new DmnModeler({
      container: '#dmn-canvas', common: { debounceInput: false }, drd: zh, decisionTable: zh, literalExpression: zh, boxedExpression: zh,
    });
  }
  const entry = state.dmn[name];
  await dmn.importXML(entry.xml);
  const normalised = (await dmn.saveXML({ format: true })).xml;
  if (entry.xml === entry.baseline) entry.baseline = normalised; // compare like with like
  entry.xml = normalised;
  const table = dmn.getViews().find((v) => v.type === 'decisionTable');
  if (table) await dmn.open(table);
}

async function openForm(key) {
  if (!formEditor) {
    const { FormEditor } = await import('@bpmn-io/form-js-editor');
    formEditor = new FormEditor({ container: '#form-canvas', debounce: false, additionalModules: [formEditorZh] });
  }
  const entry = state.forms[key];
  await formEditor.importSchema(entry.schema);
  const normalised = formEditor.saveSchema();
  if (JSON.stringify(entry.schema) === entry.baseline) entry.baseline = JSON.stringify(normalised);
  entry.schema = normalised;
}

// ------------------------------------------------------------------ deploy
function processIdOf() {
  const defs = bpmn.getDefinitions();
  const proc = (defs.rootElements || []).find((e) => e.$type === 'bpmn:Process');
  return proc ? proc.id : state.key;
}

async function deploy() {
  const button = $('#deploy');
  button.disabled = true;
  clearProblems();
  try {
    await stashCurrent();
    const key = processIdOf();
    const form = new FormData();
    form.append('files', new Blob([bpmnXmlNow], { type: 'application/xml' }), `${key}.bpmn`);
    const sent = [`${key}.bpmn`];
    // DMN: uploaded tables replace the version's whole set, so send all of them when one changed.
    if (Object.values(state.dmn).some((d) => d.xml !== d.baseline)) {
      for (const [n, d] of Object.entries(state.dmn)) {
        form.append('files', new Blob([d.xml], { type: 'application/xml' }), n);
        sent.push(n);
      }
    }
    for (const [k, f] of Object.entries(state.forms)) {
      if (JSON.stringify(f.schema) === f.baseline) continue;
      form.append('files', new Blob([JSON.stringify(f.schema, null, 2)], { type: 'application/json' }), `forms/${k}.form`);
      sent.push(`forms/${k}.form`);
    }
    say($('#status'), `正在部署：${sent.join('，')}…`, 'info');
    let result;
    try {
      result = await api('/api/deployments', { method: 'POST', form });
    } catch (e) {
      if (e.status === 422 && Array.isArray(e.body.problems)) {
        const marked = showProblems(e.body.problems);
        const n = e.body.problems.length;
        const where = marked === n ? '已在图中标出' : marked ? `${marked} 个已在图中标出，${n - marked} 个无对应元素，见列表` : '均无对应的图中元素，见列表';
        say($('#status'), `部署被拒绝：${n} 个问题（${where}）。`, 'error');
      } else {
        say($('#status'), errorText(e), 'error');
      }
      return;
    }
    const v = result.versions.find((x) => x.key === key) || result.versions[0];
    await loadDefs();
    state.key = null; // nothing left unsaved: open the new version without asking
    await openDefinition(v.key, v.version);
    say($('#status'), `已部署：${v.name || v.key} v${v.version}（部署 #${result.deployment_id}）。`, 'ok');
  } finally {
    button.disabled = false;
  }
}

function clearProblems() {
  if (bpmn) {
    const canvas = bpmn.get('canvas');
    bpmn.get('overlays').remove({ type: 'siji-problem' });
    for (const p of state.problems) {
      const el = p.element && bpmn.get('elementRegistry').get(p.element);
      if (el) canvas.removeMarker(el, 'siji-problem');
    }
  }
  state.problems = [];
  put($('#problems'));
}

/** Marks each problem on the diagram element it names (a form's problem names its user task) and
 * lists them all, saying which have no element; returns how many were marked. */
function showProblems(problems) {
  state.problems = problems;
  const registry = bpmn.get('elementRegistry');
  const canvas = bpmn.get('canvas');
  const overlays = bpmn.get('overlays');
  const byElement = new Map();
  let marked = 0;
  for (const p of problems) {
    const el = problemElement(p);
    if (el) {
      marked += 1;
      canvas.addMarker(el, 'siji-problem');
      if (!byElement.has(el.id)) byElement.set(el.id, []);
      byElement.get(el.id).push(p.message);
    }
  }
  for (const [id, msgs] of byElement) {
    const el = registry.get(id);
    const pos = el.waypoints ? { top: -10, left: -10 } : { bottom: 4, left: 0 };
    overlays.add(id, 'siji-problem', { position: pos, html: h('div', { class: 'problem-badge', title: msgs.join('\n') }, msgs[0]) });
  }
  put($('#problems'), h('ul', {}, problems.map((p) => {
    const el = problemElement(p);
    return h('li', {
      class: el ? 'marked' : 'unmarked',
      dataset: { element: p.element || '', marked: el ? 'yes' : 'no' },
      onclick: () => goToProblem(p),
    }, h('code', {}, p.file || ''), p.line ? ` 第 ${p.line} 行` : '', p.element ? [' ', h('code', {}, p.element)] : '', '：', p.message,
    el ? '' : h('span', { class: 'muted' }, '（图中无对应元素）'));
  })));
  return marked;
}

/** The diagram element a server problem is about: its element id, when the diagram has it (DMN
 * problems name DMN elements, settings problems name settings keys). */
function problemElement(p) {
  if (!p.element || /\.dmn$/i.test(p.file || '')) return null;
  const registry = bpmn.get('elementRegistry');
  let el = registry.get(p.element);
  // the process itself: in a collaboration it is drawn as its pool; as the root it is not drawn
  if (!el || !el.parent) el = registry.find((e) => e.type === 'bpmn:Participant' && e.businessObject.processRef?.id === p.element);
  return el && el.parent && !el.labelTarget ? el : null;
}

async function goToProblem(p) {
  const file = p.file || '';
  if (/\.dmn$/i.test(file) && state.dmn[file]) return showTab({ kind: 'dmn', name: file });
  const formKey = Object.keys(state.forms).find((k) => file.endsWith(`${k}.form`));
  if (formKey) return showTab({ kind: 'form', name: formKey });
  if (state.tab.kind !== 'bpmn') await showTab({ kind: 'bpmn', name: null });
  const el = p.element && bpmn.get('elementRegistry').get(p.element);
  if (el) {
    bpmn.get('selection').select(el);
    bpmn.get('canvas').scrollToElement(el);
  }
  return null;
}

// ------------------------------------------------------------------ export / upload
async function exportCurrent() {
  await stashCurrent();
  const { kind, name } = state.tab;
  if (kind === 'bpmn') {
    download(new Blob([bpmnXmlNow], { type: 'application/xml' }), `${processIdOf()}.bpmn`);
  } else if (kind === 'dmn') {
    download(new Blob([state.dmn[name].xml], { type: 'application/xml' }), name.split('/').pop());
  } else {
    download(new Blob([JSON.stringify(state.forms[name].schema, null, 2)], { type: 'application/json' }), `${name.split('/').pop()}.form`);
  }
}

async function onUpload(e) {
  const file = e.target.files[0];
  e.target.value = '';
  if (!file) return;
  const text = await readFile(file);
  const base = file.name.replace(/\.json$/i, '');
  try {
    if (/\.dmn$/i.test(file.name)) {
      const target = state.tab.kind === 'dmn' ? state.tab.name : Object.keys(state.dmn).find((n) => n.split('/').pop() === file.name);
      if (!target) throw new Error('请先在“决策表”中选择要替换的决策表');
      if (state.tab.kind !== 'dmn' || state.tab.name !== target) await showTab({ kind: 'dmn', name: target });
      await dmn.importXML(text);
      state.dmn[target].xml = (await dmn.saveXML({ format: true })).xml;
      const table = dmn.getViews().find((v) => v.type === 'decisionTable');
      if (table) await dmn.open(table);
      say($('#status'), `已载入 ${file.name} 作为 ${target}，可检查后部署。`, 'ok');
    } else if (/\.form$/i.test(base) || /\.json$/i.test(file.name)) {
      const target = state.tab.kind === 'form' ? state.tab.name
        : Object.keys(state.forms).find((k) => `${k.split('/').pop()}.form` === base);
      if (!target) throw new Error('请先在“表单”中选择要替换的表单');
      const schema = JSON.parse(text);
      if (state.tab.kind !== 'form' || state.tab.name !== target) await showTab({ kind: 'form', name: target });
      await formEditor.importSchema(schema);
      state.forms[target].schema = formEditor.saveSchema();
      say($('#status'), `已载入 ${file.name} 作为表单 ${target}，可检查后部署。`, 'ok');
    } else {
      if (state.tab.kind !== 'bpmn') await showTab({ kind: 'bpmn', name: null });
      clearProblems();
      let warnings;
      try {
        warnings = await importBpmn(text);
      } catch (err) {
        showImportFailure(file.name, err);
        renderToolbar();
        return;
      }
      const id = processIdOf();
      if (warnings.length) {
        // bpmn-js drops what it could not read: deploying this would lose it without a word
        showImportWarnings(warnings);
        say($('#status'), `已载入 ${file.name}，但导入器给出 ${warnings.length} 条警告（见下方列表），部分内容可能未载入，请检查后再部署。`, 'error');
      } else {
        say($('#status'), id !== state.key
          ? `已载入 ${file.name}：其流程 id 为 “${id}”，部署后将成为流程 ${id} 的新版本。`
          : `已载入 ${file.name}，可检查后部署。`, id !== state.key ? 'error' : 'ok');
      }
    }
  } catch (err) {
    say($('#status'), `无法载入 ${file.name}：${err.message}`, 'error');
  }
  renderToolbar();
}

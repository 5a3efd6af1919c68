// Case list for supervisors and auditors (/cases): filters by flow, status, period, department and
// overdue (GET /api/process-instances), real paging, bulk export of the same cases (GET /api/traces,
// read as a stream with cases and bytes received shown), and incidents: the open ones by default,
// the resolved ones on request; an admin retries them or marks them handled with a note.
import { $, api, download, errorText, fmtTime, h, hasRole, initPage, me, put, say } from './common.js';
import { STATUS } from './cases.js';

const FILTERS = ['process_key', 'status', 'from', 'to', 'department', 'overdue'];
const EXPORTS = [['xes', 'XES'], ['ocel', 'OCEL 2.0'], ['csv', 'CSV'], ['json', 'JSON']];
// one match per case in each export format (a case id), so the progress counts cases
const CASE_MARK = {
  xes: /<trace><string key="concept:name" value="(\d+)"/g,
  json: /"process_instance_id":(\d+)/g,
  csv: /\n(\d+),/g,
  ocel: /"objectId":\s*"case:(\d+)"/g,
};
const STEP = { connector: '连接器调用', fire_timers: '定时器触发', start: '发起案件', complete: '办理任务', message: '接收消息' };

const state = { page: 1, perPage: 50, names: {}, departments: [] };

initPage(async () => {
  if (!hasRole('leading_group_office', 'auditor', 'admin', 'dept_supervisor')) {
    put($('#caselist'), h('p', { class: 'msg msg-error' }, '案件总览供领导小组办公室、部门负责人、审计员和管理员使用。'));
    return;
  }
  const defs = await api('/api/process-definitions').catch(() => ({ items: [] }));
  state.names = Object.fromEntries(defs.items.map((d) => [d.key, d.name]));
  state.departments = me.departments || [];
  const params = new URLSearchParams(location.search);
  state.page = Math.max(1, parseInt(params.get('page'), 10) || 1);
  state.perPage = Math.min(500, Math.max(1, parseInt(params.get('per_page'), 10) || 50));
  put($('#caselist'), h('h2', {}, '案件总览'), filterForm(defs.items, params),
    h('div', { id: 'case-results' }, h('p', { class: 'muted' }, '加载中…')),
    hasRole('auditor', 'admin', 'leading_group_office') ? exportBox() : null,
    hasRole('auditor', 'admin', 'analyst') ? h('section', { id: 'incidents' }) : null);
  await loadCases();
  if ($('#incidents')) await loadIncidents();
});

function filterForm(defs, params) {
  const sel = (id, options) => {
    const el = h('select', { id: `f-${id}`, name: id }, options.map(([v, t]) => h('option', { value: v }, t)));
    el.value = params.get(id) || '';
    return el;
  };
  const date = (id) => h('input', { type: 'date', id: `f-${id}`, name: id, value: params.get(id) || '' });
  const overdue = h('input', { type: 'checkbox', id: 'f-overdue', name: 'overdue', checked: params.get('overdue') === 'true' });
  return h('form', { id: 'case-filters', class: 'toolbar filters', onsubmit: (e) => { e.preventDefault(); state.page = 1; loadCases(); } },
    h('label', {}, '流程 ', sel('process_key', [['', '全部流程'], ...defs.map((d) => [d.key, d.name || d.key])])),
    h('label', {}, '状态 ', sel('status', [['', '全部'], ...Object.entries(STATUS).map(([k, [l]]) => [k, l])])),
    h('label', {}, '发起时间 ', date('from'), ' 至 ', date('to')),
    h('label', {}, '经办部门 ', sel('department', [['', '全部部门'], ...state.departments.map((d) => [d.code, d.name])])),
    h('label', { class: 'check' }, overdue, ' 仅看逾期'),
    h('button', { type: 'submit', class: 'primary' }, '查询'),
    h('button', { type: 'button', onclick: () => { $('#case-filters').reset(); for (const el of $('#case-filters').elements) if (el.name) el.value = ''; $('#f-overdue').checked = false; state.page = 1; loadCases(); } }, '清除'));
}

/** The filters as query parameters (what both the list and the export take). */
function filterQuery() {
  const q = new URLSearchParams();
  for (const name of FILTERS) {
    const el = $(`#f-${name}`);
    if (name === 'overdue') { if (el.checked) q.set('overdue', 'true'); } else if (el.value) q.set(name, el.value);
  }
  return q;
}

async function loadCases() {
  const box = $('#case-results');
  const q = filterQuery();
  const shown = new URLSearchParams(q);
  if (state.page > 1) shown.set('page', state.page);
  if (state.perPage !== 50) shown.set('per_page', state.perPage);
  history.replaceState(null, '', `/cases${shown.toString() ? `?${shown}` : ''}`);
  q.set('page', state.page);
  q.set('per_page', state.perPage);
  let res;
  try {
    res = await api(`/api/process-instances?${q}`);
  } catch (e) {
    put(box, h('p', { class: 'msg msg-error' }, errorText(e)));
    return;
  }
  state.total = res.total;
  const pages = Math.max(1, Math.ceil(res.total / state.perPage));
  const count = `共 ${res.total}${res.total_exact === false ? '+' : ''} 件`;
  const pager = h('div', { class: 'pager' },
    h('span', { id: 'case-count' }, count),
    h('button', { type: 'button', id: 'page-prev', disabled: state.page <= 1, onclick: () => { state.page -= 1; loadCases(); } }, '上一页'),
    h('span', { id: 'page-no' }, `第 ${state.page} / ${pages}${res.total_exact === false ? '+' : ''} 页`),
    h('button', { type: 'button', id: 'page-next', disabled: res.items.length < state.perPage, onclick: () => { state.page += 1; loadCases(); } }, '下一页'));
  if (!res.items.length) {
    put(box, pager, h('p', { class: 'muted', id: 'case-empty' }, '没有符合条件的案件。'));
    return;
  }
  put(box, pager, h('table', { class: 'list', id: 'case-table' },
    h('thead', {}, h('tr', {}, ['编号', '流程', '业务编号', '企业 / 项目', '状态', '发起时间', '办结时间', '结果'].map((t) => h('th', {}, t)))),
    h('tbody', {}, res.items.map((c) => {
      const [label, cls] = STATUS[c.status] || [c.status, 'badge-muted'];
      return h('tr', { dataset: { id: String(c.id) } },
        h('td', {}, h('a', { href: `/case/${c.id}` }, `#${c.id}`)),
        h('td', {}, state.names[c.process_key] || c.process_key, ` v${c.version}`),
        h('td', {}, c.business_key || '—'),
        h('td', {}, c.display_name || c.enterprise || c.starter || '—'),
        h('td', {}, h('span', { class: `badge ${cls}` }, label)),
        h('td', {}, fmtTime(c.created_at)), h('td', {}, c.ended_at ? fmtTime(c.ended_at) : '—'),
        h('td', {}, c.outcome ? c.outcome.name : '—'));
    }))));
}

// ------------------------------------------------------------------ export
let running = null;

function exportBox() {
  return h('section', { id: 'export' }, h('h3', {}, '批量导出轨迹'),
    h('p', { class: 'muted small' }, '按上方筛选条件导出全部符合条件的案件（不限当前页），供过程挖掘工具（ProM、PM4Py、Celonis 等）使用。'),
    h('div', { class: 'exports' }, EXPORTS.map(([fmt, label]) =>
      h('button', { type: 'button', dataset: { format: fmt }, onclick: () => exportCases(fmt) }, `导出 ${label}`)),
    h('button', { type: 'button', id: 'export-cancel', hidden: true, onclick: () => running && running.abort() }, '取消')),
    h('div', { id: 'export-progress', hidden: true },
      h('progress', { id: 'export-bar', max: 1, value: 0 }), ' ', h('span', { id: 'export-status', class: 'small' })),
    h('div', { id: 'export-msg', class: 'msg', hidden: true }));
}

function kb(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`;
}

async function exportCases(fmt) {
  if (running) return;
  const msg = $('#export-msg');
  const bar = $('#export-bar');
  const status = $('#export-status');
  const q = filterQuery();
  q.set('format', fmt);
  running = new AbortController();
  $('#export-cancel').hidden = false;
  $('#export-progress').hidden = false;
  say(msg, '');
  for (const b of $('#export .exports').querySelectorAll('button[data-format]')) b.disabled = true;
  const seen = new Set();
  let bytes = 0;
  try {
    const resp = await api(`/api/traces?${q}`, { raw: true, signal: running.signal });
    const total = parseInt(resp.headers.get('X-Case-Count'), 10);
    bar.max = total || 1;
    const show = () => {
      bar.value = Math.min(seen.size, bar.max);
      status.textContent = `已接收 ${seen.size} / ${Number.isNaN(total) ? '?' : total} 件案件，${kb(bytes)}`;
    };
    show();
    const reader = resp.body.getReader();
    const decoder = new TextDecoder();
    const chunks = [];
    let tail = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.length;
      // scan with the previous chunk's end, so a mark split across chunks is still found
      const text = tail + decoder.decode(value, { stream: true });
      for (const m of text.matchAll(CASE_MARK[fmt])) seen.add(m[1]);
      tail = text.slice(-200);
      show();
    }
    const named = /filename="?([^";]+)"?/.exec(resp.headers.get('Content-Disposition') || '');
    download(new Blob(chunks, { type: resp.headers.get('Content-Type') || 'application/octet-stream' }), named ? named[1] : `traces.${fmt}`);
    bar.value = bar.max;
    say(msg, `已导出 ${Number.isNaN(total) ? seen.size : total} 件案件（${kb(bytes)}）。`, 'ok');
  } catch (e) {
    say(msg, e.name === 'AbortError' || (e.body && /abort/i.test(e.message)) ? '导出已取消。' : errorText(e), 'error');
  } finally {
    running = null;
    $('#export-cancel').hidden = true;
    for (const b of $('#export .exports').querySelectorAll('button[data-format]')) b.disabled = false;
  }
}

// ------------------------------------------------------------------ incidents
// Open incidents (still needing attention) by default; the toggle adds the resolved ones, each
// with who resolved it, when and why. An admin retries a connector call or timer step, or marks an
// incident handled with a note (POST /api/incidents/<id>/resolve, audited).
const RESOLUTION = { retried: '重试成功', superseded: '案件已结束，无需再处理', manual: '人工处理' };
const incidents = { showResolved: false };

async function loadIncidents(note) {
  const box = $('#incidents');
  const status = incidents.showResolved ? 'all' : 'open';
  const toggle = h('label', { class: 'check small' },
    h('input', { type: 'checkbox', id: 'incident-show-resolved', checked: incidents.showResolved,
      onchange: (e) => { incidents.showResolved = e.target.checked; loadIncidents(); } }),
    ' 显示已处理的故障');
  const head = h('div', { class: 'incident-head' }, h('h3', {}, '故障（失败的引擎步骤）'), toggle);
  let res;
  try {
    res = await api(`/api/incidents?per_page=20&status=${status}`);
  } catch (e) {
    put(box, head, h('p', { class: 'msg msg-error' }, errorText(e)));
    return;
  }
  const admin = hasRole('admin');
  const msg = h('div', { id: 'incident-msg', class: 'msg', hidden: true });
  if (note) say(msg, ...note);
  const tell = (i, text, kind) => loadIncidents([`故障 #${i.id}${i.process_instance_id ? `（案件 #${i.process_instance_id}）` : ''}：${text}`, kind]);
  put(box, head, msg,
    res.items.length ? h('table', { class: 'list', id: 'incident-table' },
      h('thead', {}, h('tr', {}, ['时间', '案件', '环节', '步骤', '原因', '状态', admin ? '处理' : null].filter(Boolean).map((t) => h('th', {}, t)))),
      h('tbody', {}, res.items.map((i) => h('tr', { dataset: { id: String(i.id), command: i.command, status: i.status }, class: i.status === 'resolved' ? 'resolved' : null },
        h('td', {}, fmtTime(i.created_at)),
        h('td', {}, i.process_instance_id ? h('a', { href: `/case/${i.process_instance_id}` }, `#${i.process_instance_id}`) : '—'),
        h('td', {}, i.activity_name || i.activity_id || '—'),
        h('td', {}, STEP[i.command] || i.command),
        h('td', { class: 'small reason' }, i.message),
        statusCell(i),
        admin ? h('td', { class: 'act' }, actions(i, tell)) : null)))
    ) : h('p', { class: 'muted', id: 'incident-empty' }, incidents.showResolved ? '暂无故障。' : '暂无待处理的故障。'),
    res.total > res.items.length ? h('p', { class: 'muted small' }, `显示最新 ${res.items.length} 条，共 ${res.total} 条${incidents.showResolved ? '' : '待处理'}。`) : null);
}

function statusCell(i) {
  if (i.status !== 'resolved') return h('td', { class: 'status' }, h('span', { class: 'badge badge-warn' }, '待处理'));
  const who = i.resolved_by === 'system' ? '系统' : i.resolved_by;
  const why = i.resolution === 'manual' ? `说明：${i.resolution_note}` : RESOLUTION[i.resolution] || i.resolution;
  return h('td', { class: 'status' }, h('span', { class: 'badge badge-ok' }, '已处理'),
    h('div', { class: 'small muted resolved-by' }, `${who} · ${fmtTime(i.resolved_at)}`),
    h('div', { class: 'small resolved-why' }, why));
}

function actions(i, tell) {
  // a hand-resolved connector call may still wait for its retry: it stays retryable
  const canRetry = i.retryable && (i.status === 'open' || i.resolution === 'manual');
  const retry = canRetry ? h('button', { type: 'button', class: 'retry', onclick: async () => {
    retry.disabled = true;
    try {
      const r = await api(`/api/incidents/${i.id}/retry`, { method: 'POST' });
      await tell(i, r.command === 'fire_timers' ? `已重新触发 ${r.fired} 个定时器，案件继续办理，故障已处理。`
        : '已重新排队，连接器将再次调用；调用成功后故障自动标记为已处理。', 'ok');
    } catch (e) {
      // a failed retry records a new incident: the list shows it
      await tell(i, errorText(e), 'error');
    }
  } }, '重试') : null;
  if (i.status === 'resolved') return retry || '—';
  const cell = h('div', { class: 'incident-actions' });
  const resolve = h('button', { type: 'button', class: 'resolve', onclick: () => {
    const input = h('input', { type: 'text', class: 'resolve-note', maxlength: 1000, placeholder: '处理说明（必填，记入审计）', 'aria-label': '处理说明',
      oninput: () => say(formMsg, '') });
    const formMsg = h('div', { class: 'msg small', hidden: true });
    const form = h('form', { class: 'resolve-form', onsubmit: async (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (!text) { say(formMsg, '请填写处理说明。', 'error'); input.focus(); return; }
      ok.disabled = true;
      try {
        await api(`/api/incidents/${i.id}/resolve`, { method: 'POST', json: { note: text } });
      } catch (err) {
        ok.disabled = false;
        const fields = Object.entries((err.body && err.body.fields) || {}).map(([k, v]) => `${k === 'note' ? '处理说明' : k}：${v.join('；')}`);
        say(formMsg, [errorText(err), ...fields].join(' — '), 'error');
        return;
      }
      await tell(i, '已标记为已处理。', 'ok');
    } }, input,
    h('div', { class: 'row' },
      h('button', { type: 'submit', class: 'primary' }, '确定'),
      h('button', { type: 'button', onclick: () => put(cell, ...buttons) }, '取消')),
    formMsg);
    const ok = form.querySelector('button[type=submit]');
    put(cell, form);
    input.focus();
  } }, '标记已处理');
  const buttons = [retry || h('span', { class: 'muted small' }, '由提交方重新提交'), resolve];
  put(cell, ...buttons);
  return cell;
}

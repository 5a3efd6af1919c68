// The leading-group office's dashboard (督办): per department on-time rate, overdue now, median
// handling time; per flow lead time (hours and working days) and, per activity, waiting vs working
// hours; the overdue list with links. Every figure is read from
// /api/reports/departments, /api/reports/flows and /api/reports/overdue with the page's period and
// flow — nothing is computed here but the on-time rate (on time / finished with a deadline).
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { $, api, errorText, fmtTime, h, hasRole, initPage, me, put, say } from './common.js';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);

const PER_PAGE = 20;
const DAY = 86400000;
const state = { period: 'all', from: '', to: '', process_key: '', page: 1, now: null, defs: [] };
const charts = {};

initPage(async () => {
  const root = $('#supervision');
  if (!hasRole('leading_group_office', 'auditor', 'admin')) {
    put(root, h('h1', {}, '督办'), h('p', { class: 'msg msg-error' }, '督办看板仅供领导小组办公室、审计员和管理员使用。'));
    return;
  }
  readUrl();
  put(root,
    h('h1', {}, '督办看板', h('small', { class: 'muted', id: 'as-of' })),
    filters(),
    h('div', { id: 'sv-msg', class: 'msg', hidden: true }),
    h('div', { class: 'kpis', id: 'kpis' }),
    h('div', { class: 'chart-row' },
      h('section', { class: 'chart-box' }, h('h2', {}, '各部门按期办结率'), h('div', { class: 'chart', id: 'chart-ontime' })),
      h('section', { class: 'chart-box' }, h('h2', {}, '各部门当前逾期与办理时长'), h('div', { class: 'chart', id: 'chart-handling' })),
      h('section', { class: 'chart-box' }, h('h2', {}, '各流程办理周期（小时）'), h('div', { class: 'chart', id: 'chart-lead' }))),
    h('h2', {}, '部门办理情况'), h('div', { id: 'dept-table' }),
    h('h2', {}, '流程运行情况'), h('div', { id: 'flow-table' }),
    h('h2', { id: 'activities-title' }, '环节等待与办理'),
    h('p', { class: 'muted small', id: 'activities-note' },
      '按所选期间内发起的案件统计，时长单位为小时（自然时间，P90 同）。等待：任务生成至最终办结前的那次认领（中途退回待认领的时间计入等待）；',
      '办理：该次认领至办结；未经认领即办结的，等待计为 0。环节按平均等待与办理合计从长到短排列。'),
    h('div', { id: 'activities' }),
    h('h2', {}, '逾期待办（督办清单）'), h('div', { id: 'overdue' }));
  window.addEventListener('resize', () => Object.values(charts).forEach((c) => c.resize()));
  try {
    state.defs = (await api('/api/process-definitions')).items;
    fillFlows();
  } catch (e) { say($('#sv-msg'), errorText(e), 'error'); }
  await load();
});

// ------------------------------------------------------------------ filters
const PERIODS = [['all', '全部'], ['month', '本月'], ['30d', '近 30 天'], ['quarter', '本季度'], ['year', '本年'], ['custom', '自定义']];

function readUrl() {
  const p = new URLSearchParams(location.search);
  for (const k of ['period', 'from', 'to', 'process_key']) if (p.get(k)) state[k] = p.get(k);
  if (!PERIODS.some(([v]) => v === state.period)) state.period = 'all';
}

function writeUrl() {
  const p = new URLSearchParams();
  if (state.period !== 'all') p.set('period', state.period);
  if (state.period === 'custom') { if (state.from) p.set('from', state.from); if (state.to) p.set('to', state.to); }
  if (state.process_key) p.set('process_key', state.process_key);
  const qs = p.toString();
  history.replaceState(null, '', `${location.pathname}${qs ? `?${qs}` : ''}`);
}

function filters() {
  const change = (k) => (e) => { state[k] = e.target.value; state.page = 1; showCustom(); load(); };
  const custom = h('span', { id: 'custom-range', class: 'filter-range' },
    h('label', { class: 'filter' }, h('span', {}, '自'), h('input', { type: 'date', id: 'from', value: state.from, onchange: change('from') })),
    h('label', { class: 'filter' }, h('span', {}, '至（含）'), h('input', { type: 'date', id: 'to', value: state.to, onchange: change('to') })));
  function showCustom() { custom.hidden = state.period !== 'custom'; }
  showCustom();
  return h('div', { class: 'filters' },
    h('label', { class: 'filter' }, h('span', {}, '统计期间'),
      h('select', { id: 'period', onchange: change('period') },
        PERIODS.map(([v, t]) => h('option', { value: v, selected: state.period === v }, t)))),
    custom,
    h('label', { class: 'filter' }, h('span', {}, '流程'),
      h('select', { id: 'flow', onchange: change('process_key') }, h('option', { value: '' }, '全部流程'))),
    h('button', { type: 'button', id: 'reload', onclick: () => load() }, '刷新'),
    h('span', { class: 'muted small', id: 'window' }));
}

function fillFlows() {
  const sel = $('#flow');
  for (const d of state.defs) sel.append(h('option', { value: d.key, selected: state.process_key === d.key }, d.name || d.key));
}

/** China calendar day (YYYY-MM-DD) of a Date. */
function chinaDay(d) {
  return new Date(d.getTime() + 8 * 3600000).toISOString().slice(0, 10);
}

/** The window [from, to] (China days, `to` inclusive) of the chosen period, relative to the
 *  service's clock (the reports' `now`), not the browser's. */
function windowOf() {
  if (state.period === 'custom') return [state.from, state.to];
  if (state.period === 'all' || !state.now) return ['', ''];
  const today = chinaDay(state.now);
  const [y, m] = today.split('-').map(Number);
  if (state.period === 'month') return [`${today.slice(0, 7)}-01`, today];
  if (state.period === '30d') return [chinaDay(new Date(state.now.getTime() - 29 * DAY)), today];
  if (state.period === 'quarter') return [`${y}-${String(Math.floor((m - 1) / 3) * 3 + 1).padStart(2, '0')}-01`, today];
  return [`${y}-01-01`, today];
}

// ------------------------------------------------------------------ load
async function load() {
  writeUrl();
  const msg = $('#sv-msg');
  msg.hidden = true;
  if (!state.now && !['all', 'custom'].includes(state.period)) {
    try { state.now = new Date((await api('/api/reports/overdue?per_page=1')).now); } catch (e) { say(msg, errorText(e), 'error'); return; }
  }
  const [from, to] = windowOf();
  const q = new URLSearchParams();
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  if (state.process_key) q.set('process_key', state.process_key);
  const oq = new URLSearchParams({ page: String(state.page), per_page: String(PER_PAGE) });
  if (state.process_key) oq.set('process_key', state.process_key);
  let depts;
  let flows;
  let late;
  try {
    [depts, flows, late] = await Promise.all([api(`/api/reports/departments?${q}`), api(`/api/reports/flows?${q}`),
      api(`/api/reports/overdue?${oq}`)]);
  } catch (e) {
    say(msg, errorText(e), 'error');
    return;
  }
  state.now = new Date(depts.now);
  put($('#as-of'), `　截至 ${fmtTime(depts.now)}`);
  put($('#window'), from || to ? `已办结按 ${from || '最早'} 至 ${to || '今日'} 统计；在办与逾期为当前状态。` : '全部时间；在办与逾期为当前状态。');
  const rows = depts.departments.filter((d) => d.department).sort((a, b) => b.open_overdue - a.open_overdue || a.role.localeCompare(b.role));
  renderKpis(rows, flows.items, late);
  renderDeptTable(rows);
  renderFlowTable(flows.items);
  renderActivities(flows.items, roleNames(depts));
  renderOverdue(late);
  renderCharts(rows, flows.items);
}

function rate(d) {
  const dated = d.on_time + d.overdue;
  return dated ? d.on_time / dated : null;
}
const pct = (r) => (r === null ? '—' : `${(r * 100).toFixed(1)}%`);
const hours = (x) => (x === null || x === undefined ? '—' : String(x));   // as the API gives it (2 decimals)
const none = (x) => x === null || x === undefined;
/** Working days: 2 decimals below 10 days, 1 above (the API gives 3). */
const workdays = (x) => (none(x) ? '—' : x.toFixed(Math.abs(x) < 10 ? 2 : 1));
/** Hours of the activity figures (the API gives 3 decimals): 2 decimals. */
const hrs2 = (x) => (none(x) ? '—' : x.toFixed(2));

function renderKpis(rows, flows, late) {
  const sum = (k) => rows.reduce((n, d) => n + d[k], 0);
  const all = { on_time: sum('on_time'), overdue: sum('overdue') };
  const card = (id, label, value, cls = '') => h('div', { class: `kpi ${cls}`, id }, h('div', { class: 'kpi-value' }, value), h('div', { class: 'kpi-label' }, label));
  put($('#kpis'),
    card('kpi-ontime', '按期办结率', pct(rate(all))),
    card('kpi-overdue', '当前逾期', String(late.total), late.total ? 'kpi-bad' : ''),
    card('kpi-open', '在办任务', String(sum('open'))),
    card('kpi-completed', '期间办结', String(sum('completed'))),
    card('kpi-escalated', '已督办', String(sum('escalated')), sum('escalated') ? 'kpi-warn' : ''),
    card('kpi-cases', '期间发起案件', String(flows.reduce((n, f) => n + f.started, 0))));
}

const DEPT_COLS = [
  ['role_name', '部门'], ['completed', '已办结'], ['on_time', '按期'], ['overdue', '逾期办结'], ['no_deadline', '无时限'],
  ['rate', '按期率'], ['open', '在办'], ['open_overdue', '当前逾期'], ['escalated', '督办'],
  ['median', '办理时长中位数（小时）'], ['p90', 'P90（小时）'],
];

function deptValue(d, k) {
  if (k === 'rate') return pct(rate(d));
  if (k === 'median') return hours(d.handling.hours.median);
  if (k === 'p90') return hours(d.handling.hours.p90);
  return String(d[k]);
}

function renderDeptTable(rows) {
  if (!rows.length) { put($('#dept-table'), h('p', { class: 'muted', id: 'no-depts' }, '所选期间和流程没有部门办理记录。')); return; }
  put($('#dept-table'), h('table', { class: 'list figures', id: 'depts' },
    h('thead', {}, h('tr', {}, DEPT_COLS.map(([, t]) => h('th', {}, t)))),
    h('tbody', {}, rows.map((d) => h('tr', { dataset: { role: d.role }, class: d.open_overdue ? 'overdue' : '' },
      DEPT_COLS.map(([k]) => h('td', { dataset: { k }, class: k === 'open_overdue' && d.open_overdue ? 'bad' : '' }, deptValue(d, k))))))));
}

const FLOW_COLS = [
  ['process_name', '流程'], ['started', '发起'], ['running', '在办'], ['completed', '办结'], ['terminated', '终止'],
  ['median', '办理周期中位数（小时）'], ['p90', 'P90（小时）'],
  ['wd_median', '办理周期中位数（工作日）'], ['wd_p90', 'P90（工作日）'], ['rework_rounds', '返工轮次'],
];

function flowValue(f, k) {
  const lt = f.lead_time;
  if (k === 'median') return hours(lt.hours.median);
  if (k === 'p90') return hours(lt.hours.p90);
  if (k === 'wd_median') return workdays(lt.workdays && lt.workdays.median);
  if (k === 'wd_p90') return workdays(lt.workdays && lt.workdays.p90);
  return String(f[k] ?? 0);
}

function renderFlowTable(items) {
  if (!items.length) { put($('#flow-table'), h('p', { class: 'muted', id: 'no-flows' }, '所选期间和流程没有发起的案件。')); return; }
  put($('#flow-table'), h('table', { class: 'list figures', id: 'flows' },
    h('thead', {}, h('tr', {}, FLOW_COLS.map(([, t]) => h('th', {}, t)))),
    h('tbody', {}, items.map((f) => h('tr', { dataset: { key: f.process_key } },
      FLOW_COLS.map(([k]) => h('td', { dataset: { k } }, flowValue(f, k))))))));
}

// ------------------------------------------------------------------ per activity: waiting vs working
/** Role code → Chinese name: the caller's own roles and the departments (/api/me), then every
 *  role the departments report names; an unknown code is shown as it is. */
function roleNames(depts) {
  const names = { ...((me && me.role_names) || {}) };
  for (const d of (me && me.departments) || []) names[d.code] = d.name;
  for (const d of [...depts.departments, ...depts.items]) if (d.role_name) names[d.role] = d.role_name;
  return names;
}

const ACT_COLS = [
  ['name', '环节'], ['role', '部门'], ['completed', '办结'], ['cancelled', '取消'],
  ['wait_median', '等待中位数（小时）'], ['work_median', '办理中位数（小时）'],
  ['wait_p90', '等待 P90'], ['work_p90', '办理 P90'], ['waiting_share', '等待占比'],
];
const TEXT_COLS = new Set(['name', 'role']);
const WAIT_COLOR = '#d4a72c';
const WORK_COLOR = '#0969da';

function activityValue(a, k, names) {
  if (k === 'name') return a.name || a.activity_id;
  if (k === 'role') return a.role ? names[a.role] || a.role : '—';
  if (k === 'wait_median') return hrs2(a.waiting_hours.median);
  if (k === 'work_median') return hrs2(a.working_hours.median);
  if (k === 'wait_p90') return hrs2(a.waiting_hours.p90);
  if (k === 'work_p90') return hrs2(a.working_hours.p90);
  if (k === 'waiting_share') return pct(none(a.waiting_share) ? null : a.waiting_share);
  return String(a[k]);
}

/** One section per flow: a table of its activities and a stacked bar of mean waiting vs working
 *  hours, so the office sees at a glance where cases wait. */
function renderActivities(items, names) {
  const box = $('#activities');
  for (const [id, c] of Object.entries(charts)) {   // the previous load's activity charts
    if (id.startsWith('chart-act-')) { c.dispose(); delete charts[id]; }
  }
  if (!items.length) { put(box, h('p', { class: 'muted', id: 'no-activities' }, '所选期间和流程没有发起的案件。')); return; }
  const drawn = [];
  put(box, items.map((f, i) => {
    const acts = f.activities || [];
    const done = acts.filter((a) => a.completed > 0);
    const head = h('h3', {}, f.process_name, h('span', { class: 'muted small' }, `　${f.process_key}`));
    if (!done.length) {
      return h('section', { class: 'act-flow', dataset: { flow: f.process_key } }, head,
        h('p', { class: 'muted no-activity' }, acts.length ? '尚无办结的环节（已有任务仍在办理或被取消）。' : '尚无办结的环节。'));
    }
    const id = `chart-act-${i}`;
    drawn.push([id, done]);
    return h('section', { class: 'act-flow', dataset: { flow: f.process_key } }, head,
      h('div', { class: 'act-row' },
        h('table', { class: 'list figures act-table' },
          h('thead', {}, h('tr', {}, ACT_COLS.map(([k, t]) => h('th', { class: TEXT_COLS.has(k) ? 'text' : '' },
            t.split(/(?=（)/).map((part, j) => [j ? h('br') : null, part]))))),   // the unit on a line of its own
          h('tbody', {}, acts.map((a) => h('tr', { dataset: { flow: f.process_key, activity: a.activity_id }, class: a.completed ? '' : 'muted' },
            ACT_COLS.map(([k]) => h('td', {
              dataset: { k },
              class: k === 'waiting_share' && a.waiting_share >= 0.5 ? 'warn' : '',
              title: k === 'name' ? a.activity_id : null,
            }, activityValue(a, k, names))))))),
        h('div', { class: 'chart-box act-chart' },
          h('h4', {}, '平均等待与办理时长（小时）'), h('div', { class: 'chart', id }))));
  }));
  for (const [id, done] of drawn) activityChart(id, done);
}

/** Tooltips are HTML: a diagram's names are text. */
function escapeHtml(t) {
  return String(t).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function activityChart(id, acts) {
  $(`#${id}`).style.height = `${Math.max(140, acts.length * 30 + 70)}px`;
  const mean = (s) => (none(s.mean) ? 0 : +s.mean.toFixed(2));
  chart(id).setOption({
    animation: false,   // redrawn on every filter change; a settled chart at once
    grid: { left: 190, right: 36, top: 30, bottom: 24 },
    legend: { top: 0, data: ['等待', '办理'] },
    tooltip: {
      trigger: 'axis', axisPointer: { type: 'shadow' },
      formatter: (ps) => {
        const a = acts[ps[0].dataIndex];
        const share = none(a.waiting_share) ? '—' : pct(a.waiting_share);
        return `${escapeHtml(a.name || a.activity_id)}<br>平均等待 ${hrs2(a.waiting_hours.mean)} 小时<br>平均办理 ${hrs2(a.working_hours.mean)} 小时<br>等待占比 ${share}（${a.completed} 件）`;
      },
    },
    xAxis: { type: 'value', name: '小时', nameGap: 6, nameTextStyle: { align: 'right', verticalAlign: 'top', padding: [8, 0, 0, 0] } },
    yAxis: { type: 'category', data: acts.map((a) => a.name || a.activity_id), inverse: true, axisLabel: { ...AXIS_LABEL, width: 176 } },
    series: [
      { type: 'bar', name: '等待', stack: 'time', data: acts.map((a) => mean(a.waiting_hours)), itemStyle: { color: WAIT_COLOR } },
      { type: 'bar', name: '办理', stack: 'time', data: acts.map((a) => mean(a.working_hours)), itemStyle: { color: WORK_COLOR } },
    ],
  }, true);
}

function overdueText(hrs) {
  return hrs >= 24 ? `${Math.floor(hrs / 24)} 天 ${Math.round(hrs % 24)} 小时` : `${hrs} 小时`;
}

function renderOverdue(late) {
  const box = $('#overdue');
  if (!late.total) { put(box, h('p', { class: 'muted', id: 'no-overdue' }, '当前没有逾期待办。')); return; }
  const pages = Math.max(1, Math.ceil(late.total / PER_PAGE));
  put(box,
    h('table', { class: 'list', id: 'overdue-table' },
      h('thead', {}, h('tr', {}, ['期限', '已逾期', '任务', '部门', '流程', '案件 / 业务编号', '企业 / 项目', '认领人', '督办'].map((t) => h('th', {}, t)))),
      h('tbody', {}, late.items.map((t) => h('tr', { class: 'overdue', dataset: { task: t.task_id } },
        h('td', { class: 'nowrap' }, fmtTime(t.due_at)),
        h('td', { class: 'nowrap bad' }, overdueText(t.overdue_hours)),
        h('td', {}, t.name),
        h('td', {}, t.role_name),
        h('td', {}, t.process_name),
        h('td', {}, h('a', { href: `/case/${t.process_instance_id}` }, `#${t.process_instance_id}`), h('div', { class: 'bk small' }, t.business_key || '—')),
        h('td', {}, t.display_name || '—'),
        h('td', {}, t.assignee_name || h('span', { class: 'muted' }, '未认领')),
        h('td', { class: 'nowrap' }, t.escalated_at ? fmtTime(t.escalated_at) : '—'))))),
    h('div', { class: 'pager' },
      h('span', { id: 'overdue-count' }, `共 ${late.total} 项`),
      h('button', { type: 'button', id: 'od-prev', disabled: state.page <= 1, onclick: () => { state.page -= 1; load(); } }, '上一页'),
      h('span', { id: 'od-page' }, `第 ${state.page} / ${pages} 页`),
      h('button', { type: 'button', id: 'od-next', disabled: state.page >= pages, onclick: () => { state.page += 1; load(); } }, '下一页')));
}

// ------------------------------------------------------------------ charts
function chart(id) {
  const el = $(`#${id}`);
  if (!charts[id] || charts[id].getDom() !== el) charts[id] = echarts.init(el, null, { renderer: 'svg', locale: 'ZH' });
  return charts[id];
}

const AXIS_LABEL = { fontSize: 11, width: 110, overflow: 'truncate' };

function renderCharts(rows, flows) {
  const names = rows.map((d) => d.role_name);
  chart('chart-ontime').setOption({
    grid: { left: 120, right: 40, top: 10, bottom: 24 },
    tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null ? '—' : `${v}%`) },
    xAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
    yAxis: { type: 'category', data: names, inverse: true, axisLabel: AXIS_LABEL },
    series: [{ type: 'bar', name: '按期办结率', data: rows.map((d) => (rate(d) === null ? null : +(rate(d) * 100).toFixed(1))),
      itemStyle: { color: '#1a7f37' }, label: { show: true, position: 'right', formatter: (p) => `${p.value}%` } }],
  }, true);
  chart('chart-handling').setOption({
    grid: { left: 120, right: 40, top: 30, bottom: 24 },
    legend: { top: 0 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'value' },
    yAxis: { type: 'category', data: names, inverse: true, axisLabel: AXIS_LABEL },
    series: [
      { type: 'bar', name: '当前逾期（件）', data: rows.map((d) => d.open_overdue), itemStyle: { color: '#cf222e' } },
      { type: 'bar', name: '办理时长中位数（小时）', data: rows.map((d) => d.handling.hours.median), itemStyle: { color: '#0969da' } },
    ],
  }, true);
  chart('chart-lead').setOption({
    grid: { left: 120, right: 40, top: 30, bottom: 24 },
    legend: { top: 0 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'value' },
    yAxis: { type: 'category', data: flows.map((f) => f.process_name), inverse: true, axisLabel: AXIS_LABEL },
    series: [
      { type: 'bar', name: '中位数', data: flows.map((f) => f.lead_time.hours.median), itemStyle: { color: '#0b5cad' } },
      { type: 'bar', name: 'P90', data: flows.map((f) => f.lead_time.hours.p90), itemStyle: { color: '#9a6700' } },
    ],
  }, true);
  for (const id of ['chart-ontime', 'chart-handling']) {
    const height = Math.max(160, rows.length * (id === 'chart-handling' ? 34 : 24) + 60);
    $(`#${id}`).style.height = `${height}px`;
    charts[id].resize();
  }
}

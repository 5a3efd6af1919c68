// Inbox: the caller's open tasks by due time (overdue marked), claim / unclaim, the task's form
// (form-js, in Chinese), complete; server validation errors are shown on their fields.
// Applicants (and commissioners) can also start a case here with the process's start form.
import { $, api, errorText, fmtTime, h, hasRole, initPage, me, randomKey, say, put } from './common.js';
import { FormView } from './forms.js';

const PER_PAGE = 20;
const state = {
  tasks: [], current: null, total: 0, exact: true, defs: [],
  filters: { q: '', process_key: '', due: '', assignee: '', role: '', sort: 'due', page: 1 },
};
let view = null;

initPage(async () => {
  view = new FormView(h('div'));
  readFiltersFromUrl();
  renderShell();
  await Promise.all([loadDefs(), loadStarters()]);
  await loadTasks();
  const want = new URLSearchParams(location.search).get('task');
  if (want) openTask(want);
});

const FILTER_KEYS = ['q', 'process_key', 'due', 'assignee', 'role', 'sort', 'page'];

function readFiltersFromUrl() {
  const p = new URLSearchParams(location.search);
  for (const k of FILTER_KEYS) if (p.get(k)) state.filters[k] = k === 'page' ? Math.max(1, +p.get(k) || 1) : p.get(k);
}

function writeFiltersToUrl() {
  const p = new URLSearchParams(location.search);
  for (const k of FILTER_KEYS) {
    const v = state.filters[k];
    if (v && !(k === 'sort' && v === 'due') && !(k === 'page' && v === 1)) p.set(k, v); else p.delete(k);
  }
  const qs = p.toString();
  history.replaceState(null, '', `${location.pathname}${qs ? `?${qs}` : ''}`);
}

// department roles the caller holds: "my department" narrows the inbox to one of them
function myDepartments() {
  const names = (me && me.role_names) || {};
  return Object.keys(names).filter((r) => !['applicant', 'commissioner', 'analyst', 'auditor', 'admin'].includes(r))
    .map((r) => [r, names[r]]);
}

function select(id, label, options, key) {
  return h('label', { class: 'filter' }, h('span', {}, label),
    h('select', { id, onchange: (e) => { state.filters[key] = e.target.value; state.filters.page = 1; loadTasks(); } },
      options.map(([v, text]) => h('option', { value: v, selected: state.filters[key] === v }, text))));
}

function renderShell() {
  const root = $('#tasks');
  let timer = null;
  const search = h('input', {
    type: 'search', id: 'task-search', placeholder: '业务编号或企业名称', value: state.filters.q, maxlength: 200,
    oninput: (e) => {
      clearTimeout(timer);
      timer = setTimeout(() => { state.filters.q = e.target.value.trim(); state.filters.page = 1; loadTasks(); }, 300);
    },
  });
  const depts = myDepartments();
  put(root,
    h('h1', {}, '待办任务'),
    h('div', { class: 'filters', id: 'task-filters' },
      h('label', { class: 'filter filter-search' }, h('span', {}, '搜索'), search),
      h('span', { id: 'flow-filter-box' }),
      select('due-filter', '期限', [['', '全部'], ['overdue', '已逾期'], ['soon', '即将到期'], ['later', '更晚到期'], ['none', '无期限']], 'due'),
      select('claim-filter', '认领', [['', '全部'], ['me', '我认领的'], ['none', '未认领']], 'assignee'),
      depts.length ? select('dept-filter', '范围', [['', '全部'], ...depts.map(([r, n]) => [r, `本部门：${n}`])], 'role') : null,
      select('sort-filter', '排序', [['due', '期限最早在前'], ['-due', '期限最晚在前'], ['-created', '最新到达在前'], ['created', '最早到达在前']], 'sort'),
      h('button', { type: 'button', id: 'refresh', onclick: () => loadTasks() }, '刷新')),
    h('div', { id: 'list-msg', class: 'msg', hidden: true }),
    h('div', { class: 'pager', id: 'pager' }),
    h('div', { id: 'task-list' }),
    h('div', { id: 'starters' }),
  );
}

async function loadDefs() {
  try {
    state.defs = (await api('/api/process-definitions')).items;
  } catch (e) {
    state.defs = [];
  }
  put($('#flow-filter-box'), select('flow-filter', '流程',
    [['', '全部流程'], ...state.defs.map((d) => [d.key, d.name || d.key])], 'process_key'));
}

function flowName(t) {
  if (t.process_name) return t.process_name;
  const d = state.defs.find((x) => x.key === t.process_key);
  return d ? d.name : t.process_key;
}

async function loadTasks() {
  const list = $('#task-list');
  const f = state.filters;
  const params = new URLSearchParams({ per_page: PER_PAGE, page: f.page });
  for (const k of ['q', 'process_key', 'due', 'assignee', 'role']) if (f[k]) params.set(k, f[k]);
  if (f.sort && f.sort !== 'due') params.set('sort', f.sort);
  writeFiltersToUrl();
  try {
    const page = await api(`/api/tasks?${params}`);
    state.tasks = page.items;
    state.total = page.total;
    state.exact = page.total_exact !== false;
  } catch (e) {
    say($('#list-msg'), errorText(e), 'error');
    return;
  }
  say($('#list-msg'), '');
  renderPager();
  if (!state.tasks.length) {
    const filtered = ['q', 'process_key', 'due', 'assignee', 'role'].some((k) => f[k]);
    put(list, h('p', { class: 'muted', id: 'no-tasks' }, filtered ? '没有符合条件的待办任务。' : '没有待办任务。'));
    return;
  }
  put(list, h('table', { class: 'list', id: 'task-table' },
    h('thead', {}, h('tr', {}, ['期限', '任务', '流程', '案件 / 业务编号', '企业', '认领人', ''].map((t) => h('th', {}, t)))),
    h('tbody', {}, state.tasks.map(taskRow))));
}

function renderPager() {
  const f = state.filters;
  const pages = Math.max(1, Math.ceil(state.total / PER_PAGE));
  const go = (p) => { f.page = p; loadTasks(); };
  put($('#pager'),
    h('span', { id: 'task-count', class: 'muted small' }, `共 ${state.total}${state.exact ? '' : '+'} 项`),
    h('button', { type: 'button', id: 'page-prev', disabled: f.page <= 1, onclick: () => go(f.page - 1) }, '上一页'),
    h('span', { id: 'page-info', class: 'small' }, `第 ${f.page} / ${pages}${state.exact ? '' : '+'} 页`),
    h('button', { type: 'button', id: 'page-next', disabled: f.page >= pages && state.exact, onclick: () => go(f.page + 1) }, '下一页'));
}

function dueCell(t) {
  if (!t.due_at) return h('td', {}, h('span', { class: 'muted' }, '无期限'));
  return h('td', { class: 'nowrap' }, fmtTime(t.due_at),
    t.overdue ? [' ', h('span', { class: 'badge badge-bad' }, '已逾期')] : null,
    t.due_soon ? [' ', h('span', { class: 'badge badge-warn' }, '即将到期')] : null);
}

function taskRow(t) {
  const mineNow = me && t.assignee === me.username;
  return h('tr', {
    class: [t.overdue ? 'overdue' : '', t.due_soon ? 'due-soon' : '', state.current === t.id ? 'selected' : ''].join(' ').trim(),
    dataset: { taskId: t.id, activityId: t.activity_id },
  },
  dueCell(t),
  h('td', {}, h('a', { href: `?task=${t.id}`, onclick: (e) => { e.preventDefault(); openTask(t.id); } }, t.name),
    h('div', { class: 'muted small' }, t.role_name || t.role)),
  h('td', { class: 'flow' }, flowName(t)),
  h('td', {}, h('a', { href: `/case/${t.process_instance_id}` }, `#${t.process_instance_id}`),
    h('div', { class: 'small bk' }, t.business_key || '—')),
  h('td', { class: 'enterprise' }, t.enterprise_name || '—'),
  h('td', {}, t.assignee ? h('span', { class: `badge ${mineNow ? 'badge-active' : 'badge-muted'}`, title: t.assignee },
    mineNow ? `${t.assignee_name || t.assignee}（我）` : (t.assignee_name || t.assignee)) : h('span', { class: 'muted' }, '未认领')),
  h('td', {}, claimButton(t)));
}

// analysts, auditors and admins read the inbox; only departments and applicants act on tasks
const actsOnTasks = () => !!me && me.roles.some((r) => !['analyst', 'auditor', 'admin'].includes(r));

function claimButton(t) {
  if (!actsOnTasks()) return null;
  if (t.assignee === me.username) {
    return h('button', { type: 'button', class: 'unclaim', onclick: () => claim(t.id, false) }, '释放');
  }
  if (!t.assignee) return h('button', { type: 'button', class: 'claim', onclick: () => claim(t.id, true) }, '认领');
  return null;
}

async function claim(taskId, yes) {
  try {
    await api(`/api/tasks/${taskId}/${yes ? 'claim' : 'unclaim'}`, { method: 'POST' });
    say($('#list-msg'), yes ? '已认领。' : '已释放，任务退回本部门待办。', 'ok');
  } catch (e) {
    say($('#list-msg'), errorText(e), 'error');
  }
  await loadTasks();
  if (state.current === taskId) await openTask(taskId);
}

async function openTask(taskId) {
  const detail = $('#detail');
  state.current = taskId;
  document.querySelectorAll('#task-table tr').forEach((tr) => tr.classList.toggle('selected', tr.dataset.taskId === taskId));
  let task;
  try {
    task = await api(`/api/tasks/${encodeURIComponent(taskId)}`);
  } catch (e) {
    put(detail, h('div', { class: 'msg msg-error' }, errorText(e)));
    return;
  }
  const mine = me && task.assignee === me.username;
  const other = task.assignee && !mine;
  const status = h('div', { id: 'task-msg', class: 'msg', hidden: true });
  const formBox = h('div', { id: 'task-form' });
  const submit = actsOnTasks() ? h('button', { type: 'button', class: 'primary', id: 'complete', disabled: other || task.state !== 'open' }, '提交办理') : null;
  put(detail, 
    h('h2', {}, task.name),
    h('dl', { class: 'kv' },
      h('dt', {}, '流程'), h('dd', {}, flowName(task)),
      h('dt', {}, '案件'), h('dd', {}, h('a', { href: `/case/${task.process_instance_id}` }, `#${task.process_instance_id}`)),
      h('dt', {}, '部门'), h('dd', {}, task.role_name || task.role),
      h('dt', {}, '期限'), h('dd', {}, task.due_at ? fmtTime(task.due_at) : '无时限',
        ['overdue', 'due_soon'].includes(task.deadline_status) ? [' ', h('span', { class: 'badge badge-bad' }, task.deadline_status_name)] : null),
      h('dt', {}, '业务编号'), h('dd', {}, task.business_key || '—'),
      h('dt', {}, '企业/项目'), h('dd', {}, task.display_name || task.enterprise_name || '—'),
      h('dt', {}, '认领人'), h('dd', {}, task.assignee ? (task.assignee_name || task.assignee) : '未认领', ' ', task.state === 'open' ? claimButton(task) : null)),
    ...[other ? h('div', { class: 'msg msg-info' }, `该任务已由 ${task.assignee_name || task.assignee} 认领，您只能查看。`) : null,
      !submit ? h('div', { class: 'msg msg-info' }, '您的角色只能查看任务，不能办理。') : null,
      handOver(task), status, formBox, h('div', { class: 'actions' }, submit)].filter(Boolean));
  if (task.state !== 'open') {
    say(status, '该任务已不在待办状态。', 'info');
    return;
  }
  if (task.case_file) {
    // the case file: the application and earlier steps, read-only, above the task's own form
    const caseBox = h('div', { id: 'case-file' });
    formBox.before(h('h3', {}, '案卷（只读）'), caseBox);
    const caseView = new FormView(caseBox);
    (await caseView.open(task.case_file.form, task.case_file.data)).setProperty('readOnly', true);
  }
  view.container = formBox;
  if (task.form) {
    await view.open(task.form, task.data);
  } else {
    formBox.append(h('p', { class: 'muted' }, '此步骤无需填写表单。'));
  }
  if (submit) submit.addEventListener('click', () => complete(task, submit, status));
  else if (task.form) view.form.setProperty('readOnly', true);
}

// A department supervisor (dept_supervisor beside the task's department) reassigns or releases a
// claimed task; the claimant delegates it to a colleague. The reason goes into the case's trace.
function handOver(task) {
  if (task.state !== 'open' || !me || ['applicant', 'commissioner'].includes(task.role)) return null;
  const supervisor = me.roles.includes('dept_supervisor') && me.roles.includes(task.role);
  const claimant = task.assignee === me.username;
  if (!(supervisor && task.assignee) && !claimant) return null;
  const to = h('select', { id: 'handover-to' }, h('option', { value: '' }, '选择接收人…'));
  const reason = h('input', { type: 'text', id: 'handover-reason', maxlength: 1000, placeholder: '理由（必填，记入审计轨迹）' });
  const msg = h('div', { id: 'handover-msg', class: 'msg', hidden: true });
  api(`/api/tasks/${task.id}/candidates`).then(({ items }) => {
    for (const c of items) if (c.username !== task.assignee) to.append(h('option', { value: c.username }, `${c.display_name}（${c.username}）`));
  }).catch((e) => say(msg, errorText(e), 'error'));
  const act = (verb, done) => async () => {
    const body = { reason: reason.value.trim() };
    if (verb !== 'release') body.to = to.value;
    if (verb !== 'release' && !body.to) return say(msg, '请选择接收人。', 'error');
    if (!body.reason) return say(msg, '请填写理由（记入审计轨迹）。', 'error');
    try {
      await api(`/api/tasks/${task.id}/${verb}`, { method: 'POST', json: body });
    } catch (e) {
      const labels = { reason: '理由', to: '接收人' };
      const fields = Object.entries(e.body.fields || {}).map(([k, v]) => `${labels[k] || k}：${v.join('；')}`);
      say(msg, [errorText(e), ...fields].join(' — '), 'error');
      return;
    }
    await loadTasks();
    await openTask(task.id);
    say($('#task-msg'), done, 'ok');
  };
  return h('fieldset', { class: 'handover', id: 'handover' },
    h('legend', {}, supervisor ? '部门负责人：改派或收回' : '委托给同事'),
    h('div', { class: 'row' }, to, reason),
    h('div', { class: 'row' },
      supervisor ? h('button', { type: 'button', id: 'reassign', onclick: act('reassign', '已改派。') }, '改派') : null,
      supervisor && task.assignee ? h('button', { type: 'button', id: 'release', onclick: act('release', '已收回，任务退回本部门待办。') }, '收回') : null,
      claimant ? h('button', { type: 'button', id: 'delegate', onclick: act('delegate', '已委托。') }, '委托') : null),
    msg);
}

async function complete(task, button, status) {
  let data = {};
  if (task.form) {
    const { data: d, errors } = view.submit();
    if (Object.keys(errors).length) {
      say(status, '请先修改标红的字段。', 'error');
      return;
    }
    data = d;
  }
  button.disabled = true;
  say(status, '正在提交…', 'info');
  try {
    await api(`/api/tasks/${task.id}/complete`, { method: 'POST', json: { data }, headers: { 'Idempotency-Key': randomKey() } });
  } catch (e) {
    button.disabled = false;
    if (e.status === 422 && e.body.fields && task.form) {
      view.showServerErrors(e.body.fields);
      say(status, errorText(e), 'error');
    } else {
      say(status, errorText(e), 'error');
    }
    return;
  }
  view.destroy();
  state.current = null;
  put($('#detail'), h('div', { class: 'msg msg-ok', id: 'done-msg' }, `“${task.name}”已办结。`),
    h('p', {}, h('a', { href: `/case/${task.process_instance_id}` }, `查看案件 #${task.process_instance_id} 的进度`)));
  await loadTasks();
}

// ------------------------------------------------------------------ starting a case
async function loadStarters() {
  const box = $('#starters');
  if (!hasRole('applicant', 'commissioner')) return;
  let defs;
  try {
    defs = (await api('/api/process-definitions')).items;
  } catch (e) {
    return;
  }
  const mineDefs = defs.filter((d) => (d.starter_roles || []).some((r) => me.roles.includes(r)));
  if (!mineDefs.length) return;
  put(box, h('h2', {}, '发起案件'),
    h('div', { class: 'toolbar', style: 'padding-left:0' }, mineDefs.map((d) =>
      h('button', { type: 'button', dataset: { processKey: d.key }, onclick: () => openStart(d.key) }, d.name || d.key))));
}

async function openStart(key) {
  const detail = $('#detail');
  state.current = null;
  let def;
  try {
    def = await api(`/api/process-definitions/${encodeURIComponent(key)}`);
  } catch (e) {
    put(detail, h('div', { class: 'msg msg-error' }, errorText(e)));
    return;
  }
  const status = h('div', { id: 'task-msg', class: 'msg', hidden: true });
  const formBox = h('div', { id: 'task-form' });
  const businessKey = h('input', { type: 'text', id: 'business-key', placeholder: '可选', maxlength: 200 });
  const onBehalf = hasRole('commissioner') ? h('input', { type: 'text', id: 'on-behalf', placeholder: '企业用户名' }) : null;
  const submit = h('button', { type: 'button', class: 'primary', id: 'start' }, '发起');
  put(detail, h('h2', {}, `发起：${def.name}`),
    h('dl', { class: 'kv' }, h('dt', {}, '版本'), h('dd', {}, `v${def.version}`),
      h('dt', {}, '业务编号'), h('dd', {}, businessKey),
      onBehalf ? [h('dt', {}, '代办企业'), h('dd', {}, onBehalf)] : null),
    status, formBox, h('div', { class: 'actions' }, submit));
  view.container = formBox;
  if (def.start_form) await view.open(def.start_form, def.start_form_data || {});
  submit.addEventListener('click', async () => {
    let variables = {};
    if (def.start_form) {
      const { data, errors } = view.submit();
      if (Object.keys(errors).length) {
        say(status, '请先修改标红的字段。', 'error');
        return;
      }
      variables = data;
    }
    const body = { process_key: key, variables };
    if (businessKey.value.trim()) body.business_key = businessKey.value.trim();
    if (onBehalf && onBehalf.value.trim()) body.on_behalf_of = onBehalf.value.trim();
    submit.disabled = true;
    try {
      const inst = await api('/api/process-instances', { method: 'POST', json: body });
      view.destroy();
      put(detail, h('div', { class: 'msg msg-ok' }, `案件 #${inst.id} 已发起。`),
        h('p', {}, h('a', { href: `/case/${inst.id}` }, '查看案件进度')));
      await loadTasks();
    } catch (e) {
      submit.disabled = false;
      if (e.status === 422 && e.body.fields && def.start_form) view.showServerErrors(e.body.fields);
      say(status, errorText(e), 'error');
    }
  });
}

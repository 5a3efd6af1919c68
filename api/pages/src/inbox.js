// Inbox: the caller's open tasks by due time (overdue marked), claim / unclaim, the task's form
// (form-js, in Chinese), complete; server validation errors are shown on their fields.
// Applicants (and commissioners) can also start a case here with the process's start form.
import { $, api, errorText, fmtTime, h, hasRole, initPage, me, randomKey, say, put } from './common.js';
import { FormView } from './forms.js';

const state = { tasks: [], mine: false, current: null };
let view = null;

initPage(async () => {
  view = new FormView(h('div'));
  renderShell();
  await Promise.all([loadTasks(), loadStarters()]);
  const want = new URLSearchParams(location.search).get('task');
  if (want) openTask(want);
});

function renderShell() {
  const root = $('#tasks');
  put(root, 
    h('h1', {}, '待办任务'),
    h('div', { class: 'toolbar', style: 'padding-left:0' },
      h('label', {}, h('input', { type: 'checkbox', id: 'only-mine', onchange: (e) => { state.mine = e.target.checked; loadTasks(); } }), ' 只看我认领的'),
      h('button', { type: 'button', id: 'refresh', onclick: () => loadTasks() }, '刷新'),
      h('span', { id: 'task-count', class: 'muted small' })),
    h('div', { id: 'list-msg', class: 'msg', hidden: true }),
    h('div', { id: 'task-list' }),
    h('div', { id: 'starters' }),
  );
}

function sortByDue(items) {
  const key = (t) => (t.due_at ? Date.parse(/Z|[+-]\d\d:?\d\d$/.test(t.due_at) ? t.due_at : `${t.due_at}Z`) : Infinity);
  return [...items].sort((a, b) => key(a) - key(b) || String(a.created_at).localeCompare(String(b.created_at)));
}

async function loadTasks() {
  const list = $('#task-list');
  try {
    const page = await api(`/api/tasks?per_page=200${state.mine ? '&assignee=me' : ''}`);
    state.tasks = sortByDue(page.items);
    $('#task-count').textContent = `共 ${page.total} 项${page.total > page.items.length ? `，显示前 ${page.items.length} 项` : ''}`;
  } catch (e) {
    say($('#list-msg'), errorText(e), 'error');
    return;
  }
  say($('#list-msg'), '');
  if (!state.tasks.length) {
    put(list, h('p', { class: 'muted' }, '没有待办任务。'));
    return;
  }
  put(list, h('table', { class: 'list', id: 'task-table' },
    h('thead', {}, h('tr', {}, ['期限', '任务', '部门', '案件', '认领人', ''].map((t) => h('th', {}, t)))),
    h('tbody', {}, state.tasks.map(taskRow))));
}

function taskRow(t) {
  const mineNow = me && t.assignee === me.username;
  const due = t.due_at ? fmtTime(t.due_at) : '无期限';
  const row = h('tr', {
    class: [t.overdue ? 'overdue' : '', state.current === t.id ? 'selected' : ''].join(' ').trim(),
    dataset: { taskId: t.id, activityId: t.activity_id },
  },
  h('td', {}, due, t.overdue ? [' ', h('span', { class: 'badge badge-bad' }, '已逾期')] : null),
  h('td', {}, h('a', { href: `?task=${t.id}`, onclick: (e) => { e.preventDefault(); openTask(t.id); } }, t.name)),
  h('td', {}, t.role_name || t.role),
  h('td', {}, h('a', { href: `/case/${t.process_instance_id}` }, `#${t.process_instance_id}`), h('div', { class: 'muted small' }, t.process_key)),
  h('td', {}, t.assignee ? h('span', { class: `badge ${mineNow ? 'badge-active' : 'badge-muted'}` }, mineNow ? '我' : t.assignee) : '—'),
  h('td', {}, claimButton(t)));
  return row;
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
      h('dt', {}, '流程'), h('dd', {}, task.process_name || task.process_key),
      h('dt', {}, '案件'), h('dd', {}, h('a', { href: `/case/${task.process_instance_id}` }, `#${task.process_instance_id}`),
        task.business_key ? ` ${task.business_key}` : null, task.display_name ? ` ${task.display_name}` : null),
      h('dt', {}, '部门'), h('dd', {}, task.role_name || task.role),
      h('dt', {}, '期限'), h('dd', {}, task.due_at ? fmtTime(task.due_at) : '无时限',
        ['overdue', 'due_soon'].includes(task.deadline_status) ? [' ', h('span', { class: 'badge badge-bad' }, task.deadline_status_name)] : null),
      h('dt', {}, '认领人'), h('dd', {}, task.assignee || '未认领', ' ', task.state === 'open' ? claimButton(task) : null)),
    ...[other ? h('div', { class: 'msg msg-info' }, `该任务已由 ${task.assignee} 认领，您只能查看。`) : null,
      !submit ? h('div', { class: 'msg msg-info' }, '您的角色只能查看任务，不能办理。') : null,
      status, formBox, h('div', { class: 'actions' }, submit)].filter(Boolean));
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

// Case view: the diagram of the case's version with completed activities, active tasks, timers and
// taken flows highlighted; the trace as a timeline beside it; trace exports (JSON, CSV, XES).
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import { $, api, download, errorText, fmtTime, h, hasRole, initPage, me, put, say } from './common.js';
import { STATUS, caseList } from './cases.js';

const TRANSITIONS = {
  instance_started: '发起案件', start: '开始', ready: '待办', scheduled: '生成待办', claim: '认领', unclaim: '释放',
  complete: '办理完成', cancel: '取消', gateway: '网关分支', script: '脚本', business_rule: '决策',
  activity: '经过', timer_armed: '定时器开始计时', timer_fired: '定时器触发', timer_cancelled: '定时器取消',
  end: '到达结束事件', instance_completed: '案件办结', incident: '异常', deployed: '部署',
  reassign: '改派', release: '收回', delegate: '委托', comment: '留言',
};
const TASK_STATE = { open: ['待办', 'badge-active'], completed: ['已完成', 'badge-ok'], cancelled: ['已取消', 'badge-muted'] };

const match = location.pathname.match(/^\/case\/(\d+)\/?$/);
const caseId = match ? Number(match[1]) : null;
let viewer = null;

initPage(async () => {
  if (!caseId) {
    const page = h('div', { class: 'page' });
    put($('main'), page);
    await caseList(page);
    return;
  }
  await showCase(caseId);
});

async function showCase(id) {
  const head = $('#case-head');
  const side = $('#case-side');
  let inst;
  try {
    inst = await api(`/api/process-instances/${id}`);
  } catch (e) {
    put(head, h('span', { class: 'msg msg-error' }, e.status === 404 ? `案件 #${id} 不存在或您无权查看。` : errorText(e)));
    return;
  }
  const [label, cls] = STATUS[inst.status] || [inst.status, 'badge-muted'];
  document.title = `案件 #${inst.id} · 四即流程再造`;
  // the flow's Chinese name (the definition's), its key only as a fallback
  const def = await api(`/api/process-definitions/${encodeURIComponent(inst.process_key)}`).catch(() => null);
  put(head, h('span', { class: 'title' }, `案件 #${inst.id}`),
    h('span', { id: 'case-flow', title: inst.process_key }, `${(def && def.name) || inst.process_key} v${inst.version}`),
    h('span', { class: `badge ${cls}`, id: 'case-status' }, label),
    inst.outcome ? h('span', {}, `结果：${inst.outcome.name}`) : null,
    h('span', { class: 'sep' }),
    h('button', { type: 'button', id: 'zoom-fit', title: '适应窗口', onclick: () => zoom(0) }, '适应窗口'),
    h('button', { type: 'button', id: 'zoom-in', title: '放大', onclick: () => zoom(1) }, '放大'),
    h('button', { type: 'button', id: 'zoom-out', title: '缩小', onclick: () => zoom(-1) }, '缩小'));
  renderSide(side, inst);
  loadTrace(inst);
  await renderDiagram(inst);
}

function renderSide(side, inst) {
  const exportsBox = h('div', { class: 'exports' }, ['json', 'csv', 'xes'].map((fmt) =>
    h('button', { type: 'button', dataset: { format: fmt }, onclick: () => exportTrace(inst.id, fmt) }, `导出 ${fmt.toUpperCase()}`)));
  put(side, 
    h('dl', { class: 'kv' },
      h('dt', {}, '申请人'), h('dd', {}, inst.enterprise || inst.starter || '—'),
      h('dt', {}, '业务编号'), h('dd', {}, inst.business_key || '—'),
      h('dt', {}, '发起时间'), h('dd', {}, fmtTime(inst.created_at)),
      h('dt', {}, '办结时间'), h('dd', {}, inst.ended_at ? fmtTime(inst.ended_at) : '—'),
      h('dt', {}, '当前环节'), h('dd', {}, inst.active_activities.length ? inst.active_activities.map((a) => a.name || a.id).join('、') : '—')),
    h('h2', {}, '任务'),
    inst.tasks.length ? h('table', { class: 'list', id: 'case-tasks' },
      h('tbody', {}, inst.tasks.map((t) => {
        const [l, c] = TASK_STATE[t.state] || [t.state, 'badge-muted'];
        return h('tr', { dataset: { activityId: t.activity_id } },
          h('td', {}, t.state === 'open' ? h('a', { href: `/inbox?task=${t.id}` }, t.name) : t.name,
            h('div', { class: 'muted small' }, t.role_name || t.role)),
          h('td', {}, h('span', { class: `badge ${c}` }, l), t.overdue ? [' ', h('span', { class: 'badge badge-bad' }, '已逾期')] : null),
          h('td', { class: 'small' }, t.completed_by ? `${t.completed_by} ${fmtTime(t.completed_at)}` : (t.due_at ? `期限 ${fmtTime(t.due_at)}` : '')));
      }))) : h('p', { class: 'muted' }, '无'),
    inst.timers.length ? [h('h2', {}, '定时器'), h('ul', { class: 'small' }, inst.timers.map((t) =>
      h('li', {}, `${t.activity_name || t.activity_id}：`, { waiting: '等待中', fired: '已触发', cancelled: '已取消' }[t.status] || t.status,
        `，${t.status === 'fired' && t.fired_at ? `触发于 ${fmtTime(t.fired_at)}` : `到期 ${fmtTime(t.due_at)}`}`, t.provisional ? '（暂定）' : '')))] : null,
    h('h2', {}, '轨迹'), exportsBox, h('div', { id: 'export-msg', class: 'msg', hidden: true }),
    hasRole('auditor', 'admin') ? h('div', { class: 'exports' },
      h('button', { type: 'button', id: 'verify', onclick: () => verifyChain(inst.id) }, '校验审计链'),
      h('span', { id: 'verify-msg', class: 'small' })) : null,
    h('h2', {}, '留言'), h('div', { id: 'comments' }), commentForm(inst),
    h('div', { id: 'trace' }, h('p', { class: 'muted' }, '加载中…')),
  );
  loadComments(inst.id);
}

// departments, applicants and commissioners may comment; auditors and admins only read
function commentForm(inst) {
  if (!me || !me.roles.some((r) => !['analyst', 'auditor', 'admin', 'dept_supervisor'].includes(r))) return null;
  const text = h('textarea', { id: 'comment-text', rows: 2, maxlength: 1000, placeholder: '给本案件留言（记入审计轨迹，所有可查看本案件的人可见）' });
  const msg = h('div', { id: 'comment-msg', class: 'msg', hidden: true });
  const send = h('button', { type: 'button', id: 'comment-send', onclick: async () => {
    send.disabled = true;
    try {
      await api(`/api/process-instances/${inst.id}/comments`, { method: 'POST', json: { text: text.value } });
      text.value = '';
      say(msg, '');
      await Promise.all([loadComments(inst.id), loadTrace(inst)]);
    } catch (e) {
      say(msg, errorText(e), 'error');
    }
    send.disabled = false;
  } }, '留言');
  return h('div', { class: 'comment-form' }, text, h('div', { class: 'exports' }, send), msg);
}

async function loadComments(id) {
  const box = $('#comments');
  try {
    const { items } = await api(`/api/process-instances/${id}/comments`);
    put(box, items.length ? h('ul', { class: 'comments' }, items.map((c) => h('li', {},
      h('div', { class: 'small muted' }, `${c.actor_name}${c.actor_name !== c.actor ? `（${c.actor}）` : ''} ${fmtTime(c.at)}`),
      h('div', { class: 'comment-text' }, c.text)))) : h('p', { class: 'muted small' }, '暂无留言。'));
  } catch (e) {
    put(box, h('p', { class: 'muted small' }, errorText(e)));
  }
}

async function exportTrace(id, fmt) {
  const msg = $('#export-msg');
  try {
    const resp = await api(`/api/process-instances/${id}/trace?format=${fmt}`, { raw: true });
    const blob = await resp.blob();
    const named = /filename="?([^";]+)"?/.exec(resp.headers.get('Content-Disposition') || '');
    download(blob, named ? named[1] : `trace-${id}.${fmt}`);
    msg.hidden = true;
  } catch (e) {
    msg.className = 'msg msg-error';
    msg.textContent = e.status === 404 ? '轨迹导出接口暂不可用。' : errorText(e);
    msg.hidden = false;
  }
}

async function verifyChain(id) {
  const msg = $('#verify-msg');
  try {
    const r = await api(`/api/process-instances/${id}/trace/verify`);
    msg.className = `badge ${r.ok ? 'badge-ok' : 'badge-bad'}`;
    msg.textContent = r.ok ? `审计链完整（${r.events} 条事件）` : `审计链在第 ${r.broken_at} 条事件处被改动`;
  } catch (e) {
    msg.className = 'badge badge-bad';
    msg.textContent = e.status === 404 ? '校验接口暂不可用' : errorText(e);
  }
}

async function loadTrace(inst) {
  const box = $('#trace');
  let body;
  try {
    body = await api(`/api/process-instances/${inst.id}/trace?format=json`);
  } catch (e) {
    put(box, h('p', { class: 'muted', id: 'trace-missing' }, e.status === 404 ? '轨迹接口暂不可用（404），请稍后再试。' : errorText(e)));
    return;
  }
  const events = Array.isArray(body) ? body : (body.events || body.items || body.trace || []);
  if (!events.length) {
    put(box, h('p', { class: 'muted' }, '暂无轨迹。'));
    return;
  }
  put(box, h('ol', { class: 'timeline', id: 'timeline' }, events.map((ev) => h('li', {
    class: `t-${ev.transition}`, dataset: { activityId: ev.activity_id || '', seq: ev.seq },
    onclick: () => focus(ev.activity_id),
  },
  h('div', { class: 'when' }, `${ev.seq != null ? `#${ev.seq} ` : ''}${fmtTime(ev.at)}`),
  h('div', { class: 'what' }, TRANSITIONS[ev.transition] || ev.transition, ev.activity_name || ev.activity_id ? `：${ev.activity_name || ev.activity_id}` : ''),
  ev.actor ? h('div', { class: 'small muted' }, `${ev.actor}${ev.role_name || ev.role ? `（${ev.role_name || ev.role}）` : ''}`) : null))));
}

function zoom(step) {
  if (!viewer) return;
  const canvas = viewer.get('canvas');
  if (step === 0) canvas.zoom('fit-viewport', 'auto');
  else canvas.zoom(canvas.zoom() * (step > 0 ? 1.5 : 1 / 1.5), 'auto');
}

function focus(activityId) {
  if (!viewer || !activityId) return;
  const registry = viewer.get('elementRegistry');
  const canvas = viewer.get('canvas');
  registry.forEach((el) => canvas.removeMarker(el, 'siji-focus'));
  const el = registry.get(activityId);
  if (!el) return;
  canvas.addMarker(el, 'siji-focus');
  canvas.scrollToElement(el);
}

async function renderDiagram(inst) {
  const container = $('#case-canvas');
  let xml;
  try {
    xml = await api(`/api/process-definitions/${encodeURIComponent(inst.process_key)}/xml?version=${inst.version}`);
  } catch (e) {
    put(container, h('div', { class: 'msg msg-error' }, `无法加载流程图：${errorText(e)}`));
    return;
  }
  viewer = new NavigatedViewer({ container });
  try {
    await viewer.importXML(xml);
  } catch (e) {
    const why = /no diagram to display/.test(e.message) ? '该流程文件没有图形信息（BPMNDiagram）' : e.message;
    put(container, h('div', { class: 'msg msg-error', id: 'diagram-error' }, `流程图无法显示：${why}`));
    return;
  }
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  const mark = (id, cls) => {
    const el = registry.get(id);
    if (el) canvas.addMarker(el, cls);
    return !!el;
  };
  const done = new Set(inst.completed_activities);
  const active = new Set(inst.active_activities.map((a) => a.id));
  done.forEach((id) => mark(id, 'siji-done'));
  active.forEach((id) => mark(id, 'siji-active'));
  for (const t of inst.timers) {
    if (t.status === 'fired') mark(t.activity_id, 'siji-timer-fired');
    else if (t.status === 'waiting') mark(t.activity_id, 'siji-timer-waiting');
  }
  // Flows: a deciding gateway's choice comes from the server (taken_flows); every other element
  // that was completed (task, event, parallel gateway) sent a token down each of its flows.
  const taken = new Set(inst.taken_flows);
  const deciding = /^bpmn:(Exclusive|Inclusive|EventBased|Complex)Gateway$/;
  registry.filter((el) => el.type === 'bpmn:SequenceFlow').forEach((flow) => {
    const src = flow.businessObject.sourceRef;
    if (src && done.has(src.id) && !deciding.test(src.$type)) taken.add(flow.id);
  });
  taken.forEach((id) => mark(id, 'siji-flow-taken'));
  canvas.zoom('fit-viewport', 'auto');
}

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
  timer_recomputed: '期限重算', deadline_reminder: '到期提醒', deadline_overdue: '已逾期', escalated: '督办升级',
  migrated: '迁移到新版本', message_sent: '发送消息', connector_called: '调用外部系统', instance_terminated: '案件终止',
};
// Steps the engine takes by itself (scripts, gateways, events passed, timers armed, tasks created,
// deadline bookkeeping): folded away by default, so the timeline reads as what people did and
// what happened to the case.
const SYSTEM_STEPS = new Set(['start', 'ready', 'scheduled', 'gateway', 'script', 'activity', 'end', 'timer_armed',
  'timer_cancelled', 'timer_recomputed', 'deadline_reminder', 'deadline_overdue']);
const SYSTEM_KIND = { gateway: '网关', script: '脚本', timer_armed: '定时器', timer_cancelled: '定时器', timer_recomputed: '期限',
  deadline_reminder: '期限', deadline_overdue: '期限', scheduled: '生成待办', ready: '生成待办', activity: '事件', start: '事件', end: '事件' };
// Below this scale the diagram's labels are too small to read: the view keeps this scale and shows
// part of the pool (drag to see the rest) rather than all of it unreadable.
const READABLE_SCALE = 0.75;
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
  const system = events.filter((ev) => SYSTEM_STEPS.has(ev.transition)).length;
  const list = h('ol', { class: 'timeline hide-system', id: 'timeline' });
  let run = [];
  const fold = () => {
    if (!run.length) return;
    const kinds = [...new Set(run.map((ev) => SYSTEM_KIND[ev.transition]))].join('、');
    list.append(h('li', { class: 'sys-fold', title: '点击显示系统步骤', onclick: () => showSystem(true) },
      `… ${run.length} 个系统步骤（${kinds}）`));
    run = [];
  };
  for (const ev of events) {
    const sys = SYSTEM_STEPS.has(ev.transition);
    if (sys) run.push(ev); else fold();
    list.append(h('li', {
      class: `t-${ev.transition}${sys ? ' sys' : ''}`, dataset: { activityId: ev.activity_id || '', seq: ev.seq },
      onclick: () => focus(ev.activity_id),
    },
    h('div', { class: 'when' }, `${ev.seq != null ? `#${ev.seq} ` : ''}${fmtTime(ev.at)}`),
    h('div', { class: 'what' }, TRANSITIONS[ev.transition] || ev.transition, ev.activity_name || ev.activity_id ? `：${ev.activity_name || ev.activity_id}` : ''),
    ev.actor && ev.actor !== 'system' ? h('div', { class: 'small muted' }, `${ev.actor}${ev.role_name || ev.role ? `（${ev.role_name || ev.role}）` : ''}`) : null));
  }
  fold();
  const toggle = h('input', { type: 'checkbox', id: 'show-system', onchange: () => showSystem(toggle.checked) });
  function showSystem(on) {
    toggle.checked = on;
    list.classList.toggle('hide-system', !on);
  }
  put(box, system ? h('label', { class: 'small system-toggle' }, toggle, ` 显示系统步骤（脚本、网关、定时器、期限记录，共 ${system} 条）`) : null, list);
}

function zoom(step) {
  if (!viewer) return;
  const canvas = viewer.get('canvas');
  if (step === 0) fitPool(true);
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
  fitPool(false, [...active][0]);
}

/** Fits the pool (the participant), not the whole canvas with its margins and notes. Unless
 *  `whole`, never below READABLE_SCALE: a wide pool is then shown from its left edge, or around
 *  the case's current activity, at its full height where it fits (drag to see the rest). */
function fitPool(whole, around) {
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  const pools = registry.filter((el) => el.type === 'bpmn:Participant');
  const pad = 24;
  let box;
  if (pools.length) {
    const xs = pools.map((p) => [p.x, p.y, p.x + p.width, p.y + p.height]);
    box = { x: Math.min(...xs.map((b) => b[0])), y: Math.min(...xs.map((b) => b[1])) };
    box.width = Math.max(...xs.map((b) => b[2])) - box.x;
    box.height = Math.max(...xs.map((b) => b[3])) - box.y;
  } else {
    canvas.zoom('fit-viewport', 'auto');
    box = canvas.viewbox().inner;
  }
  const { outer } = canvas.viewbox();
  const fit = Math.min(outer.width / (box.width + 2 * pad), outer.height / (box.height + 2 * pad));
  const scale = whole ? fit : Math.min(1.2, Math.max(fit, READABLE_SCALE));
  const w = outer.width / scale;
  const h2 = outer.height / scale;
  // along each axis: the whole pool centred when it fits, else a window around the current activity
  const el = around && registry.get(around);
  const place = (start, size, view, at) => {
    if (view >= size + 2 * pad) return start + size / 2 - view / 2;
    if (at == null) return start - pad;
    return Math.min(Math.max(start - pad, at - view / 2), start + size + pad - view);
  };
  const x = place(box.x, box.width, w, el ? el.x + el.width / 2 : null);
  const y = place(box.y, box.height, h2, el ? el.y + el.height / 2 : null);
  canvas.viewbox({ x, y, width: w, height: h2 });
}

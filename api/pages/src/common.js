// Shared by every page: the bearer token (kept in sessionStorage only), calls to the public JSON
// API, the header with navigation and login, and small DOM helpers.
import './style.css';

const TOKEN_KEY = 'siji.token';

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message_zh || body.message)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

/** Calls the API with the bearer token. `json` sends a JSON body, `form` a FormData (multipart);
 *  `raw` returns the Response itself (for downloads); `signal` cancels. Errors throw ApiError with
 *  the JSON body. */
export async function api(path, { method = 'GET', json, form, raw = false, headers = {}, signal } = {}) {
  const h = { Accept: 'application/json', ...headers };
  const token = getToken();
  if (token) h.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    h['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  let resp;
  try {
    resp = await fetch(path, { method, headers: h, body, signal });
  } catch (e) {
    throw new ApiError(0, { message_zh: `无法连接服务器（${e.message}）` });
  }
  if (!resp.ok) {
    let payload;
    try {
      payload = await resp.json();
    } catch {
      payload = { message_zh: `${resp.status} ${resp.statusText}` };
    }
    if (resp.status === 401 && path !== '/api/login') showLoggedOut('登录已过期，请重新登录。');
    throw new ApiError(resp.status, payload);
  }
  if (raw) return resp;
  const type = resp.headers.get('Content-Type') || '';
  return type.includes('json') ? resp.json() : resp.text();
}

/** Tiny element builder: h('a', {href: '/x', class: 'y', onclick: f}, 'text', child…). Strings
 *  become text nodes (never HTML). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  return append(el, children);
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces an element's children (same rules as h: nested arrays flattened, null skipped). */
export function put(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function $(sel, root = document) {
  return root.querySelector(sel);
}

const TIME_FMT = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', hour12: false,
});

/** API times are UTC; shown in China time. */
export function parseTime(iso) {
  if (!iso) return null;
  const s = /[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function fmtTime(iso) {
  const d = parseTime(iso);
  return d ? TIME_FMT.format(d).replace(/\//g, '-') : '—';
}

export function errorText(err) {
  if (err instanceof ApiError) {
    const b = err.body || {};
    return b.message_zh || b.message || err.message;
  }
  return String((err && err.message) || err);
}

/** Shows a message in a status box (kind: info, ok, error). */
export function say(box, text, kind = 'info') {
  if (!box) return;
  box.className = `msg msg-${kind}`;
  box.textContent = text;
  box.hidden = !text;
}

export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function readFile(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error);
    r.readAsText(file, 'utf-8');
  });
}

// ------------------------------------------------------------------ header, login
const NAV = [
  ['/', '首页'],
  ['/modeler', '流程建模'],
  ['/inbox', '待办'],
  ['/case', '案件'],
];
// shown once the caller is known to hold one of the roles
const ROLE_NAV = [
  ['/supervision', '督办', ['leading_group_office', 'auditor', 'admin']],
  ['/cases', '案件总览', ['leading_group_office', 'auditor', 'admin', 'dept_supervisor']],
  ['/admin', '用户管理', ['admin']],
];

let loginListeners = [];

function renderHeader() {
  const top = $('#top');
  const here = location.pathname.replace(/\/\d+$/, '');
  put(top, 
    h('a', { class: 'brand', href: '/' }, '四即 · 流程再造'),
    h('nav', { id: 'nav' }, NAV.map(([href, label]) => h('a', { href, class: here === href ? 'current' : '' }, label))),
    h('div', { id: 'who' }),
  );
}

const SESSION_KEY = 'siji.session';   // set when the token came from the password login

/** The login form: username and password (POST /api/login gives a session token), or an API
 *  token pasted in (the same form, its other mode). Either is kept in sessionStorage only. */
let loginMode = 'password';

function showLoggedOut(reason, mode = loginMode) {
  loginMode = mode;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(SESSION_KEY);
  const who = $('#who');
  if (!who) return;
  const msg = h('span', { class: 'login-msg', id: 'login-msg' }, reason || '');
  let form;
  if (mode === 'token') {
    const input = h('input', { id: 'token', type: 'password', placeholder: '粘贴 API 令牌', autocomplete: 'off', size: 28 });
    form = h('form', { id: 'login', class: 'login-token', onsubmit: async (e) => {
      e.preventDefault();
      const t = input.value.trim();
      if (!t) return;
      sessionStorage.setItem(TOKEN_KEY, t);
      await loadMe();
    } }, h('label', { for: 'token' }, '令牌'), input, h('button', { type: 'submit' }, '登录'),
    h('button', { type: 'button', class: 'link small', id: 'login-mode-password', onclick: () => showLoggedOut(reason, 'password') }, '用户名登录'),
    msg);
  } else {
    const user = h('input', { id: 'username', type: 'text', placeholder: '用户名', autocomplete: 'username', size: 12, required: true });
    const pass = h('input', { id: 'password', type: 'password', placeholder: '密码', autocomplete: 'current-password', size: 14, required: true });
    form = h('form', { id: 'login', class: 'login-password', onsubmit: async (e) => {
      e.preventDefault();
      const username = user.value.trim();
      if (!username || !pass.value) return;
      try {
        const res = await api('/api/login', { method: 'POST', json: { username, password: pass.value } });
        sessionStorage.setItem(TOKEN_KEY, res.token);
        sessionStorage.setItem(SESSION_KEY, '1');
        await loadMe();
      } catch (err) {
        pass.value = '';
        msg.textContent = err.status === 429 ? '连续登录失败次数过多，请 15 分钟后再试。'
          : err.status === 401 ? '用户名或密码错误。' : errorText(err);
        msg.classList.add('login-error');
        pass.focus();
      }
    } }, h('label', { for: 'username', class: 'sr' }, '用户名'), user,
    h('label', { for: 'password', class: 'sr' }, '密码'), pass,
    h('button', { type: 'submit', class: 'primary' }, '登录'),
    h('button', { type: 'button', class: 'link small', id: 'login-mode-token', onclick: () => showLoggedOut(reason, 'token') }, '使用 API 令牌'),
    msg);
  }
  put(who, form);
  const main = $('main');
  if (main) main.classList.add('logged-out');
}

async function logout() {
  if (sessionStorage.getItem(SESSION_KEY)) {
    try { await api('/api/logout', { method: 'POST' }); } catch { /* the token is dropped either way */ }
  }
  me = null;
  showLoggedOut('已退出。');
  location.reload();
}

export let me = null;

async function loadMe() {
  const who = $('#who');
  try {
    me = await api('/api/me');
  } catch (e) {
    me = null;
    showLoggedOut(e.status === 401 ? '登录已过期或令牌无效。' : errorText(e));
    return null;
  }
  const roles = Object.values(me.role_names || {}).join('、');
  const name = me.display_name && me.display_name !== me.username ? `${me.display_name}（${me.username}）` : me.username;
  put(who,
    me.notifications ? notificationBell() : null,
    h('span', { id: 'whoami' }, `当前用户：${name}`, h('small', {}, `（${roles}）`)),
    h('button', { type: 'button', class: 'link', id: 'logout', onclick: logout }, '退出'),
  );
  const here = location.pathname.replace(/\/\d+$/, '');
  for (const [href, label, roles] of ROLE_NAV) {
    if (hasRole(...roles) && !document.querySelector(`#nav a[href="${href}"]`)) {
      $('#nav').append(h('a', { href, class: here === href ? 'current' : '' }, label));
    }
  }
  const main = $('main');
  if (main) main.classList.remove('logged-out');
  for (const f of loginListeners) await f(me);
  return me;
}

// ------------------------------------------------------------------ notifications bell
const KIND_LABEL = {
  task_created: ['新待办', 'badge-active'],
  reminder: ['即将到期', 'badge-warn'],
  overdue: ['已逾期', 'badge-bad'],
  escalation: ['督办', 'badge-bad'],
};
const BELL_POLL_MS = 60000;
let bellTimer = null;

/** A bell drawn as SVG: no emoji font is needed (many office machines have none). */
function bellIcon() {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '18');
  svg.setAttribute('height', '18');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', 'M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2z');
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}

/** Where a notification leads: the task in the inbox while it has one, else the case. */
function notificationHref(n) {
  if (n.task_id) return `/inbox?task=${encodeURIComponent(n.task_id)}`;
  if (n.process_instance_id) return `/case/${n.process_instance_id}`;
  return null;
}

/** The bell in the header: the unread count of the caller's and its departments' notifications
 *  (GET /api/notifications), a dropdown of the newest ones, each marked read when opened or by
 *  its own button. Polled once a minute. */
function notificationBell() {
  const count = h('span', { id: 'bell-count', class: 'bell-count', hidden: true });
  const list = h('div', { id: 'bell-list', class: 'bell-list', hidden: true, role: 'dialog', 'aria-label': '通知' });
  const button = h('button', { type: 'button', id: 'bell', class: 'bell', title: '通知', 'aria-haspopup': 'dialog',
    onclick: async (e) => {
      e.stopPropagation();
      if (list.hidden) await openList(); else list.hidden = true;
    } }, bellIcon(), h('span', { class: 'sr' }, '通知'), count);
  const wrap = h('span', { class: 'bell-wrap' }, button, list);

  function showCount(n) {
    count.textContent = n > 99 ? '99+' : String(n);
    count.hidden = !n;
    button.title = n ? `${n} 条未读通知` : '没有未读通知';
  }

  async function refresh() {
    try {
      const res = await api('/api/notifications?unread=true&per_page=1');
      showCount(res.unread);
    } catch { /* a failed poll leaves the last count; the next one retries */ }
  }

  async function markRead(n) {
    const res = await api(`/api/notifications/${n.id}/read`, { method: 'POST' });
    n.read = true;
    n.read_at = res.read_at;
  }

  async function openList() {
    put(list, h('p', { class: 'muted small' }, '加载中…'));
    list.hidden = false;
    let res;
    try {
      res = await api('/api/notifications?per_page=15');
    } catch (e) {
      put(list, h('p', { class: 'msg msg-error' }, errorText(e)));
      return;
    }
    showCount(res.unread);
    const head = h('div', { class: 'bell-head' }, h('b', {}, '通知'),
      h('span', { class: 'muted small' }, res.unread ? `未读 ${res.unread} 条` : '没有未读通知'));
    if (!res.items.length) {
      put(list, head, h('p', { class: 'muted', id: 'bell-empty' }, '暂无通知。新待办、到期提醒和督办会显示在这里。'));
      return;
    }
    put(list, head, h('ul', {}, res.items.map((n) => {
      const [label, cls] = KIND_LABEL[n.kind] || [n.kind, 'badge-muted'];
      const href = notificationHref(n);
      const li = h('li', { class: n.read ? 'read' : 'unread', dataset: { id: String(n.id), kind: n.kind } });
      const readBtn = n.read ? null : h('button', { type: 'button', class: 'link small mark-read', onclick: async (e) => {
        e.stopPropagation();
        try {
          await markRead(n);
          li.className = 'read';
          readBtn.remove();
          await refresh();
        } catch (err) { say(msg, errorText(err), 'error'); }
      } }, '标为已读');
      const msg = h('div', { class: 'msg', hidden: true });
      const title = href
        ? h('a', { href, onclick: async (e) => {
          if (n.read) return;
          e.preventDefault();
          try { await markRead(n); } catch { /* still go: reading matters more than the mark */ }
          location.href = href;
        } }, (n.data && n.data.task_name) || n.title)
        : h('span', {}, n.title);
      return put(li, h('span', { class: `badge ${cls}` }, label), ' ', title,
        h('div', { class: 'bell-meta' }, h('span', { class: 'muted small' },
          `${fmtTime(n.created_at)}${n.process_instance_id ? ` · 案件 #${n.process_instance_id}` : ''}`), readBtn), msg);
    })), res.total > res.items.length
      ? h('p', { class: 'muted small' }, `仅显示最新 ${res.items.length} 条，共 ${res.total} 条。`) : null);
  }

  document.addEventListener('click', (e) => { if (!wrap.contains(e.target)) list.hidden = true; });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') list.hidden = true; });
  refresh();
  if (bellTimer) clearInterval(bellTimer);
  bellTimer = setInterval(refresh, BELL_POLL_MS);
  return wrap;
}

/** Renders the header; calls onLogin(me) once a valid token is known (now or after login). */
export async function initPage(onLogin) {
  renderHeader();
  if (onLogin) loginListeners.push(onLogin);
  if (getToken()) return loadMe();
  showLoggedOut('');
  return null;
}

export function hasRole(...roles) {
  return !!me && roles.some((r) => me.roles.includes(r));
}

/** Waits for the browser to paint (so tests and users see a settled page). */
export function nextFrame() {
  return new Promise((r) => requestAnimationFrame(() => r()));
}

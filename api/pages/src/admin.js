// User administration (admins): add users with a display name, roles and a password; change
// display names, roles and passwords; deactivate. Everything goes through /api/admin/users.
import { $, api, errorText, fmtTime, h, hasRole, initPage, put, say } from './common.js';

let catalogue = [];     // [{code, name, department}]
let users = [];

initPage(async () => {
  const root = $('#admin');
  if (!hasRole('admin')) {
    put(root, h('h1', {}, '用户管理'), h('p', { class: 'msg msg-error' }, '仅系统管理员可以管理用户。'));
    return;
  }
  put(root,
    h('h1', {}, '用户管理'),
    h('div', { class: 'admin-grid' },
      h('section', { class: 'users' }, h('div', { id: 'users-msg', class: 'msg', hidden: true }), h('div', { id: 'users' })),
      h('section', { class: 'editor', id: 'editor' })));
  await loadUsers();
  if (catalogue.length) put($('#editor'), newUserForm());
});

async function loadUsers(select) {
  try {
    const res = await api('/api/admin/users');
    users = res.items.filter((u) => u.username !== 'system');
    catalogue = res.roles;
  } catch (e) {
    say($('#users-msg'), errorText(e), 'error');
    return;
  }
  const names = Object.fromEntries(catalogue.map((r) => [r.code, r.name]));
  put($('#users'), h('table', { class: 'list', id: 'user-table' },
    h('thead', {}, h('tr', {}, ['用户名', '显示名', '角色', '密码', '状态', ''].map((t) => h('th', {}, t)))),
    h('tbody', {}, users.map((u) => h('tr', { dataset: { user: u.username }, class: u.username === select ? 'selected' : '' },
      h('td', {}, u.username),
      h('td', { class: 'display-name' }, u.display_name),
      h('td', {}, u.roles.map((r) => h('span', { class: 'badge badge-muted', title: r }, names[r] || r)), ' '),
      h('td', {}, u.has_password ? '已设置' : h('span', { class: 'muted' }, '仅令牌'),
        u.locked_until && new Date(u.locked_until) > new Date() ? h('div', { class: 'badge badge-bad' }, `锁定至 ${fmtTime(u.locked_until)}`) : null),
      h('td', {}, u.active ? h('span', { class: 'badge badge-ok' }, '启用') : h('span', { class: 'badge badge-bad' }, '停用')),
      h('td', {}, h('button', { type: 'button', class: 'edit', onclick: () => editUser(u) }, '编辑'))))),
  ));
}

/** Role checkboxes: departments first, then the others (applicant, analyst, …). */
function roleBoxes(prefix, chosen = []) {
  const group = (title, list) => h('fieldset', { class: 'roles' }, h('legend', {}, title),
    list.map((r) => h('label', { class: 'role', title: r.name },
      h('input', { type: 'checkbox', name: 'role', value: r.code, id: `${prefix}-${r.code}`, checked: chosen.includes(r.code) }),
      ` ${r.name}`)));
  return h('div', { class: 'role-groups' },
    group('部门', catalogue.filter((r) => r.department)),
    group('其他角色', catalogue.filter((r) => !r.department)));
}

function checkedRoles(form) {
  return [...form.querySelectorAll('input[name=role]:checked')].map((i) => i.value);
}

/** Shows the server's field errors next to the form. */
function fieldErrors(box, err) {
  const fields = (err.body && err.body.fields) || {};
  const lines = Object.entries(fields).map(([k, v]) => `${LABEL[k] || k}：${[].concat(v).join('；')}`);
  say(box, [errorText(err), ...lines].join('\n'), 'error');
}
const LABEL = { username: '用户名', display_name: '显示名', roles: '角色', password: '密码', active: '状态' };

function newUserForm() {
  const msg = h('div', { id: 'new-user-msg', class: 'msg', hidden: true });
  const form = h('form', { id: 'new-user', class: 'user-form', onsubmit: async (e) => {
    e.preventDefault();
    const body = { username: form.username.value.trim(), display_name: form.display_name.value.trim() || undefined,
      roles: checkedRoles(form) };
    if (form.password.value) body.password = form.password.value;
    if (!body.roles.length) { say(msg, '请至少选择一个角色。', 'error'); return; }
    try {
      const res = await api('/api/admin/users', { method: 'POST', json: body });
      form.reset();
      say(msg, `已新建用户 ${res.username}。API 令牌（只显示这一次）：\n${res.token}`, 'ok');
      await loadUsers(res.username);
    } catch (err) { fieldErrors(msg, err); }
  } },
  h('h2', {}, '新建用户'),
  h('label', {}, '用户名', h('input', { type: 'text', name: 'username', id: 'new-username', required: true, maxlength: 80, autocomplete: 'off' })),
  h('label', {}, '显示名', h('input', { type: 'text', name: 'display_name', id: 'new-display-name', maxlength: 200, placeholder: '如：张三（行政审批服务局）' })),
  h('label', {}, '密码', h('input', { type: 'password', name: 'password', id: 'new-password', maxlength: 200, autocomplete: 'new-password', placeholder: '8 个字符以上；留空则只用令牌' })),
  roleBoxes('new'),
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'create-user' }, '新建')),
  msg);
  return form;
}

function editUser(u) {
  for (const tr of document.querySelectorAll('#user-table tbody tr')) tr.classList.toggle('selected', tr.dataset.user === u.username);
  const msg = h('div', { id: 'edit-msg', class: 'msg', hidden: true });
  const form = h('form', { id: 'edit-user', class: 'user-form', onsubmit: async (e) => {
    e.preventDefault();
    const body = {};
    const name = form.display_name.value.trim();
    if (name && name !== u.display_name) body.display_name = name;
    const roles = checkedRoles(form);
    if (!roles.length) { say(msg, '请至少选择一个角色。', 'error'); return; }
    if (roles.slice().sort().join() !== u.roles.slice().sort().join()) body.roles = roles;
    if (form.password.value) body.password = form.password.value;
    if (form.active.checked !== u.active) body.active = form.active.checked;
    if (!Object.keys(body).length) { say(msg, '没有修改。', 'info'); return; }
    try {
      const res = await api(`/api/admin/users/${encodeURIComponent(u.username)}`, { method: 'PATCH', json: body });
      await loadUsers(u.username);
      editUser(res);
      say($('#edit-msg'), `已保存 ${res.username}${body.password ? '（密码已更新）' : ''}。`, 'ok');
    } catch (err) { fieldErrors(msg, err); }
  } },
  h('h2', {}, `编辑用户：${u.username}`),
  h('label', {}, '显示名', h('input', { type: 'text', name: 'display_name', id: 'edit-display-name', value: u.display_name, maxlength: 200, required: true })),
  h('label', {}, u.has_password ? '新密码' : '设置密码',
    h('input', { type: 'password', name: 'password', id: 'edit-password', maxlength: 200, autocomplete: 'new-password', placeholder: '留空则不修改' })),
  h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'active', id: 'edit-active', checked: u.active }), ' 启用（停用后不能登录，令牌也失效）'),
  roleBoxes('edit', u.roles),
  h('div', { class: 'actions' },
    h('button', { type: 'submit', class: 'primary', id: 'save-user' }, '保存'),
    h('button', { type: 'button', onclick: () => put($('#editor'), newUserForm()) }, '返回新建')),
  msg);
  put($('#editor'), form);
}

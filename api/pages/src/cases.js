// The list of cases the caller may see (home page and /case), newest first.
import { api, errorText, fmtTime, h, put } from './common.js';

export const STATUS = { running: ['办理中', 'badge-active'], completed: ['已办结', 'badge-ok'], terminated: ['已终止', 'badge-bad'] };

export async function caseList(container) {
  const box = h('div', { id: 'cases' }, h('p', { class: 'muted' }, '加载中…'));
  const open = h('form', { class: 'toolbar', onsubmit: (e) => {
    e.preventDefault();
    const id = parseInt(idInput.value, 10);
    if (id > 0) location.href = `/case/${id}`;
  } });
  const idInput = h('input', { type: 'number', min: 1, placeholder: '案件编号', style: 'width:8em' });
  open.append(h('span', {}, '打开案件'), idInput, h('button', { type: 'submit' }, '查看'));
  container.append(h('h2', {}, '案件'), open, box);
  try {
    const [page, defs] = await Promise.all([api('/api/process-instances?per_page=100'),
      api('/api/process-definitions').catch(() => ({ items: [] }))]);
    const names = Object.fromEntries(defs.items.map((d) => [d.key, d.name]));
    if (!page.items.length) {
      put(box, h('p', { class: 'muted' }, '暂无可查看的案件。'));
      return;
    }
    put(box, h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['编号', '流程', '版本', '业务编号', '申请人', '状态', '发起时间', '结果'].map((t) => h('th', {}, t)))),
      h('tbody', {}, page.items.map((c) => {
        const [label, cls] = STATUS[c.status] || [c.status, 'badge-muted'];
        return h('tr', {},
          h('td', {}, h('a', { href: `/case/${c.id}` }, `#${c.id}`)),
          h('td', {}, names[c.process_key] || c.process_key, h('div', { class: 'muted small' }, c.process_key)), h('td', {}, `v${c.version}`), h('td', {}, c.business_key || '—'),
          h('td', {}, c.enterprise || c.starter || '—'),
          h('td', {}, h('span', { class: `badge ${cls}` }, label)),
          h('td', {}, fmtTime(c.created_at)), h('td', {}, c.outcome ? c.outcome.name : '—'));
      }))),
    page.total > page.items.length ? h('p', { class: 'muted small' }, `共 ${page.total} 件，显示最新 ${page.items.length} 件。`) : null);
  } catch (e) {
    put(box, h('p', { class: 'muted' }, e.status === 403 ? '您的角色不能查看案件列表。' : errorText(e)));
  }
}

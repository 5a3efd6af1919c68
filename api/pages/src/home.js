import { $, h, hasRole, initPage, put } from './common.js';
import { caseList } from './cases.js';

initPage(async (me) => {
  const root = $('#home');
  const links = [];
  if (hasRole('analyst')) links.push(['/modeler', '流程建模', '打开已部署的流程图、决策表和表单，修改后一键部署为新版本。']);
  links.push(['/inbox', '待办', '本部门（或本企业）的待办任务：认领、填写表单、办结；申请人也可在此发起案件。']);
  links.push(['/case', '案件', '案件流程图上的办理进度与全程轨迹，可导出 JSON / CSV / XES。']);
  put(root, 
    h('h1', {}, `您好，${me.username}`),
    h('ul', {}, links.map(([href, title, text]) => h('li', {}, h('a', { href }, title), '：', text))),
    h('p', { class: 'muted small' }, '页面只使用公开的 JSON API（', h('a', { href: '/api/docs' }, '/api/docs'), '），令牌只保存在本标签页的会话存储中。'),
  );
  await caseList(root);
});

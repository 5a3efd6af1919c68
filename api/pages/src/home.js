import { $, h, hasRole, initPage, put } from './common.js';
import { caseList } from './cases.js';

initPage(async (me) => {
  const root = $('#home');
  const links = [];
  if (hasRole('analyst')) links.push(['/modeler', '流程建模', '打开已部署的流程图、决策表和表单，修改后一键部署为新版本。']);
  links.push(['/inbox', '待办', '本部门（或本企业）的待办任务：认领、填写表单、办结；申请人也可在此发起案件。']);
  links.push(['/case', '案件', '案件流程图上的办理进度与全程轨迹，可导出 JSON / CSV / XES。']);
  if (hasRole('leading_group_office') || hasRole('auditor') || hasRole('admin') || hasRole('dept_supervisor')) {
    links.push(['/cases', '案件总览', '按流程、状态、时段、部门、逾期筛选案件，批量导出；异常（incident）重试或标记已处理。']);
  }
  if (hasRole('leading_group_office') || hasRole('auditor') || hasRole('admin')) {
    links.push(['/supervision', '督办', '各部门按时办结率、当前逾期、办理时长中位数、各流程办理周期与逾期清单。']);
  }
  if (hasRole('admin')) links.push(['/admin', '用户管理', '新增用户、设置显示名称与密码、分配角色。']);
  put(root, 
    h('h1', {}, `您好，${me.display_name || me.username}`),
    h('ul', {}, links.map(([href, title, text]) => h('li', {}, h('a', { href }, title), '：', text))),
    h('p', { class: 'muted small' }, '页面只使用公开的 JSON API（', h('a', { href: '/api/docs' }, '/api/docs'), '），令牌只保存在本标签页的会话存储中。'),
  );
  // an analyst-only account reads diagrams, not cases (the API would answer 403)
  if ((me.roles || []).some((r) => r !== 'analyst')) await caseList(root);
});

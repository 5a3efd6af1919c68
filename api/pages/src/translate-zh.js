// Chinese for the bpmn.io editors, as translation modules (not forks): the `translate` service of
// bpmn-js (palette, context pad, replace menu, the Camunda 7 properties panel) and of each dmn-js
// view, and for the form-js editor, which has no translate service, a module that renames its
// palette entries and a properties provider that passes its group and entry labels through the same
// dictionary. Strings not listed stay in English; lookups ignore case, since the properties
// panel's header spells types "User Task" where the replace menu says "User task".
const ZH = {
  'Activate hand tool': '抓手工具', 'Activate lasso tool': '套索选择', 'Activate create/remove space tool': '插入/删除空间',
  'Activate global connect tool': '连线工具', 'Create start event': '开始事件', 'Create end event': '结束事件',
  'Create intermediate/boundary event': '中间/边界事件', 'Create gateway': '网关', 'Create task': '任务',
  'Create expanded sub-process': '展开的子流程', 'Create pool/participant': '池', 'Create group': '分组',
  'Create data object reference': '数据对象', 'Create data store reference': '数据存储',
  'Append task': '追加任务', 'Append gateway': '追加网关', 'Append end event': '追加结束事件',
  'Append intermediate/boundary event': '追加中间事件', 'Append receive task': '追加接收任务',
  'Append message intermediate catch event': '追加消息捕获事件', 'Append timer intermediate catch event': '追加定时器事件',
  'Append conditional intermediate catch event': '追加条件事件', 'Append signal intermediate catch event': '追加信号事件',
  'Append compensation activity': '追加补偿活动', 'Add text annotation': '添加注释', 'Connect using association': '关联连线',
  'Connect to other element': '连接到其他元素', 'Connect using data input association': '数据输入关联',
  'Change element': '更改类型', 'Delete': '删除', 'Search in diagram': '在图中搜索',
  'Add lane above': '在上方添加泳道', 'Add lane below': '在下方添加泳道', 'Divide into two lanes': '拆分为两个泳道',
  'Divide into three lanes': '拆分为三个泳道', 'Align elements': '对齐', 'Distribute elements horizontally': '水平分布',
  'Distribute elements vertically': '垂直分布', 'Toggle non-interrupting': '切换非中断',
  'Sequential multi-instance': '串行多实例', 'Parallel multi-instance': '并行多实例', 'Loop': '循环',
  'Task': '任务', 'User task': '用户任务', 'Service task': '服务任务', 'Script task': '脚本任务',
  'Business rule task': '业务规则任务', 'Manual task': '手工任务', 'Send task': '发送任务', 'Receive task': '接收任务',
  'Call activity': '调用活动', 'Sub-process': '子流程', 'Sub-process (collapsed)': '子流程（折叠）',
  'Sub-process (expanded)': '子流程（展开）', 'Event sub-process': '事件子流程', 'Transaction': '事务',
  'Exclusive gateway': '排他网关', 'Parallel gateway': '并行网关', 'Inclusive gateway': '包容网关',
  'Complex gateway': '复杂网关', 'Event-based gateway': '事件网关',
  'Start event': '开始事件', 'End event': '结束事件', 'Intermediate throw event': '中间抛出事件',
  'Boundary event': '边界事件', 'Terminate end event': '终止结束事件', 'Timer start event': '定时开始事件',
  'Timer intermediate catch event': '定时器中间事件', 'Timer boundary event': '定时边界事件',
  'Timer boundary event (non-interrupting)': '定时边界事件（非中断）', 'Message start event': '消息开始事件',
  'Message end event': '消息结束事件', 'Message boundary event': '消息边界事件', 'Error end event': '错误结束事件',
  'Error boundary event': '错误边界事件', 'Signal start event': '信号开始事件', 'Signal end event': '信号结束事件',
  'Conditional start event': '条件开始事件', 'Sequence flow': '顺序流', 'Default flow': '默认流',
  'Conditional flow': '条件流', 'Data object reference': '数据对象', 'Data store reference': '数据存储',
  'Expanded pool/participant': '展开的池', 'Empty pool/participant': '空池',
};

// the Camunda 7 properties panel (bpmn-js-properties-panel, @bpmn-io/properties-panel)
Object.assign(ZH, {
  'General': '常规', 'Name': '名称', 'ID': 'ID', 'Documentation': '说明', 'Element documentation': '元素说明',
  'Process name': '流程名称', 'Process ID': '流程 ID', 'Participant Name': '池名称', 'Executable': '可执行',
  'Version tag': '版本标签', 'Tasklist': '任务列表', 'Startable': '可启动', 'History cleanup': '历史清理',
  'Time to live': '保留天数', 'Candidate starter': '可发起者', 'Candidate starter groups': '可发起的角色',
  'Candidate starter users': '可发起的用户', 'Condition': '条件', 'Condition Expression': '条件表达式',
  'Condition expression': '条件表达式', 'Type': '类型', 'Expression': '表达式', 'Script': '脚本',
  '<none>': '〈无〉', '<empty>': '〈空〉', 'Timer': '定时器', 'Date': '日期', 'Duration': '时长', 'Cycle': '周期',
  'Value': '值', 'Values': '值', 'User assignment': '办理人分配', 'Assignee': '办理人',
  'Candidate groups': '候选角色（部门）', 'Candidate users': '候选用户', 'Due date': '到期时间',
  'Follow up date': '跟进时间', 'Priority': '优先级', 'Forms': '表单', 'Form': '表单', 'Form key': '表单键',
  'Form fields': '表单字段', 'Embedded or External Task Forms': '嵌入或外部任务表单', 'Camunda Forms': 'Camunda 表单',
  'Generated Task Forms': '生成的任务表单', 'Form reference': '表单引用', 'Binding': '绑定', 'Version': '版本',
  'Asynchronous continuations': '异步延续', 'Before': '之前', 'After': '之后', 'Exclusive': '独占',
  'Job execution': '作业执行', 'Retry time cycle': '重试周期', 'Job priority': '作业优先级',
  'Inputs': '输入', 'Outputs': '输出', 'Input mapping': '输入映射', 'Output mapping': '输出映射',
  'Execution listeners': '执行监听器', 'Task listeners': '任务监听器', 'Extension properties': '扩展属性',
  'Field injections': '字段注入', 'Implementation': '实现', 'Implementation type': '实现类型',
  'Connector ID': '连接器 ID', 'Connector inputs': '连接器输入', 'Connector outputs': '连接器输出',
  'Connector': '连接器', 'Topic': '主题', 'External task': '外部任务', 'Java class': 'Java 类',
  'Delegate expression': '委托表达式', 'Result variable': '结果变量', 'Script type': '脚本类型',
  'Inline script': '内联脚本', 'External resource': '外部资源', 'Resource': '资源', 'Format': '格式',
  'Called decision': '调用的决策', 'Decision reference': '决策引用', 'Map decision result': '决策结果映射',
  'Tenant ID': '租户 ID', 'Called element': '被调用元素', 'Business key': '业务键', 'In mappings': '传入映射',
  'Out mappings': '传出映射', 'Multi-instance': '多实例', 'Loop cardinality': '循环次数', 'Collection': '集合',
  'Element variable': '元素变量', 'Completion condition': '完成条件', 'Message': '消息', 'Signal': '信号',
  'Error': '错误', 'Errors': '错误', 'Escalation': '升级', 'Compensation': '补偿', 'Global message reference': '全局消息引用',
  'Global signal reference': '全局信号引用', 'Global error reference': '全局错误引用', 'Local': '局部',
  'Variable name': '变量名', 'Variable events': '变量事件', 'Initiator': '发起人', 'Start initiator': '发起人变量',
  'Key': '键', 'Label': '标签', 'Default value': '默认值', 'Constraints': '约束', 'Properties': '属性',
  'Create': '新建', 'Create new list item': '新增一项', 'Delete item': '删除此项', 'Toggle section': '展开/收起',
  'Toggle list item': '展开/收起此项', 'Section contains edits': '此部分有修改', 'Section contains an error': '此部分有错误',
  'Open documentation': '打开说明文档', 'Open pop-up editor': '在弹出窗口中编辑', 'Opened in editor': '已在编辑器中打开',
  'Select an element to edit its properties.': '选择一个元素以编辑其属性。',
  'Multiple elements are selected. Select a single element to edit its properties.': '已选择多个元素，请只选一个以编辑其属性。',
  'ID must be unique.': 'ID 必须唯一。', 'ID must not be empty.': 'ID 不能为空。', 'ID must not contain spaces.': 'ID 不能含空格。',
  'ID must be a valid QName.': 'ID 须为合法的 QName。', 'ID must not contain prefix.': 'ID 不能含前缀。',
  'Specify more than one group as a comma separated list.': '多个角色以英文逗号分隔。',
  'Specify more than one user as a comma separated list.': '多个用户以英文逗号分隔。',
  'A specific point in time defined as ISO 8601 combined date and time representation.': '一个时间点（本系统用表达式，如 workdays_after(now(), n)）。',
  'A time duration defined as ISO 8601 durations format.': '一段时长（ISO 8601 时长，如 P5D）。',
  'A cycle defined as ISO 8601 repeating intervals format, or a cron expression.': '重复周期（ISO 8601 重复间隔或 cron 表达式）。',
  'How to configure a timer': '如何配置定时器', 'Learn how to define conditions.': '如何定义条件', 'Learn more.': '了解更多。',
  'Start typing "${}" to create an expression.': '输入 "${}" 以创建表达式。',
  'Process': '流程', 'Collaboration': '协作', 'Participant': '池', 'Lane': '泳道', 'Sub Process': '子流程',
  'Timer Boundary Event (Non Interrupting)': '定时边界事件（非中断）', 'Timer Boundary Event': '定时边界事件',
  'Message Boundary Event': '消息边界事件', 'Text Annotation': '文字注释', 'Group': '分组',
  'Ad Hoc Sub Process': '自由子流程', 'Event Sub Process': '事件子流程', 'Intermediate Catch Event': '中间捕获事件',
  'Timer Intermediate Catch Event': '定时器中间事件', 'Timer Start Event': '定时开始事件', 'Message Start Event': '消息开始事件',
});

// dmn-js (DRD, decision table, literal expression)
Object.assign(ZH, {
  'Add rule': '添加规则', 'Add rule above': '在上方添加规则', 'Add rule below': '在下方添加规则', 'Remove rule': '删除规则',
  'Copy rule': '复制规则', 'Cut rule': '剪切规则', 'Paste rule above': '粘贴到上方', 'Paste rule below': '粘贴到下方',
  'Move rule': '移动规则', 'Add input': '添加输入', 'Add output': '添加输出', 'Add input column left': '在左侧添加输入列',
  'Add input column right': '在右侧添加输入列', 'Add output column left': '在左侧添加输出列',
  'Add output column right': '在右侧添加输出列', 'Remove input column': '删除输入列', 'Remove output column': '删除输出列',
  'Copy input column': '复制输入列', 'Copy output column': '复制输出列', 'Cut input column': '剪切输入列',
  'Cut output column': '剪切输出列', 'Paste input column left': '粘贴到左侧', 'Paste input column right': '粘贴到右侧',
  'Paste output column left': '粘贴到左侧', 'Paste output column right': '粘贴到右侧',
  'Hit policy': '命中策略', 'Hit policy:': '命中策略：', 'Input': '输入', 'Output': '输出', 'When': '当', 'Then': '则',
  'And': '且', 'Annotation': '注释', 'Annotations': '注释', 'Input expression': '输入表达式', 'Input label': '输入标签',
  'Input type': '输入类型', 'Input values': '输入取值', 'Output label': '输出标签', 'Output name': '输出名称',
  'Output type': '输出类型', 'Output values': '输出取值', 'Expression language': '表达式语言',
  'Predefined values': '预定义取值', 'Add values': '添加取值', 'Add predefined values': '添加预定义取值',
  'Clear predefined values': '清除预定义取值', 'Custom values': '自定义取值', 'No values': '无取值',
  'Edit': '编辑', 'Edit string': '编辑文本', 'Edit number': '编辑数值', 'Edit boolean': '编辑布尔值', 'Edit date': '编辑日期',
  'Yes': '是', 'No': '否', 'Match one': '匹配其一', 'Match none': '均不匹配', 'Equals': '等于', 'Less': '小于',
  'Less or equals': '小于等于', 'Greater': '大于', 'Greater or equals': '大于等于', 'Range': '区间', 'Comparison': '比较',
  'Decision name': '决策名称', 'Definition name': '定义名称', 'Definition ID': '定义 ID', 'View DRD': '查看 DRD',
  'Create decision': '新建决策', 'Create input data': '新建输入数据', 'Create knowledge model': '新建知识模型',
  'Create knowledge source': '新建知识来源', 'Append decision': '追加决策', 'Literal expression editor': '字面表达式编辑器',
  'Variable type': '变量类型', 'Change cell expression language': '更改单元格表达式语言',
  'Add cell description': '添加单元格说明', 'Remove cell description': '删除单元格说明', 'Strings must be in double quotes': '文本须加英文双引号',
});

// the form-js editor (palette, properties panel)
Object.assign(ZH, {
  'Text field': '单行文本', 'Text area': '多行文本', 'Number': '数字', 'Date time': '日期时间', 'Checkbox': '复选框',
  'Checkbox group': '复选组', 'Radio group': '单选组', 'Select': '下拉选择', 'Tag list': '标签列表', 'Text view': '文本说明',
  'Spacer': '间距', 'Separator': '分隔线', 'Group': '分组', 'Dynamic list': '动态列表', 'Button': '按钮',
  'Image view': '图片', 'Table': '表格', 'HTML view': 'HTML', 'iFrame': 'iFrame', 'Expression': '表达式',
  'Document preview': '文档预览', 'File picker': '文件选择',
  'Unique': '唯一', 'First': '首个', 'Any': '任意', 'Collect': '汇总', 'Rule order': '规则顺序', 'Output order': '输出顺序', 'Field label': '字段标签', 'Field description': '字段说明',
  'Text': '文本', 'Validation': '校验', 'Required': '必填', 'Minimum length': '最小长度', 'Maximum length': '最大长度',
  'Minimum': '最小值', 'Maximum': '最大值', 'Regular expression pattern': '正则表达式', 'Custom regular expression': '自定义正则表达式',
  'Appearance': '外观', 'Layout': '布局', 'Columns': '列宽', 'Serialization': '序列化', 'Options': '选项',
  'Options source': '选项来源', 'Static options': '固定选项', 'Input values key': '选项数据键', 'Static': '固定',
  'Disabled': '禁用', 'Read only': '只读', 'Readonly': '只读', 'Hide if': '隐藏条件', 'Custom properties': '自定义属性',
  'Placeholder': '占位提示', 'Prefix': '前缀', 'Suffix': '后缀', 'Path': '路径', 'Subtype': '子类型',
  'Date label': '日期标签', 'Time label': '时间标签', 'Decimal digits': '小数位数', 'Increment': '步长',
  'Alternative text': '替代文字', 'Source': '来源', 'Action': '动作', 'Height': '高度', 'Content': '内容',
  'Security attributes': '安全属性', 'Headers source': '表头来源', 'Data source': '数据来源', 'Default number of items': '默认项数',
  'Allow add/delete items': '允许增删项', 'Disable collapse': '不可折叠', 'Show outline': '显示边框',
  'Number of non-collapsing items': '不折叠项数', 'Pagination': '分页', 'Number of rows per page': '每页行数',
  'Columns expression': '列表达式', 'Header items': '表头项',
});

function lookup(template) {
  return ZH[template] || ZH[template.trim()] || ZH_CI[template.trim().toLowerCase()];
}
const ZH_CI = Object.fromEntries(Object.entries(ZH).map(([k, v]) => [k.toLowerCase(), v]));

export function translate(template, replacements = {}) {
  const text = lookup(template) || template;
  return text.replace(/{([^}]+)}/g, (_, key) => (key in replacements ? replacements[key] : `{${key}}`));
}

// bpmn-js and each dmn-js view: override the `translate` service
export default { translate: ['value', translate] };

// ------------------------------------------------------------------ form-js editor
const wrapped = new WeakMap(); // original entry component -> its translating wrapper (stable identity)

/** Translates label-like props and plain-text children of a rendered properties-panel entry. */
function translateVNode(node, depth = 0) {
  if (!node || typeof node !== 'object' || depth > 6) return node;
  if (Array.isArray(node)) return node.map((n) => translateVNode(n, depth));
  const props = node.props;
  if (!props) return node;
  for (const k of ['label', 'description', 'title', 'placeholder']) {
    if (typeof props[k] === 'string' && lookup(props[k])) props[k] = lookup(props[k]);
  }
  if (typeof props.children === 'string') {
    if (lookup(props.children)) props.children = lookup(props.children);
  } else if (props.children) {
    props.children = translateVNode(props.children, depth + 1);
  }
  return node;
}

function translatingComponent(component) {
  if (typeof component !== 'function') return component;
  if (!wrapped.has(component)) {
    const Translated = (props) => translateVNode(component(props));
    wrapped.set(component, Translated);
  }
  return wrapped.get(component);
}

function FormEditorZh(formFields, propertiesPanel) {
  // palette entries and the panel header read these names
  for (const field of Object.values(formFields._formFields || {})) {
    const config = field.config || {};
    if (config.name && lookup(config.name)) config.name = lookup(config.name);
    if (config.label && lookup(config.label)) config.label = lookup(config.label);
  }
  // last of the providers (lowest priority): sees every group the editor's own provider made
  propertiesPanel.registerProvider({
    getGroups: () => (groups) => groups.map((g) => ({
      ...g,
      label: typeof g.label === 'string' ? translate(g.label) : g.label,
      entries: g.entries && g.entries.map((e) => ({ ...e, component: translatingComponent(e.component) })),
    })),
  }, 1);
}
FormEditorZh.$inject = ['formFields', 'propertiesPanel'];

export const formEditorZh = { __init__: ['sijiFormEditorZh'], sijiFormEditorZh: ['type', FormEditorZh] };

// Chinese for the bpmn.io editors, as translation modules (not forks): the `translate` service of
// bpmn-js (palette, context pad, replace menu, the Camunda 7 properties panel) and of each dmn-js
// view, and for the form-js editor, which has no translate service, a module that renames its
// palette entries and a properties provider that passes what its entries show (labels,
// descriptions, tooltips, options, validation messages) through the same dictionary. build.mjs
// points the properties panel's own fallback translation at it (zhText) and writes the few texts no
// translation reaches into the libraries' source. Strings not listed stay in English (the test
// tests/test_pages_modeler_zh.py finds them); lookups ignore case and spacing, since the properties
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

// the Camunda 7 properties panel, continued: entries of the element kinds the palette and the replace
// menu make, list items (listeners, mappings, field injections), select options, tooltips and
// validation messages
Object.assign(ZH, {
  'Participant ID': '池 ID', 'Process documentation': '流程说明',
  'This maps to the process definition key.': '即流程定义的键（key）。',
  'Activity reference': '活动引用', 'Wait for completion': '等待完成', 'Cancel remaining instances': '取消其余实例',
  'Completion': '完成', 'Link': '链接', 'Code': '代码', 'Global escalation reference': '全局升级引用',
  'Create new ...': '新建…', 'Code variable': '错误代码变量', 'Message variable': '错误消息变量',
  'Define the name of the variable that will contain the error code.': '存放错误代码的流程变量名。',
  'Define the name of the variable that will contain the error message.': '存放错误消息的流程变量名。',
  'Define the name of the variable that will contain the escalation code.': '存放升级代码的流程变量名。',
  'Throw expression': '抛出表达式',
  // timers: the examples stay ISO 8601 / cron, what they mean is Chinese
  'UTC time': 'UTC 时间', 'UTC plus 2 hours zone offset': '时区偏移 UTC+2 小时', 'Documentation: Timer events': '文档：定时器事件',
  'A cycle defined as ISO 8601 repeating intervals format.': '重复周期（ISO 8601 重复间隔格式）。',
  'every 10 seconds, up to 5 times': '每 10 秒一次，最多 5 次', 'every day, infinitely': '每天一次，无限重复',
  'every hour on the hour from 9-5 p.m. UTC Monday-Friday': '周一至周五 9 时至 17 时（UTC）每个整点',
  '15 seconds': '15 秒', '1 hour and 30 minutes': '1 小时 30 分钟', '14 days': '14 天',
  // bindings of called elements, decisions and forms
  'latest': '最新版本', 'deployment': '同一部署中的版本', 'versionTag': '指定版本标签',
  'Version tag by which this process can be referenced.': '可据此版本标签引用本流程。',
  'Version tag by which the called process will be referenced.': '按此版本标签引用被调用的流程。',
  'Version tag by which the called decision will be referenced.': '按此版本标签引用被调用的决策。',
  'Version tag by which the linked form will be referenced.': '按此版本标签引用关联的表单。',
  'Case ref': '案例引用', 'Class': '类', 'Delegate Class': '委托类', 'Delegate Variable Mapping': '委托变量映射',
  'Business key expression': '业务键表达式', 'Propagate all variables': '传递全部变量',
  'In mapping propagation': '传入变量传递', 'Out mapping propagation': '传出变量传递', 'Source expression': '源表达式',
  'Target': '目标',
  'collectEntries (List<Object>)': '单列值列表 collectEntries（List<Object>）',
  'resultList (List<Map<String, Object>>)': '结果列表 resultList（List<Map<String, Object>>）',
  'singleEntry (TypedValue)': '单个值 singleEntry（TypedValue）',
  'singleResult (Map<String, Object>)': '单条结果 singleResult（Map<String, Object>）',
  // input/output parameters, listeners, field injections
  'Local variable name': '局部变量名', 'Process variable name': '流程变量名', 'Assignment type': '赋值类型',
  'String or expression': '字符串或表达式', 'String': '字符串', 'List': '列表', 'Map': '映射', 'List values': '列表值',
  'Map entries': '映射条目', 'Event type': '事件类型', 'Listener ID': '监听器 ID', 'Listener type': '监听器类型',
  'Field injection': '字段注入', 'External': '外部', 'Start': '开始', 'End': '结束', 'Take': '经过', 'Assignment': '分配',
  'Complete': '完成', 'Update': '更新', 'Timeout': '超时', 'Asynchronous before': '异步延续（之前）',
  'Asynchronous after': '异步延续（之后）', 'Scope': '作用域', 'Config': '配置',
  'Specify more than one variable change event as a comma separated list. Variable change events are:':
    '多个变量变更事件以英文逗号分隔。变量变更事件有：',
  'Documentation: Variable events': '文档：变量事件',
  // generated task forms (camunda:formData)
  'Boolean': '布尔', 'Enum': '枚举', 'Long': '长整数', '<custom type>': '〈自定义类型〉', 'Custom type': '自定义类型',
  'Refers to the process variable name': '对应流程变量名',
  'The due date as an EL expression (e.g. ${someDate}) or an ISO date (e.g. 2015-06-26T09:54:00).':
    '到期时间：EL 表达式（如 ${someDate}）或 ISO 日期（如 2015-06-26T09:54:00）。',
  'The follow up date as an EL expression (e.g. ${someDate}) or an ISO date (e.g. 2015-06-26T09:54:00).':
    '跟进时间：EL 表达式（如 ${someDate}）或 ISO 日期（如 2015-06-26T09:54:00）。',
  'Process variables': '流程变量', 'Created in': '创建于',
  'Number of days before this resource is being cleaned up. If specified, takes precedence over the engine configuration.':
    '此资源保留多少天后被清理；设置后优先于引擎配置。',
  // @bpmn-io/properties-panel's own texts (lists, pop-up editors, FEEL fields)
  'List contains {numOfItems} item': '共 {numOfItems} 项', 'List contains {numOfItems} items': '共 {numOfItems} 项',
  'JSON contains errors': 'JSON 有错误', 'FEEL expression is mandatory': '此处必须填写 FEEL 表达式',
  'Click to set a dynamic value with FEEL expression': '点击改为用 FEEL 表达式设置动态值',
  'Click to remove dynamic value with FEEL expression': '点击取消 FEEL 表达式动态值',
  'Unparsable FEEL expression.': 'FEEL 表达式无法解析。',
  // bpmn-js: replace menu, context pad
  'Participant multiplicity': '池多实例', 'Open {element}': '打开{element}',
  'Empty pool/participant (removes content)': '空池（清除内容）', 'Ad-hoc sub-process': '自由子流程',
  'Ad-hoc sub-process (collapsed)': '自由子流程（折叠）', 'Ad-hoc sub-process (expanded)': '自由子流程（展开）',
  'Event based instantiating Gateway': '实例化事件网关', 'Parallel Event based instantiating Gateway': '并行实例化事件网关',
  // the panel header's type names (spelled "Expanded Sub Process")
  'Event Based Gateway': '事件网关', 'Expanded Sub Process': '子流程（展开）', 'Collapsed Sub Process': '子流程（折叠）',
  'Expanded Ad Hoc Sub Process': '自由子流程（展开）', 'Collapsed Ad Hoc Sub Process': '自由子流程（折叠）',
  'Data Input': '数据输入', 'Data Output': '数据输出', 'Association': '关联', 'Message Flow': '消息流',
  'Data Input Association': '数据输入关联', 'Data Output Association': '数据输出关联',
});

// events: "<definition> <kind>", as the replace menu ("Signal boundary event (non-interrupting)") and the
// panel header ("Signal Boundary Event (Non Interrupting)") spell them; entries above win
{
  const definitions = {
    Message: '消息', Timer: '定时', Conditional: '条件', Signal: '信号', Error: '错误', Escalation: '升级',
    Compensate: '补偿', Compensation: '补偿', Link: '链接', Cancel: '取消', Terminate: '终止', Multiple: '多重',
    'Parallel Multiple': '并行多重',
  };
  const kinds = {
    'Start Event': '开始事件', 'End Event': '结束事件', 'Boundary Event': '边界事件',
    'Intermediate Catch Event': '中间捕获事件', 'Intermediate Throw Event': '中间抛出事件',
  };
  const known = new Set(Object.keys(ZH).map((k) => k.toLowerCase()));
  for (const [en, zh] of Object.entries(definitions)) {
    for (const [kindEn, kindZh] of Object.entries(kinds)) {
      for (const [suffixEn, suffixZh] of [['', ''], [' (Non Interrupting)', '（非中断）'], [' (non-interrupting)', '（非中断）']]) {
        const key = `${en} ${kindEn}${suffixEn}`;
        if (!known.has(key.toLowerCase())) ZH[key] = `${zh}${kindZh}${suffixZh}`;
      }
    }
  }
}

// dmn-js, continued: the cell editors ("simple mode"), the header editors, hit policies, data types,
// the DRD and the literal and boxed expression views
Object.assign(ZH, {
  'Decision name: ': '决策名称：', 'Input label: ': '输入标签：', 'Input expression: ': '输入表达式：',
  'Output label: ': '输出标签：', 'Output name: ': '输出名称：', 'Edit input': '编辑输入', 'Edit output': '编辑输出',
  'Enter expression': '请输入表达式', 'Resize': '调整列宽', 'Expression language: {expressionLanguageLabel}': '表达式语言：{expressionLanguageLabel}',
  '"value", "value", ...': '"取值1", "取值2", …', '"value"': '"取值"',
  'Collect (Sum)': '汇总（求和）', 'Collect (Min)': '汇总（最小值）', 'Collect (Max)': '汇总（最大值）', 'Collect (Count)': '汇总（计数）',
  'No overlap is possible and all rules are disjoint. Only a single rule can be matched': '规则互不重叠，只能命中一条规则',
  'Rules may overlap. The first matching rule will be chosen': '规则可以重叠，取第一条命中的规则',
  'Rules may overlap. The one with the highest priority will be chosen': '规则可以重叠，取优先级最高的规则',
  'Rules may overlap. Their output have to match': '规则可以重叠，命中规则的输出必须一致',
  'Collects the values of all matching rules': '汇总所有命中规则的值',
  'Collects the values of all matching rules and sums up to a single value': '汇总所有命中规则的值并求和',
  'Collects the values of all matching rules and uses the lowest value': '汇总所有命中规则的值，取最小值',
  'Collects the values of all matching rules and uses the highest value': '汇总所有命中规则的值，取最大值',
  'Collects the values of all matching rules and counts the number of them': '汇总所有命中规则并计数',
  'Collects the values of all matching rules in rule order': '按规则顺序汇总所有命中规则的值',
  'Collects the values of all matching rules in decreasing output priority order': '按输出优先级从高到低汇总所有命中规则的值',
  // data types (typeRef): the value written stays the FEEL name
  'integer': '整数', 'double': '双精度数', 'time': '时间', 'dateTime': '日期时间',
  'dayTimeDuration': '时长（日、时）', 'yearMonthDuration': '时长（年、月）',
  // cell editors
  'Set value': '设置值', 'Boolean value': '布尔值', 'String value': '文本值', 'Test type': '判断方式',
  'Comparison operator': '比较运算符', 'Include': '包含', 'Exclude': '不包含', 'Start value': '起始值', 'End value': '结束值',
  'Range start operator': '区间起点', 'Range start value': '区间起点值', 'Range end operator': '区间终点',
  'Range end value': '区间终点值', 'Exactly': '恰为', 'Between': '介于', 'e.g. { sample }': '例如 {sample}',
  'e.g. { example } ': '例如 {example}', 'Set date': '设置日期', 'Date value': '日期值', 'Use today': '今天',
  'Start date': '开始日期', 'End date': '结束日期', 'Edit start date': '编辑开始日期', 'Edit end date': '编辑结束日期',
  'Edit time': '编辑时间', 'Set time': '设置时间', 'Time value': '时间值', 'Use now': '现在',
  'Start time': '开始时间', 'End time': '结束时间', 'Edit start time': '编辑开始时间', 'Edit end time': '编辑结束时间',
  'Date and time': '日期时间', 'Edit date and time': '编辑日期时间', 'Set date and time': '设置日期时间',
  'Date and time value': '日期时间值', 'Start date and time': '开始日期时间', 'End date and time': '结束日期时间',
  'Edit start date and time': '编辑开始日期时间', 'Edit end date and time': '编辑结束日期时间',
  'Edit duration': '编辑时长', 'Set duration': '设置时长', 'Duration value': '时长值',
  'Date must match pattern yyyy-MM-dd': '日期格式须为 yyyy-MM-dd',
  'Time must match pattern hh:mm:ss[time zone]': '时间格式须为 hh:mm:ss[时区]',
  'Date and time must match pattern yyyy-MM-ddTHH:mm:ss[time zone]': '日期时间格式须为 yyyy-MM-ddTHH:mm:ss[时区]',
  'Must match PnYnM': '格式须为 PnYnM（如 P1Y2M）', 'Must match PnDTnH': '格式须为 PnDTnH（如 P2DT3H）',
  'Editing not supported for set expression language': '当前表达式语言不支持在此编辑',
  'Element must have ID.': '元素必须有 ID。', 'Element must have unique ID.': 'ID 必须唯一。',
  'Id must not contain spaces.': 'ID 不能含空格。', 'Id must not contain prefix.': 'ID 不能含前缀。',
  'Id must be a valid QName.': 'ID 须为合法的 QName。',
  // DRD, literal and boxed expressions
  'Append knowledge source': '追加知识来源', 'Append business knowledge model': '追加业务知识模型',
  'Append input data': '追加输入数据', 'Change type': '更改类型', 'Open decision table': '打开决策表',
  'Open literal expression': '打开字面表达式', 'Variable name:': '变量名：', 'Variable type:': '变量类型：',
  'Expression language:': '表达式语言：', 'Literal expression': '字面表达式', 'Element name': '元素名称',
  'Edit formal parameters': '编辑形式参数', 'Add parameter': '添加参数', 'Remove parameter': '删除参数',
  'Function kind: {kind}': '函数类型：{kind}', 'Edit function kind': '编辑函数类型', 'Kind': '类型',
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

// the form-js editor, continued: entry labels, descriptions, tooltips and options of every field
// type of its palette, and the default texts of a new field
Object.assign(ZH, {
  'Form': '表单', 'Key': '键', 'Binds to a form variable': '绑定到表单变量',
  'Use a unique "key" to link the form element and the related input/output data. When dealing with nested data, break it down in the user task\'s input mapping before using it.':
    '用唯一的“键”把表单元素与对应的输入/输出数据关联起来。嵌套数据请先在用户任务的输入映射中拆开再使用。',
  'Disable this field when it should not be interactive for end-users. Its data will not be submitted. This setting takes precedence over read-only.':
    '不允许填写人操作此字段时禁用它，其数据不会提交。此设置优先于“只读”。',
  'Make this field read-only when it cannot be edited by the end-user, but its content is important for them to see. Its data will still be submitted.':
    '填写人需要看到但不能修改的内容设为只读，其数据仍会提交。',
  'Add properties directly to the form schema, useful to configure functionality in custom-built task applications and form renderers.':
    '直接写入表单定义的属性，供自建的任务应用和表单渲染器使用。',
  'Version tag by which this form can be referenced.': '可据此版本标签引用本表单。',
  'Checked': '已勾选', 'Not checked': '未勾选', 'Submit': '提交', 'Reset': '重置', 'Searchable': '可搜索',
  'Date & Time': '日期和时间', 'UTC offset': 'UTC 偏移', 'UTC normalized': '转换为 UTC', 'No timezone': '不含时区',
  'Use 24h': '24 小时制', 'Disallow past dates': '不允许过去的日期', 'Time interval': '时间间隔', 'Time format': '时间格式',
  'Output as string': '输出为字符串', 'Allows arbitrary precision values': '允许任意精度的数值',
  'Validation pattern': '校验规则', 'Custom': '自定义', 'Email': '电子邮箱', 'Phone': '电话号码',
  'Custom error message': '自定义错误提示',
  'The error message to display when the input does not match the regular expression.': '输入不符合正则表达式时显示的提示。',
  'Input data': '输入数据', 'Dynamic options': '动态选项', 'Options expression': '选项表达式',
  'Define which input property to populate the values from': '指定从哪个输入属性取选项',
  'Define an expression to populate the options from.': '用表达式生成选项。',
  // (both tooltips are written on several lines; lookups ignore that)
  '"Static" defines a constant, predefined set of form options. "Input data" defines options that are populated dynamically, adjusting based on variable data for flexible responses to different conditions or inputs. "Expression" defines options that are populated from a FEEL expression.':
    '“固定”为预先定义的一组选项；“输入数据”按变量数据动态生成选项，随条件或输入变化；“表达式”由 FEEL 表达式生成选项。',
  'List of items': '固定列表', 'Column': '列',
  '"List of items" defines a constant, predefined set of form options. "Expression" defines options that are populated from a FEEL expression.':
    '“固定列表”为预先定义的一组列；“表达式”由 FEEL 表达式生成。',
  'Specify an expression to populate column items': '用表达式生成各列', 'Table label': '表格标签',
  'Specify the source from which to populate the table': '指定表格数据的来源',
  'Enter a form input variable that contains the data for the table or define an expression to populate the data dynamically.':
    '填写含表格数据的表单输入变量，或用表达式动态生成数据。',
  'Group label': '分组标签', 'Where the child variables of this component are pathed to.': '本组件下各字段的变量存放路径。',
  'Routes the children of this component into a form variable.': '把本组件下各字段的值放入一个表单变量。',
  'Routes the children of this component into a form variable, may be left empty to route at the root level.':
    '把本组件下各字段的值放入一个表单变量；留空则放在最外层。',
  'Vertical alignment': '垂直对齐', 'Top': '顶部', 'Center': '居中', 'Bottom': '底部', 'Auto': '自动',
  'Supports markdown and templating.': '支持 Markdown 和模板语法。', 'Learn more': '了解更多',
  'Supports HTML, styling, and templating. Styles are automatically scoped to the HTML component.':
    '支持 HTML、样式和模板语法，样式只作用于此 HTML 组件。',
  'Target value': '目标值', 'Compute on': '计算时机', 'Value changes': '值变化时', 'Form submission': '提交表单时',
  'Define an expression to calculate the value of this field': '用表达式计算此字段的值',
  'Image source': '图片来源', 'Expression or static value (link/data URI)': '表达式或固定值（链接或 data URI）',
  'Link referring to a hosted image, or use a data URI directly to embed image data into the form.':
    '指向图片的链接，或直接用 data URI 把图片数据嵌入表单。',
  'Descriptive text for screen reader accessibility.': '供读屏软件朗读的说明文字。',
  'Height of the container in pixels.': '容器高度（像素）。', 'A number is required.': '请输入数字。',
  'Enter a HTTPS URL to a source or populate it dynamically via a template or an expression (e.g., to pass a value from the variable).':
    '填写 HTTPS 网址，或用模板、表达式动态生成（例如取变量的值）。',
  'Please make sure that the URL is safe as it might impose security risks.': '请确认网址安全可信，否则可能带来安全风险。',
  'Not all external sources can be displayed in the iFrame. Read more about it in the': '并非所有外部网页都能嵌入 iFrame，详见',
  'X-FRAME-OPTIONS documentation': 'X-FRAME-OPTIONS 说明',
  'These options can incur security risks, especially if used in combination with dynamic links. Ensure that you are aware of them, that you trust the source url and only enable what your use case requires.':
    '这些选项可能带来安全风险，与动态链接合用时尤甚。请了解其含义、确认来源网址可信，并只开启确实需要的项。',
  'Allow the iframe to access more functionality of your browser, details regarding the various options can be found in the':
    '允许 iFrame 使用更多浏览器功能，各选项详见', 'MDN iFrame documentation.': 'MDN iFrame 文档。',
  'Script execution': '执行脚本', 'Allow same origin': '允许同源访问', 'Open in fullscreen': '全屏显示',
  'Geolocation': '地理位置', 'Camera access': '使用摄像头', 'Microphone access': '使用麦克风',
  'Forms submission': '提交表单', 'Open modal windows': '打开模态窗口', 'Open popups': '打开弹出窗口',
  'Top level navigation': '跳转顶层页面', 'Storage access by user': '经用户允许访问存储',
  'Supported file formats': '允许的文件格式', 'A comma-separated list of': '以英文逗号分隔的',
  'file type specifiers': '文件类型说明符列表', 'Upload multiple files': '允许上传多个文件',
  'Document reference': '文档引用', 'Title': '标题', 'Max height of preview container': '预览区最大高度',
  'The document data source is required.': '必须填写文档数据来源。',
  'A source is a JSON object containing metadata for a document or an array of documents.':
    '数据来源是一个含文档元数据的 JSON 对象，或这类对象的数组。',
  'Each entry must include a document ID, name, and MIME type.': '每一项须含文档 ID、名称和 MIME 类型。',
  'Additional details are optional. The expected format is as follows:': '其他信息可选。格式如下：',
  'When using Camunda Tasklist UI, additional document reference attributes are automatically handled. Modifying the document reference may affect the document preview functionality.':
    '使用 Camunda Tasklist 时，其他文档引用属性会自动处理；修改文档引用可能影响文档预览。',
  'Learn more in our': '详见', 'documentation': '文档',
  'Documents whose height exceeds the defined value in pixels will be vertically scrollable': '文档高度超过此值（像素）时可上下滚动',
  'Condition under which the field is hidden': '满足此条件时隐藏该字段', 'Deactivate if': '停用条件',
  'Condition under which the field is deactivated': '满足此条件时停用该字段',
  'The built-in phone validation pattern is based on the E.164 standard with no spaces. Ex: +491234567890':
    '内置的电话号码规则依据 E.164 标准，不含空格，如 +8653712345678。',
  'The input property may be an array of simple values or alternatively follow this schema:': '该输入属性可以是简单值的数组，也可以采用如下结构：',
  'The expression may result in an array of simple values or alternatively follow this schema:': '表达式的结果可以是简单值的数组，也可以采用如下结构：',
  '1m': '1 分钟', '5m': '5 分钟', '10m': '10 分钟', '15m': '15 分钟', '30m': '30 分钟', '1h': '1 小时',
  // validation messages of the panel's fields
  'Must not be empty.': '不能为空。', 'Must not be empty': '不能为空', 'Must be unique.': '必须唯一。',
  'Must not contain spaces.': '不能含空格。', 'Must not contain prefix.': '不能含前缀。', 'Must be a valid QName.': '须为合法的 QName。',
  'Must be a variable or a dot separated path.': '须为变量名或以点分隔的路径。',
  'Must not contain numerical path segments.': '路径中不能有纯数字的段。', 'Must not be a prohibited path.': '不能使用此路径。',
  'Must not cause two binding paths to collide': '不能与其他绑定路径冲突',
  'Must not conflict with other key/path assignments.': '不能与其他字段的键或路径冲突。',
  'Should be a valid number': '请输入有效的数字', 'Should be a valid number.': '请输入有效的数字。',
  'Should be an integer.': '请输入整数。', 'Should be greater than zero.': '须大于 0。',
  'Should be greater than or equal to zero.': '须大于或等于 0。', 'Must be number': '须为数字', 'Value must be a number.': '值须为数字。',
  'For security reasons the URL must start with "https".': '出于安全考虑，网址须以 https 开头。',
  // default texts of a new field (its data: the analyst may keep them)
  '# Text': '# 文本', 'Value': '值',
});

// exact, else ignoring case and how the text is spaced or broken into lines
const loose = (text) => text.replace(/\s+/g, ' ').trim().toLowerCase();
function lookup(template) {
  return ZH[template] || ZH_LOOSE[loose(template)];
}
const ZH_LOOSE = Object.fromEntries(Object.entries(ZH).map(([k, v]) => [loose(k), v]));

/** The Chinese for a library's English text, or the text itself when there is none. */
export function zhText(template) {
  return (typeof template === 'string' && lookup(template)) || template;
}

export function translate(template, replacements = {}) {
  const text = zhText(template);
  // dmn-js writes some keys with spaces ("e.g. { sample }")
  return text.replace(/{([^}]+)}/g, (whole, key) => (key.trim() in replacements ? replacements[key.trim()] : whole));
}

// bpmn-js and each dmn-js view: override the `translate` service
export default { translate: ['value', translate] };

// ------------------------------------------------------------------ form-js editor
const wrapped = new WeakMap(); // original entry component -> its translating wrapper (stable identity)
const wrappedFn = new WeakMap(); // original getOptions / validate -> its translating wrapper

function wrapOnce(fn, make) {
  if (!wrappedFn.has(fn)) wrappedFn.set(fn, make(fn));
  return wrappedFn.get(fn);
}

/** A text prop: a string, or markup (a tooltip, a description with a link) translated piece by piece. */
function translateText(value, depth) {
  return typeof value === 'string' ? zhText(value) : translateVNode(value, depth + 1);
}

/**
 * Translates what a rendered properties-panel entry shows: its label, description, tooltip, title
 * and placeholder (strings or markup), the labels of its select options, its validation messages
 * and its plain-text children, down the rendered tree. Texts not in the dictionary stay as they are.
 */
function translateVNode(node, depth = 0) {
  if (typeof node === 'string') return zhText(node);
  if (!node || typeof node !== 'object' || depth > 8) return node;
  if (Array.isArray(node)) return node.map((n) => translateVNode(n, depth));
  const props = node.props;
  if (!props) return node;
  for (const k of ['label', 'description', 'tooltip', 'title', 'placeholder', 'alt']) {
    if (props[k] != null && typeof props[k] !== 'function') props[k] = translateText(props[k], depth);
  }
  // the panel's Description and TooltipWrapper show their `value` (entries made by calling an entry
  // function directly hand their description and tooltip down this way); no input has a `forId`
  if (props.forId != null && props.value != null && typeof props.value !== 'function') {
    props.value = translateText(props.value, depth);
  }
  const optionLabel = (o) => (o && typeof o.label === 'string' ? { ...o, label: zhText(o.label) } : o);
  if (Array.isArray(props.options)) props.options = props.options.map(optionLabel);
  if (typeof props.getOptions === 'function') {
    props.getOptions = wrapOnce(props.getOptions, (f) => (...args) => (f(...args) || []).map(optionLabel));
  }
  if (typeof props.validate === 'function') {
    props.validate = wrapOnce(props.validate, (f) => (...args) => {
      const error = f(...args);
      return typeof error === 'string' ? zhText(error) : error;
    });
  }
  if (props.children != null) props.children = translateVNode(props.children, depth + 1);
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

const translateEntries = (entries) => entries && entries.map((e) => ({ ...e, component: translatingComponent(e.component) }));

function FormEditorZh(formFields, propertiesPanel) {
  for (const field of Object.values(formFields._formFields || {})) {
    const config = field.config || {};
    // palette entries and the panel header read these names
    if (config.name && lookup(config.name)) config.name = lookup(config.name);
    if (config.label && lookup(config.label)) config.label = lookup(config.label);
    // a field dropped from the palette gets a Chinese label ("单行文本", not "Text field")
    if (typeof config.create === 'function' && !config.create.sijiZh) {
      const create = config.create;
      config.create = (options = {}) => {
        const attrs = create(options);
        if (!('label' in options) && typeof attrs.label === 'string') attrs.label = zhText(attrs.label);
        return attrs;
      };
      config.create.sijiZh = true;
    }
  }
  // last of the providers (lowest priority): sees every group the editor's own provider made
  propertiesPanel.registerProvider({
    getGroups: () => (groups) => groups.map((g) => ({
      ...g,
      label: typeof g.label === 'string' ? translate(g.label) : g.label,
      ...(g.tooltip != null ? { tooltip: translateText(g.tooltip, 0) } : {}),
      entries: translateEntries(g.entries),
      // a list's items (options, columns, custom properties): their entries, not their labels (the analyst's)
      ...(g.items ? { items: g.items.map((item) => ({ ...item, entries: translateEntries(item.entries) })) } : {}),
    })),
  }, 1);
}
FormEditorZh.$inject = ['formFields', 'propertiesPanel'];

export const formEditorZh = { __init__: ['sijiFormEditorZh'], sijiFormEditorZh: ['type', FormEditorZh] };

// Builds the pages into dist/: one ES module per page (shared code split into chunks, the DMN and
// form editors loaded only when opened), one CSS file per page, and dist/manifest.json telling
// api/pages.py which files each page loads. Run by tools/pages-setup (`node build.mjs`).
import { build } from 'esbuild';
import { readFile, rm, rename, writeFile, mkdir, copyFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'dist.tmp');
const final = path.join(here, 'dist');
const PAGES = ['home', 'modeler', 'inbox', 'case', 'admin', 'supervision', 'caselist'];

// Chinese the translation modules (src/translate-zh.js) cannot reach, written into the libraries'
// source as esbuild loads it: strings the libraries never pass to a `translate` service. Each pair
// must be found, and each file must be loaded: otherwise the build fails, so an upgrade that moves
// or rewords a string cannot silently bring English back.
//
// form-js has no translation layer: its built-in strings (validation messages, list and select
// controls) are replaced in its source.
const FORM_JS_ZH = [
  ["'Field is required.'", "'此项必填。'"],
  ['`Field must match pattern ${validation.pattern}.`', "'格式不正确。'"],
  ['`Field must have minimum value of ${validation.min}.`', '`不能小于 ${validation.min}。`'],
  ['`Field must have maximum value of ${validation.max}.`', '`不能大于 ${validation.max}。`'],
  ['`Field must have minimum length of ${validation.minLength}.`', '`至少 ${validation.minLength} 个字符。`'],
  ['`Field must have maximum length of ${validation.maxLength}.`', '`最多 ${validation.maxLength} 个字符。`'],
  ["'Value is not a number.'", "'请输入数字。'"],
  ["'Value is expected to ' + (decimalDigits === 0 ? 'be an integer' : `have at most ${decimalDigits} decimal digit${decimalDigits > 1 ? 's' : ''}`) + '.'",
    "(decimalDigits === 0 ? '请输入整数。' : `最多 ${decimalDigits} 位小数。`)"],
  ['`Please select a valid value, the two nearest valid values are ${previousValue} and ${nextValue}.`',
    '`请输入有效值，最接近的有效值为 ${previousValue} 和 ${nextValue}。`'],
  ["'Field must be a valid email.'", "'请输入有效的电子邮箱。'"],
  ["'Field must be a valid  international phone number. (e.g. +4930664040900)'", "'请输入有效的国际电话号码（如 +8653712345678）。'"],
  ["placeholder: 'Search'", "placeholder: '搜索'"],
  ["placeholder: disabled || readonly ? undefined : 'Search'", "placeholder: disabled || readonly ? undefined : '搜索'"],
  ["children: valueLabel || 'Select'", "children: valueLabel || '请选择'"],
  ["'Add new'", "'添加一行'"],
  ["emptyListMessage = 'No results'", "emptyListMessage = '无匹配项'"],
  ["'No results' : 'All values selected'", "'无匹配项' : '已全部选择'"],
  ['children: "Nothing to show."', 'children: "暂无数据。"'],
  ['children: "Browse"', 'children: "选择文件"'],
  ["return 'No files selected';", "return '未选择文件';"],
  ['return `${files.length} files selected`;', 'return `已选择 ${files.length} 个文件`;'],
  ['"aria-label": "Increment"', '"aria-label": "增加"'],
  ['"aria-label": "Decrement"', '"aria-label": "减少"'],
  ['alt: "This is an image placeholder"', 'alt: "图片占位"'],
  // defaults of a new field in the form editor: its first option, a table's columns, a text view
  ["label: 'Value',\n    value: 'value'", "label: '选项',\n    value: 'value'"],
  ["label: 'Value',\n      value: 'value'", "label: '选项',\n      value: 'value'"],
  ["label: 'Name',\n        key: 'name'", "label: '名称',\n        key: 'name'"],
  ["label: 'Date',\n        key: 'date'", "label: '日期',\n        key: 'date'"],
  ["const TEXT_VIEW_DEFAULT_TEXT = '# Text';", "const TEXT_VIEW_DEFAULT_TEXT = '# 文本';"],
];

// The properties panel's own texts (list headers, "Create", pop-up editors) go through a `translate`
// the bpmn-js panel never passes down, so the library's fallback is pointed at the dictionary. The
// form editor carries its own copy of the panel: the same applies there.
const TRANSLATE_FALLBACK = [
  ["function translateFallback(template, replacements) {\n  replacements = replacements || {};\n  return template.replace(",
    "function translateFallback(template, replacements) {\n  replacements = replacements || {};\n  return __sijiZhText(template).replace("],
];
const PROPERTIES_PANEL_ZH = [
  ['closeButtonTooltip: "Save and close"', 'closeButtonTooltip: "保存并关闭"'],
  ['children: "Opened in popup"', 'children: "已在弹出窗口中打开"'],
];

// The form editor: its palette, what its canvas shows for a field it cannot preview, the defaults of
// a new field and the panel's validation messages that carry a number (the others are in the dictionary).
const FORM_EDITOR_ZH = [
  ["label: 'Input',\n  id: 'basic-input'", "label: '输入',\n  id: 'basic-input'"],
  ["label: 'Selection',\n  id: 'selection'", "label: '选择',\n  id: 'selection'"],
  ["label: 'Presentation',\n  id: 'presentation'", "label: '展示',\n  id: 'presentation'"],
  ["label: 'Containers',\n  id: 'container'", "label: '容器',\n  id: 'container'"],
  ["label: 'Action',\n  id: 'action'", "label: '操作',\n  id: 'action'"],
  ['title: "Components",\n      children: "Components"', 'title: "组件",\n      children: "组件"'],
  ['placeholder: "Search components"', 'placeholder: "搜索组件"'],
  ['title: `Create ${getIndefiniteArticle(type)} ${label} element`', 'title: `新建${label}`'],
  ["if (type === 'default') {\n        return 'Form';", "if (type === 'default') {\n        return '表单';"],
  ['title: "Clear content"', 'title: "清除"'],
  ['children: "No components found."', 'children: "未找到组件。"'],
  ['children: "Drag and drop components here."', 'children: "将组件拖放到这里。"'],
  ['children: "Build your form"', 'children: "设计表单"'],
  ['children: "Drag and drop components here to start designing."', 'children: "把左侧的组件拖放到这里，开始设计。"'],
  ['children: "Use the preview window to test your form."', 'children: "可在预览窗口中试填表单。"'],
  ["text: 'Select a form field to edit its properties.'", "text: '选择一个表单字段以编辑其属性。'"],
  ["text: 'Multiple form fields are selected. Select a single form field to edit its properties.'",
    "text: '已选择多个表单字段，请只选一个以编辑其属性。'"],
  ["return 'Remove form field';", "return '删除表单字段';"],
  ['return `Remove ${entry.label}`;', 'return `删除${entry.label}`;'],
  ['children: "Repeatable"', 'children: "可重复"'],
  // what the canvas shows in place of a field it cannot preview
  ["let placeholderContent = 'Expression is empty';", "let placeholderContent = '表达式为空';"],
  ["placeholderContent = `Expression for '${key}'`;", "placeholderContent = `“${key}”的表达式`;"],
  ['}), "Html view is empty"]', '}), "HTML 内容为空"]'],
  ['}), "Document preview"]', '}), "文档预览"]'],
  ['children: "Content"', 'children: "内容"'],
  ["label: 'Column 1'", "label: '列 1'"], ["label: 'Column 2'", "label: '列 2'"], ["label: 'Column 3'", "label: '列 3'"],
  // a new option ("选项 2") and a new table column
  ["const entry = {\n    label: 'Value',\n    value: 'value'\n  };", "const entry = {\n    label: '选项',\n    value: 'value'\n  };"],
  ['existingEntry.label === `Value ${index}`', 'existingEntry.label === `选项 ${index}`'],
  ["label: 'Column',\n            key: 'inputVariable'", "label: '列',\n            key: 'inputVariable'"],
  ["label: 'Column',\n      key: 'inputVariable'", "label: '列',\n      key: 'inputVariable'"],
  ["editField(field, TIME_LABEL_PATH, 'Time');", "editField(field, TIME_LABEL_PATH, '时间');"],
  // validation messages with a number in them (the fixed ones are in the dictionary)
  ['`Should not contain more than ${decimalDigits} decimal digits`', '`最多 ${decimalDigits} 位小数`'],
  ['`Should not contain more than ${decimalDigits} decimal digits.`', '`最多 ${decimalDigits} 位小数。`'],
  ['`Should be at least ${min}.`', '`不能小于 ${min}。`'],
  ['`Should be at most ${max}.`', '`不能大于 ${max}。`'],
  ['`Should be at least ${minimumValue.toString()}.`', '`不能小于 ${minimumValue.toString()}。`'],
  ['`Minimum ${MIN_COLUMNS} columns are allowed`', '`至少 ${MIN_COLUMNS} 列`'],
  ['`Maximum ${MAX_COLUMNS} columns are allowed`', '`最多 ${MAX_COLUMNS} 列`'],
  ['`New value exceeds the maximum of ${MAX_COLUMNS_PER_ROW} columns per row`', '`每行最多 ${MAX_COLUMNS_PER_ROW} 列`'],
  ['`Maximum ${MAX_FIELDS_PER_ROW} fields per row are allowed`', '`每行最多 ${MAX_FIELDS_PER_ROW} 个字段`'],
];

// dmn-js: the few texts its views do not pass to `translate`
const DMN_JS_ZH = {
  'dmn-js-decision-table/lib/features/simple-duration-edit/components/InputDurationEdit.js': [
    ['createVNode(1, "h4", "dms-heading", createTextVNode("Value"), 2)', 'createVNode(1, "h4", "dms-heading", createTextVNode("值"), 2)'],
  ],
  'dmn-js-decision-table/lib/features/context-menu/ContextMenu.js': [
    ['"aria-label": "Decision table context menu"', '"aria-label": "决策表菜单"'],
  ],
  'dmn-js-boxed-expression/lib/features/element-variable/components/ElementVariableComponent.js': [
    ['createVNode(1, "h2", null, createTextVNode("Result"), 2)', 'createVNode(1, "h2", null, createTextVNode("结果"), 2)'],
  ],
  'dmn-js-boxed-expression/lib/features/element-variable/components/ElementVariableEditorComponent.js': [
    ['createVNode(1, "h2", null, createTextVNode("Result"), 2)', 'createVNode(1, "h2", null, createTextVNode("结果"), 2)'],
    ['createTextVNode("Result type")', 'createTextVNode("结果类型")'],
  ],
  'dmn-js-boxed-expression/lib/features/function-definition/components/FormalParametersEditor.js': [
    ['createVNode(1, "th", null, createTextVNode("Name"), 2), createVNode(1, "th", null, createTextVNode("Type"), 2)',
      'createVNode(1, "th", null, createTextVNode("名称"), 2), createVNode(1, "th", null, createTextVNode("类型"), 2)'],
  ],
  'dmn-js-boxed-expression/lib/features/element-logic/ElementLogic.js': [
    ['[createTextVNode("Expression of type "), expression.$type, createTextVNode(" is not supported.")]',
      '[createTextVNode("不支持此类表达式："), expression.$type]'],
  ],
  'dmn-js-decision-table/lib/features/drag-and-drop/DragAndDrop.js': [
    ["let title = `Move ${isInput(col) ? 'Input' : 'Output'}`;", "let title = isInput(col) ? '拖动以移动输入列' : '拖动以移动输出列';"],
  ],
};

const DICTIONARY = path.join(here, 'src', 'translate-zh.js');
const IMPORT_ZH = `import { zhText as __sijiZhText } from ${JSON.stringify(DICTIONARY)};\n`;

/** file (a path under node_modules) -> { pairs, prefix }: what to replace in it and what to put first */
const REPLACEMENTS = {
  '@bpmn-io/form-js-viewer/dist/index.es.js': { pairs: FORM_JS_ZH },
  '@bpmn-io/form-js-editor/dist/index.es.js': {
    pairs: [...FORM_EDITOR_ZH, ...TRANSLATE_FALLBACK, ...PROPERTIES_PANEL_ZH], prefix: IMPORT_ZH,
  },
  '@bpmn-io/properties-panel/dist/index.esm.js': { pairs: [...TRANSLATE_FALLBACK, ...PROPERTIES_PANEL_ZH], prefix: IMPORT_ZH },
  // a listener's header ("开始: Java 类") is made without the panel's translate
  'bpmn-js-properties-panel/dist/index.esm.js': {
    pairs: [['function getListenerLabel(listener, translate = value => value) {', 'function getListenerLabel(listener, translate = __sijiZhText) {']],
    prefix: IMPORT_ZH,
  },
  ...Object.fromEntries(Object.entries(DMN_JS_ZH).map(([file, pairs]) => [file, { pairs }])),
};

function chinese() {
  const loaded = new Set();
  const key = (file) => file.split(path.sep).join('/').split('/node_modules/').pop();
  return {
    name: 'siji-zh',
    setup(b) {
      b.onLoad({ filter: /[\\/]node_modules[\\/].*\.js$/ }, async (args) => {
        const file = key(args.path);
        const target = REPLACEMENTS[file];
        if (!target) return undefined; // esbuild loads it as usual
        let src = await readFile(args.path, 'utf8');
        for (const [en, zh] of target.pairs) {
          if (!src.includes(en)) throw new Error(`siji-zh: not found in ${file} (package upgraded?): ${en}`);
          src = src.split(en).join(zh);
        }
        loaded.add(file);
        return { contents: (target.prefix || '') + src, loader: 'js' };
      });
      b.onEnd((result) => {
        if (result.errors.length) return;
        const missing = Object.keys(REPLACEMENTS).filter((f) => !loaded.has(f));
        if (missing.length) throw new Error(`siji-zh: never loaded (package upgraded or moved?): ${missing.join(', ')}`);
      });
    },
  };
}

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const started = Date.now();
const result = await build({
  absWorkingDir: here,
  entryPoints: PAGES.map((p) => `src/${p}.js`),
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  target: ['es2020'],
  minify: true,
  sourcemap: false,
  legalComments: 'linked',
  entryNames: '[name]-[hash]',
  chunkNames: 'chunks/[name]-[hash]',
  assetNames: 'assets/[name]-[hash]',
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file', '.png': 'file' },
  define: { 'process.env.NODE_ENV': '"production"' },
  metafile: true,
  logLevel: 'warning',
  plugins: [chinese()],
});

const manifest = {};
let total = 0;
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  total += info.bytes;
  if (!info.entryPoint) continue;
  const page = path.basename(info.entryPoint, '.js');
  if (!info.entryPoint.startsWith('src/') || !PAGES.includes(page)) continue; // lazily loaded library chunks
  manifest[page] = {
    js: path.relative(out, path.join(here, file)).split(path.sep).join('/'),
    css: info.cssBundle ? path.relative(out, path.join(here, info.cssBundle)).split(path.sep).join('/') : null,
    // chunks the entry imports statically: announced as modulepreload so they load in parallel
    preload: info.imports.filter((i) => i.kind === 'import-statement' && !i.external)
      .map((i) => path.relative(out, path.join(here, i.path)).split(path.sep).join('/')),
  };
}
// Swagger UI for /api/docs, served by the service itself (api/pages.py): many government networks
// reach no CDN. Copied as published (swagger-ui-dist), not bundled: it is one self-contained script.
const SWAGGER = ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png'];
await mkdir(path.join(out, 'swagger'), { recursive: true });
for (const f of SWAGGER) {
  await copyFile(path.join(here, 'node_modules', 'swagger-ui-dist', f), path.join(out, 'swagger', f));
  if (/\.(js|css)$/.test(f)) {
    const abs = path.join(out, 'swagger', f);
    await writeFile(`${abs}.gz`, gzipSync(await readFile(abs), { level: 9 }));
  }
}

// Pre-compressed copies, served to browsers that accept gzip (api/pages.py).
let gz = 0;
for (const file of Object.keys(result.metafile.outputs)) {
  if (!/\.(js|css|svg|txt)$/.test(file)) continue;
  const abs = path.join(here, file);
  const zipped = gzipSync(await readFile(abs), { level: 9 });
  await writeFile(`${abs}.gz`, zipped);
  gz += zipped.length;
}
for (const p of PAGES) if (!manifest[p]) throw new Error(`no output for page ${p}`);
await writeFile(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
await rm(final, { recursive: true, force: true });
await rename(out, final);
console.log(`pages built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${(total / 1024 / 1024).toFixed(2)} MiB in dist/ (${(gz / 1024 / 1024).toFixed(2)} MiB gzipped)`);

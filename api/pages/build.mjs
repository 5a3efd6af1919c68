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

// form-js has no translation layer: its few built-in strings (validation messages, list and select
// controls) are replaced in its source at build time. A string that is no longer found fails the
// build, so an upgrade of form-js cannot silently bring English back.
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
];

// The form editor's palette: fixed strings no translation module reaches.
const FORM_EDITOR_ZH = [
  ["label: 'Input',\n  id: 'basic-input'", "label: '输入',\n  id: 'basic-input'"],
  ["label: 'Selection',\n  id: 'selection'", "label: '选择',\n  id: 'selection'"],
  ["label: 'Presentation',\n  id: 'presentation'", "label: '展示',\n  id: 'presentation'"],
  ["label: 'Containers',\n  id: 'container'", "label: '容器',\n  id: 'container'"],
  ["label: 'Action',\n  id: 'action'", "label: '操作',\n  id: 'action'"],
  ['title: "Components",\n      children: "Components"', 'title: "组件",\n      children: "组件"'],
  ['placeholder: "Search components"', 'placeholder: "搜索组件"'],
];

function replaceStrings(name, filter, pairs) {
  return {
    name,
    setup(b) {
      b.onLoad({ filter }, async (args) => {
        let src = await readFile(args.path, 'utf8');
        for (const [en, zh] of pairs) {
          if (!src.includes(en)) throw new Error(`${name}: string not found (package upgraded?): ${en}`);
          src = src.split(en).join(zh);
        }
        return { contents: src, loader: 'js' };
      });
    },
  };
}

const formJsChinese = replaceStrings('form-js-zh', /form-js-viewer[\\/]dist[\\/]index\.es\.js$/, FORM_JS_ZH);
const formEditorChinese = replaceStrings('form-js-editor-zh', /form-js-editor[\\/]dist[\\/]index\.es\.js$/, FORM_EDITOR_ZH);

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
  plugins: [formJsChinese, formEditorChinese],
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

// form-js forms in Chinese, with the server's validation errors (422 `fields: {path: [msg]}`)
// shown on the fields they name. Paths are dotted data paths: `opinion`, `group.field`,
// `list.0.field` (rows of a dynamic list).
import { Form } from '@bpmn-io/form-js-viewer';
import flatpickr from 'flatpickr';
import { Mandarin } from 'flatpickr/dist/esm/l10n/zh.js';
import '@bpmn-io/form-js-viewer/dist/assets/form-js.css';
import { h, put } from './common.js';

flatpickr.localize(Mandarin);

function walk(components, prefix, out) {
  for (const c of components || []) {
    if (c.type === 'group' || c.type === 'dynamiclist') {
      const segs = c.path ? c.path.split('.') : [];
      const next = c.type === 'dynamiclist' ? [...prefix, ...segs, '*'] : [...prefix, ...segs];
      if (c.type === 'dynamiclist' && c.path) out.push({ segs: [...prefix, ...segs], id: c.id, label: c.label, list: true });
      walk(c.components, next, out);
    } else if (c.key) {
      out.push({ segs: [...prefix, ...c.key.split('.')], id: c.id, label: c.label || c.key });
    }
  }
  return out;
}

function match(fieldSegs, pathSegs) {
  if (fieldSegs.length !== pathSegs.length) return null;
  const indexes = [];
  for (let i = 0; i < fieldSegs.length; i++) {
    if (fieldSegs[i] === '*') {
      if (!/^\d+$/.test(pathSegs[i])) return null;
      indexes.push(Number(pathSegs[i]));
    } else if (fieldSegs[i] !== pathSegs[i]) {
      return null;
    }
  }
  return indexes;
}

export class FormView {
  constructor(container) {
    this.container = container;
    this.form = null;
  }

  async open(schema, data) {
    this.destroy();
    this.host = h('div', { class: 'form-host' });
    this.summary = h('div', { class: 'server-errors', hidden: true });
    this.container.append(this.summary, this.host);
    // no input debouncing: what is typed is in the data at once (submit right after typing)
    this.form = new Form({ container: this.host, debounce: false });
    await this.form.importSchema(schema, data || {});
    this.fields = walk(this.form._getState().schema.components, [], []);
    return this.form;
  }

  /** Client-side check (form-js rules); returns {data, errors}. */
  submit() {
    this.clearServerErrors();
    return this.form.submit();
  }

  /** Puts the server's field errors on the fields; lists all of them above the form too. */
  showServerErrors(fields, heading = '服务器拒绝了提交，请修改标出的字段：') {
    const errors = {};
    const items = [];
    for (const [path, msgs] of Object.entries(fields || {})) {
      const list = Array.isArray(msgs) ? msgs.map(String) : [String(msgs)];
      const segs = path.split('.');
      let placed = null;
      for (const f of this.fields) {
        const idx = match(f.segs, segs);
        if (idx) {
          placed = f;
          if (!f.list) {
            let node = errors;
            const keys = [f.id, ...idx];
            keys.slice(0, -1).forEach((k) => { node = node[k] = node[k] || {}; });
            node[keys[keys.length - 1]] = list;
          }
          break;
        }
      }
      const rowNo = segs.find((s) => /^\d+$/.test(s));
      const where = placed ? `${placed.label}${rowNo !== undefined ? `（第 ${Number(rowNo) + 1} 行）` : ''}` : path;
      items.push(h('li', { dataset: { path } }, h('b', {}, where), '：', list.join('；')));
    }
    this.form._setState({ errors });
    put(this.summary, h('div', { class: 'msg msg-error' }, heading, h('ul', {}, items)));
    this.summary.hidden = false;
    this.summary.scrollIntoView({ block: 'nearest' });
  }

  clearServerErrors() {
    if (this.summary) {
      put(this.summary);
      this.summary.hidden = true;
    }
  }

  destroy() {
    if (this.form) this.form.destroy();
    this.form = null;
    put(this.container);
  }
}

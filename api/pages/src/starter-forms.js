// A user task cannot be deployed without its form (the server refuses it with 422), so the modeler
// gives every new user task a form at once: a bpmn-js behaviour writes camunda:formKey
// "<process>/<TaskId>" on the task in the same command that creates it (one undo step), and
// syncStarterForms() adds a minimal form-js schema under that key to the page's deploy set.
import CommandInterceptor from 'diagram-js/lib/command/CommandInterceptor';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

const STARTER_FLAG = 'sijiStarter'; // marks an entry of state.forms the page made itself

function processIdFor(element) {
  let bo = getBusinessObject(element);
  while (bo && !is(bo, 'bpmn:Process') && !is(bo, 'bpmn:Participant')) bo = bo.$parent;
  if (bo && is(bo, 'bpmn:Participant')) bo = bo.processRef;
  return bo ? bo.id : null;
}

/** The form key the engine uses for a user task: camunda:formKey, else "<process>/<TaskId>". */
export function formKeyOf(element) {
  const bo = getBusinessObject(element);
  return bo.get('camunda:formKey') || `${processIdFor(element)}/${bo.id}`;
}

function snake(id) {
  const s = id.replace(/^(Task|Activity)_/, '').replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/\W+/g, '_').toLowerCase();
  return /^[a-z]/.test(s) ? s : `task_${s}`; // a form key starts with a letter (bpmn-js ids: Activity_1ay0806)
}

/** A minimal form-js schema the server accepts: a heading and one optional opinion field whose key
 * is the task's own (parallel branches merge data last-writer-wins, docs/MODELING.md). */
export function starterSchema(taskId, name) {
  return {
    type: 'default', id: `Form_${taskId}`, schemaVersion: 16,
    exporter: { name: 'siji modeler', version: '1.0' },
    components: [
      { type: 'text', id: 'Text_Heading', text: `### ${name || '新任务'}\n（新建任务的初始表单，请在“表单”中完善。）` },
      { type: 'textarea', id: 'Field_Opinion', key: `${snake(taskId)}_opinion`, label: '办理意见' },
    ],
  };
}

function StarterFormKeys(eventBus, modeling) {
  CommandInterceptor.call(this, eventBus);
  const given = new WeakMap(); // business object -> the key given here
  const give = (element) => {
    if (!element || !is(element, 'bpmn:UserTask')) return;
    const bo = getBusinessObject(element);
    const process = processIdFor(element);
    const key = `${process}/${bo.id}`;
    // a replaced shape is created under a fresh id and given the old one afterwards: follow it
    if (!process || (bo.get('camunda:formKey') && given.get(bo) !== bo.get('camunda:formKey')) || given.get(bo) === key) return;
    modeling.updateProperties(element, { 'camunda:formKey': key });
    given.set(bo, key);
  };
  this.postExecuted('shape.create', (e) => give(e.context.shape));
  this.postExecuted('shape.replace', (e) => give(e.context.newShape));
  // A task's form is found by "<process>/<TaskId>" when it names none: renaming the id would lose
  // it (and a starter form would take its place), so the old key is written down first.
  this.preExecute('element.updateProperties', (e) => {
    const { element, properties } = e.context;
    if (!is(element, 'bpmn:UserTask') || !('id' in properties) || properties.id === element.id) return;
    const bo = getBusinessObject(element);
    if (!bo.get('camunda:formKey') && !('camunda:formKey' in properties)) properties['camunda:formKey'] = formKeyOf(element);
  });
}
StarterFormKeys.prototype = Object.create(CommandInterceptor.prototype);
StarterFormKeys.$inject = ['eventBus', 'modeling'];

export const starterFormKeysModule = {
  __init__: ['sijiStarterFormKeys'],
  sijiStarterFormKeys: ['type', StarterFormKeys],
};

/**
 * Makes state.forms hold a form for every user task of the diagram: a missing one gets a starter
 * schema (no baseline, so it is deployed); a starter form no task uses any more and nobody edited
 * (undo of the creation, a changed key) is dropped again. Returns true when the set changed.
 */
export function syncStarterForms(bpmn, forms) {
  const wanted = new Map();
  for (const el of bpmn.get('elementRegistry').filter((e) => is(e, 'bpmn:UserTask') && !e.labelTarget)) {
    wanted.set(formKeyOf(el), el);
  }
  let changed = false;
  for (const [key, el] of wanted) {
    if (forms[key]) continue;
    const schema = starterSchema(getBusinessObject(el).id, getBusinessObject(el).name);
    forms[key] = { schema, baseline: null, [STARTER_FLAG]: JSON.stringify(schema) };
    changed = true;
  }
  for (const [key, entry] of Object.entries(forms)) {
    if (entry[STARTER_FLAG] && !wanted.has(key) && JSON.stringify(entry.schema) === entry[STARTER_FLAG]) {
      delete forms[key];
      changed = true;
    }
  }
  return changed;
}

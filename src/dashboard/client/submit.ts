/**
 * The submit form (`/jobs/new`), drawn from the head's task definitions (`GET /api/tasks`): a tab per
 * task, a field per parameter (a checkbox for a boolean, a list for choices, a text box otherwise, so
 * `1e6`, `2^32` and `1_000` reach the head's own parser), plus start, end and chunk for tasks over a
 * range, and the priority. The API's validation message is shown at the top and next to the field it
 * names.
 */
import { api, errorOf } from './api.js';
import { clear, h } from './dom.js';
import type { ApiError, JobStatus, TaskInfo, TaskParam, View } from './model.js';
import { navigate } from './router.js';
import { S } from './state.js';

/** Fields of the request itself, not of the task's params. */
const TOP_FIELDS = new Set(['start', 'end', 'chunk', 'priority']);

interface FieldSpec {
  name: string;
  /** The other name an error may give the field by (its CLI flag, without the dashes). */
  alias?: string;
  label: string;
  hint: string;
  kind: 'text' | 'check' | 'select' | 'file';
  value: string;
  checked?: boolean;
  choices?: readonly string[];
  placeholder?: string;
  /** Sent only when it differs from this (the head applies its own default otherwise). */
  dflt?: string;
  top: boolean;
}

interface Input {
  spec: FieldSpec;
  input: HTMLInputElement | HTMLSelectElement;
  wrap: HTMLElement;
  error: HTMLElement;
}

function label(name: string): string {
  const words = name.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[-_]/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function paramField(p: TaskParam): FieldSpec {
  const dflt = p.default === null || p.default === undefined ? '' : String(p.default);
  const alias = p.flag.replace(/^-+/, '');
  const base = { name: p.name, alias: alias !== p.name ? alias : undefined, label: label(p.name), hint: p.description, top: false };
  if (p.file) return { ...base, kind: 'file', value: '' };
  if (p.type === 'boolean') return { ...base, kind: 'check', value: '', checked: p.default === true, dflt: p.default === true ? 'true' : 'false' };
  if (p.choices && p.choices.length > 0) return { ...base, kind: 'select', value: dflt || (p.choices[0] as string), choices: p.choices, dflt };
  return { ...base, kind: 'text', value: dflt, dflt };
}

/** The fields of one task: its range (if it takes one), its params, the priority. */
function fieldsOf(t: TaskInfo): FieldSpec[] {
  const out: FieldSpec[] = [];
  if (t.range) {
    out.push(
      { name: 'start', label: 'Start', hint: 'first number (1e6, 2^32 and 1_000 work)', kind: 'text', value: '1', top: true },
      { name: 'end', label: 'End', hint: 'last number, up to 2^64 − 1', kind: 'text', value: '', placeholder: '1e9', top: true },
      { name: 'chunk', label: 'Chunk size', hint: 'numbers per chunk (empty: about 1–2 s of work)', kind: 'text', value: '', top: true },
    );
  }
  for (const p of t.params) if (!TOP_FIELDS.has(p.name)) out.push(paramField(p));
  out.push({ name: 'priority', label: 'Priority', hint: 'higher runs first (0 to 1000)', kind: 'text', value: '0', top: true });
  return out;
}

export function viewSubmit(root: HTMLElement): View | null {
  let tasks: TaskInfo[] = [];
  let task: TaskInfo | null = null;
  const tabs = h('div', { class: 'task-tabs', role: 'tablist' });
  const fields = h('div', { class: 'fields' }, h('div', { class: 'muted', text: 'Loading the tasks this head runs…' }));
  const formError = h('div', { class: 'form-error', role: 'alert', id: 'form-error', hidden: true });
  const submitBtn = h('button', { class: 'primary', type: 'submit', id: 'submit-job', text: 'Start job', disabled: true });
  const form = h('form', { class: 'panel submit', novalidate: true, id: 'submit-form' }, [
    h('h2', { text: 'What should the cluster compute?' }),
    tabs,
    fields,
    formError,
    h('div', { class: 'form-actions' }, [submitBtn, h('span', { class: 'muted', text: 'The job is split into chunks; every worker takes some.' })]),
  ]);
  root.append(h('div', { class: 'jobs-head' }, [h('h1', { text: 'New job' })]), form);
  let inputs = new Map<string, Input>();

  function drawTabs(): void {
    clear(tabs);
    for (const t of tasks) {
      const b = h('button', { type: 'button', class: t === task ? 'active' : '', 'data-task': t.name, role: 'tab' }, [t.name, h('small', { text: t.description })]);
      b.addEventListener('click', () => {
        task = t;
        drawTabs();
        drawFields();
      });
      tabs.appendChild(b);
    }
  }

  function drawFields(): void {
    clear(fields);
    inputs = new Map();
    formError.hidden = true;
    if (!task) return;
    for (const f of fieldsOf(task)) {
      const id = 'f-' + f.name;
      let input: HTMLInputElement | HTMLSelectElement;
      let wrap: HTMLElement;
      const hint = f.hint ? h('div', { class: 'hint', text: f.hint }) : null;
      if (f.kind === 'check') {
        input = h('input', { type: 'checkbox', name: f.name, id, checked: f.checked === true });
        wrap = h('div', { class: 'field check', 'data-field': f.name }, [input, h('label', { for: id, text: f.label }), hint]);
      } else if (f.kind === 'file') {
        // the file's text is sent as the value (life --pattern: an RLE file, read here, not uploaded apart)
        input = h('input', { type: 'file', name: f.name, id, accept: '.rle,.txt,text/plain' });
        wrap = h('div', { class: 'field', 'data-field': f.name }, [h('label', { for: id, text: f.label }), input, hint]);
      } else if (f.kind === 'select') {
        input = h('select', { name: f.name, id }, (f.choices ?? []).map((o) => h('option', { value: o, text: o, selected: o === f.value })));
        wrap = h('div', { class: 'field', 'data-field': f.name }, [h('label', { for: id, text: f.label }), input, hint]);
      } else {
        input = h('input', { type: 'text', name: f.name, id, value: f.value, placeholder: f.placeholder, autocomplete: 'off', spellcheck: 'false' });
        wrap = h('div', { class: 'field', 'data-field': f.name }, [h('label', { for: id, text: f.label }), input, hint]);
      }
      const error = h('div', { class: 'field-error', hidden: true });
      wrap.appendChild(error);
      input.addEventListener('input', () => {
        wrap.classList.remove('invalid');
        error.hidden = true;
      });
      const entry = { spec: f, input, wrap, error };
      inputs.set(f.name, entry);
      if (f.alias) inputs.set(f.alias, entry);
      fields.appendChild(wrap);
    }
  }

  function clearErrors(): void {
    inputs.forEach((i) => {
      i.wrap.classList.remove('invalid');
      i.error.hidden = true;
    });
    formError.hidden = true;
  }

  function showError(err: ApiError | null): void {
    let field = (err?.field ?? '').replace(/^--/, '').replace(/^params\./, '');
    if (field === 'max-attempts') field = 'maxAttempts';
    const target = inputs.get(field);
    const message = err?.message ?? 'the head refused the job';
    formError.hidden = false;
    formError.textContent = message;
    if (target) {
      target.wrap.classList.add('invalid');
      target.error.hidden = false;
      target.error.textContent = message;
      target.input.focus();
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!task) return;
    clearErrors();
    const body: Record<string, unknown> & { params: Record<string, unknown> } = { task: task.name, params: {} };
    const reads: Promise<void>[] = [];
    for (const [name, { spec, input }] of inputs) {
      if (name !== spec.name) continue; // an alias
      if (spec.kind === 'file') {
        const file = input instanceof HTMLInputElement ? input.files?.[0] : undefined;
        if (file) reads.push(file.text().then((text) => void (body.params[name] = text)));
        continue;
      }
      let v: string;
      if (input instanceof HTMLInputElement && input.type === 'checkbox') v = input.checked ? 'true' : 'false';
      else v = input.value.trim();
      if (v === '' || (spec.dflt !== undefined && v === spec.dflt)) continue;
      const value = spec.kind === 'check' ? v === 'true' : v;
      if (spec.top) body[name] = value;
      else body.params[name] = value;
    }
    submitBtn.disabled = true;
    Promise.all(reads)
      .then(() => api<JobStatus>('POST', '/api/jobs', body))
      .then(
      (r) => {
        submitBtn.disabled = false;
        if (r.status === 201) {
          S.jobs.set(r.json.id, { numbersPerSecond: null, primesPerSecond: null, hasOutput: false, ...r.json });
          navigate('/job/' + encodeURIComponent(r.json.id));
          return;
        }
        showError(errorOf(r));
      },
      (err: unknown) => {
        submitBtn.disabled = false;
        showError({ message: 'cannot reach the head: ' + (err instanceof Error ? err.message : String(err)) });
      },
    );
  });

  function unavailable(message: string): void {
    clear(fields);
    formError.hidden = false;
    formError.textContent = message;
    submitBtn.disabled = true;
  }

  api<TaskInfo[]>('GET', '/api/tasks').then(
    (r) => {
      if (r.status === 404) {
        unavailable('This head does not list its tasks (GET /api/tasks is missing: an older head?), so the form cannot be drawn. Submit with the command line instead: bramble submit TASK --help.');
        return;
      }
      if (!r.ok || !Array.isArray(r.json)) {
        unavailable('Cannot load the task list from the head: ' + (errorOf(r)?.message ?? 'HTTP ' + r.status));
        return;
      }
      tasks = r.json;
      if (!tasks.length) {
        unavailable('This head has no tasks to run.');
        return;
      }
      task = tasks.find((t) => t.range) ?? tasks[0] ?? null;
      submitBtn.disabled = false;
      drawTabs();
      drawFields();
    },
    (err: unknown) => unavailable('Cannot reach the head: ' + (err instanceof Error ? err.message : String(err))),
  );
  return null;
}

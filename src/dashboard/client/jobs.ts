/** The jobs list (`/jobs`): state, progress, chunks, rate, ETA of every job the head reports. */
import { badge, clear, h, setText } from './dom.js';
import { execRunsPanel } from './exec-runs.js';
import { fmtAgo, fmtDuration, fmtInt, fmtPct, fmtSI, taskTitle } from './format.js';
import type { JobView, View } from './model.js';
import { navigate } from './router.js';
import { S } from './state.js';

interface Row {
  tr: HTMLTableRowElement;
  title: HTMLElement;
  state: HTMLElement;
  prog: HTMLElement;
  bar: HTMLElement;
  pct: HTMLElement;
  chunks: HTMLElement;
  rate: HTMLElement;
  eta: HTMLElement;
  when: HTMLElement;
}

export function viewJobs(root: HTMLElement): View {
  const body = h('tbody');
  const empty = h('div', { class: 'empty', hidden: true }, ['No jobs yet. ', h('a', { href: '/jobs/new', text: 'Start one' }), ', or run ', h('code', { text: 'bramble submit primes --start 1 --end 1e9' }), '.']);
  root.append(
    h('div', { class: 'jobs-head' }, [h('h1', { text: 'Jobs' }), h('a', { class: 'button', href: '/jobs/new', text: '+ New job' })]),
    h('div', { class: 'panel' }, [
      h('table', { class: 'list', id: 'jobs-table' }, [h('thead', null, h('tr', null, ['Job', 'State', 'Progress', 'Chunks', 'Rate', 'ETA', 'Submitted'].map((t) => h('th', { text: t })))), body]),
      empty,
    ]),
  );
  const runs = execRunsPanel();
  root.append(runs.el);
  const rows = new Map<string, Row>();

  function row(j: JobView): Row {
    const bar = h('span');
    const r = {
      bar,
      pct: h('span', { class: 'pct-text' }),
      prog: h('div', { class: 'progress' }, bar),
      state: h('td'),
      chunks: h('td', { class: 'num' }),
      rate: h('td', { class: 'num' }),
      eta: h('td', { class: 'num' }),
      when: h('td', { class: 'muted' }),
      title: h('div', { class: 'task-name' }),
    };
    const tr = h('tr', { class: 'link', 'data-job': j.id }, [
      h('td', null, [r.title, h('div', { class: 'job-id', text: j.id })]),
      r.state,
      h('td', { class: 'progress-cell' }, h('div', { class: 'pc-wrap' }, [r.prog, r.pct])),
      r.chunks,
      r.rate,
      r.eta,
      r.when,
    ]);
    tr.addEventListener('click', (e) => {
      if (!(e.target instanceof Element && e.target.closest('a'))) navigate('/job/' + encodeURIComponent(j.id));
    });
    return { ...r, tr };
  }

  function paintRow(r: Row, j: JobView): void {
    setText(r.title, taskTitle(j));
    if (r.state.textContent !== j.state) {
      clear(r.state);
      r.state.appendChild(badge(j.state));
    }
    r.prog.className = 'progress ' + j.state;
    r.bar.style.width = (100 * j.progress).toFixed(2) + '%';
    setText(r.pct, fmtPct(j.progress));
    setText(r.chunks, fmtInt(j.chunks.done) + ' / ' + fmtInt(j.chunks.total) + (j.chunks.failed ? ' (' + j.chunks.failed + ' failed)' : ''));
    setText(
      r.rate,
      j.rate !== null && j.state !== 'cancelled' ? (j.numbersPerSecond !== null ? fmtSI(j.numbersPerSecond) + '/s' : fmtSI(j.rate) + ' chunks/s') + (j.state === 'running' ? '' : ' avg') : '–',
    );
    setText(r.eta, j.state === 'running' ? fmtDuration(j.etaSeconds) : j.finishedAt && j.startedAt ? 'took ' + fmtDuration((j.finishedAt - j.startedAt) / 1000) : '–');
    setText(r.when, fmtAgo(j.createdAt));
  }

  function paintAll(): void {
    const list = [...S.jobs.values()].sort((a, b) => b.createdAt - a.createdAt);
    empty.hidden = list.length > 0 || !S.ready;
    for (const j of list) {
      let r = rows.get(j.id);
      if (!r) {
        r = row(j);
        rows.set(j.id, r);
      }
      body.appendChild(r.tr);
      paintRow(r, j);
    }
  }

  const tick = setInterval(() => {
    rows.forEach((r, id) => {
      const j = S.jobs.get(id);
      if (j) setText(r.when, fmtAgo(j.createdAt));
    });
  }, 5000);
  return {
    update(c) {
      if (c.full || c.jobs.length) paintAll();
    },
    destroy() {
      clearInterval(tick);
      runs.destroy();
    },
  };
}

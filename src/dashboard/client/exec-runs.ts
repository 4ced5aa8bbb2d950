/**
 * MPI runs and other remote commands (`bramble mpirun`, `bramble agent`) on the jobs page: command,
 * state, the nodes busy with them (commands running, how each ended), elapsed time, and the last lines
 * of their output, from `GET /api/exec` every two seconds while the page is open.
 */
import { api } from './api.js';
import { badge, clear, h, setText } from './dom.js';
import { fmtAgo, fmtDuration } from './format.js';

interface ExecRun {
  id: string;
  label: string | null;
  state: 'running' | 'ended';
  startedAt: number;
  endedAt: number | null;
  elapsedMs: number;
  nodes: { node: string; name: string; running: number; exits: (number | string)[] }[];
  output: { node: string; fd: 1 | 2; text: string }[];
  exit: number | null;
}

export function execRunsPanel(): { el: HTMLElement; destroy(): void } {
  const body = h('tbody');
  const el = h('div', { class: 'panel', hidden: true }, [h('h2', { text: 'MPI runs and remote commands' }), h('table', { class: 'list', id: 'exec-table' }, [h('thead', null, h('tr', null, ['Command', 'State', 'Nodes', 'Elapsed', 'Started'].map((t) => h('th', { text: t })))), body])]);
  let stopped = false;
  const paint = (runs: ExecRun[]): void => {
    el.hidden = runs.length === 0;
    clear(body);
    for (const r of runs.slice(0, 20)) {
      const nodes = r.nodes.map((n) => `${n.name}${n.running ? ` (${n.running} running)` : ''}${n.exits.length ? ` exit ${String(n.exits[n.exits.length - 1])}` : ''}`).join(', ');
      const out = r.output.map((o) => o.text).join('').split('\n').slice(-6).join('\n');
      const state = h('td');
      const failed = (r.exit !== null && r.exit !== 0) || r.nodes.some((n) => n.exits.includes('lost'));
      state.appendChild(badge(r.state === 'running' ? 'running' : failed ? 'failed' : 'done'));
      if (r.exit !== null) state.append(h('span', { class: 'muted', text: ` exit ${r.exit}` }));
      body.append(
        h('tr', { 'data-run': r.id }, [h('td', null, [h('div', { class: 'task-name', text: r.label ?? r.id }), h('div', { class: 'job-id', text: r.id })]), state, h('td', { text: nodes }), h('td', { class: 'num', text: fmtDuration(r.elapsedMs / 1000) }), h('td', { class: 'muted', text: fmtAgo(r.startedAt) })]),
      );
      if (out.trim()) {
        const pre = h('pre', { class: 'muted' });
        setText(pre, out);
        body.append(h('tr', null, h('td', { colspan: '5' }, pre)));
      }
    }
  };
  const poll = async (): Promise<void> => {
    while (!stopped) {
      const r = await api<{ runs: ExecRun[] }>('GET', '/api/exec').catch(() => null);
      if (stopped) return;
      if (r?.ok) paint(r.json.runs);
      await new Promise((res) => setTimeout(res, 2000));
    }
  };
  void poll();
  return {
    el,
    destroy() {
      stopped = true;
    },
  };
}

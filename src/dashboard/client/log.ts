/** The event log (`/log`): the head's last events, filterable by level, kind and text. */
import { clear, h, setText, throttle } from './dom.js';
import { fmtClock } from './format.js';
import type { HeadEvent, View } from './model.js';
import { S } from './state.js';

export function viewLog(root: HTMLElement): View {
  const levels: Record<HeadEvent['level'], boolean> = { info: true, warn: true, error: true };
  const kind = h('select', { id: 'log-kind' }, h('option', { value: '', text: 'every kind' }));
  const search = h('input', { type: 'search', id: 'log-search', placeholder: 'search messages' });
  const count = h('span', { class: 'log-count' });
  const chips = (['info', 'warn', 'error'] as const).map((l) => {
    const b = h('button', { type: 'button', class: 'chip', 'data-level': l }, [h('span', { class: 'lvl lvl-' + l, text: l })]);
    b.addEventListener('click', () => {
      levels[l] = !levels[l];
      b.classList.toggle('off', !levels[l]);
      paint();
    });
    return b;
  });
  const body = h('tbody');
  root.append(
    h('div', { class: 'jobs-head' }, [h('h1', { text: 'Event log' })]),
    h('div', { class: 'log-filters' }, [...chips, kind, search, count]),
    h('div', { class: 'panel' }, h('table', { class: 'list log', id: 'log-table' }, [h('thead', null, h('tr', null, ['Time', 'Level', 'Kind', 'Message'].map((t) => h('th', { text: t })))), body])),
  );
  kind.addEventListener('change', paint);
  search.addEventListener('input', throttle(paint, 150));
  const kinds = new Set<string>();

  function paint(): void {
    for (const e of S.events) {
      if (!kinds.has(e.kind)) {
        kinds.add(e.kind);
        kind.appendChild(h('option', { value: e.kind, text: e.kind }));
      }
    }
    const q = search.value.trim().toLowerCase();
    const shown = S.events.filter((e) => levels[e.level] && (!kind.value || e.kind === kind.value) && (!q || e.msg.toLowerCase().includes(q)));
    setText(count, shown.length + ' of ' + S.events.length + ' events (the head keeps the last 1000)');
    clear(body);
    const list = shown.slice(-500).reverse();
    for (const e of list) {
      body.appendChild(
        h('tr', { class: 'ev-' + e.level, 'data-level': e.level, 'data-kind': e.kind }, [
          h('td', { class: 't', text: fmtClock(e.t) }),
          h('td', { class: 'l' }, h('span', { class: 'lvl lvl-' + e.level, text: e.level })),
          h('td', { class: 'k', text: e.kind }),
          h('td', { text: e.msg }),
        ]),
      );
    }
    if (!list.length) body.appendChild(h('tr', null, h('td', { colspan: 4, class: 'muted', text: S.events.length ? 'No event matches the filters.' : 'No events yet.' })));
  }

  return {
    update(c) {
      if (c.full || c.events.length) paint();
    },
  };
}

/** The node wall (`/`): a tile per worker coloured by CPU temperature, cluster totals, running jobs. */
import { TEMPERATURE_STOPS, temperatureColour } from '../temperature-colour.js';
import { add, clear, h, setText, throttle } from './dom.js';
import { big, fmtDuration, fmtInt, fmtPct, fmtRate, fmtSI, fmtTemp, naturalCompare, taskTitle, textOn } from './format.js';
import type { JobView, NodeView, View } from './model.js';
import { clusterTotals, S, serverNow } from './state.js';

const STATE_LABEL: Record<string, string> = { stale: 'STALE', lost: 'LOST', gone: 'LEFT', draining: 'DRAINING' };

interface Tile {
  el: HTMLAnchorElement;
  name: HTMLElement;
  temp: HTMLElement;
  addr: HTMLElement;
  pips: HTMLElement;
  slotsText: HTMLElement;
  rate: HTMLElement;
  badge: HTMLElement;
  key: string;
}

interface RunRow {
  el: HTMLAnchorElement;
  title: HTMLElement;
  bar: HTMLElement;
  pct: HTMLElement;
  facts: HTMLElement;
  sig: string;
}

interface Kpi {
  el: HTMLElement;
  v: HTMLElement;
  sub: HTMLElement;
}

function kpi(label: string): Kpi {
  const v = h('div', { class: 'kpi-value' });
  const sub = h('div', { class: 'kpi-sub' });
  return { el: h('div', { class: 'kpi' }, [h('div', { class: 'kpi-label', text: label }), v, sub]), v, sub };
}

export function viewWall(root: HTMLElement): View {
  root.className = 'view-wall';
  const k = { nodes: kpi('Nodes online'), slots: kpi('Slots busy'), rate: kpi('Numbers / second'), temp: kpi('Temperature') };
  const hideOff = h('input', { type: 'checkbox', id: 'hide-offline' });
  const legend = temperatureLegend(hideOff);
  const grid = h('div', { class: 'wall-grid', id: 'wall' });
  const empty = h('div', { class: 'empty wall-empty', hidden: true }, [
    h('div', { text: 'Waiting for workers to join.' }),
    h('div', null, ['On each worker run the line ', h('code', { text: 'bramble head' }), ' printed: ', h('code', { text: 'bramble worker --head HOST:7070 --join TOKEN' })]),
  ]);
  const running = h('section', { class: 'running', id: 'running' });
  add(root, [h('section', { class: 'wall-bar' }, [h('div', { class: 'kpis' }, [k.nodes.el, k.slots.el, k.rate.el, k.temp.el]), legend]), grid, empty, running]);
  const tiles = new Map<string, Tile>();
  let runRows: RunRow[] = [];
  let order = '';
  let dims = { key: '', compact: false };
  hideOff.addEventListener('change', () => sync(true));

  function makeTile(n: NodeView): Tile {
    const t = {
      name: h('div', { class: 't-name' }),
      temp: h('div', { class: 't-temp' }),
      addr: h('div', { class: 't-addr' }),
      pips: h('span', { class: 'pips' }),
      slotsText: h('span', { class: 't-slots' }),
      rate: h('span', { class: 't-rate' }),
      badge: h('div', { class: 't-badge' }),
      key: '',
    };
    const el = h('a', { class: 'tile', href: '/node/' + encodeURIComponent(n.id) }, [t.badge, t.name, t.temp, t.addr, h('div', { class: 't-foot' }, [t.pips, t.slotsText, t.rate])]);
    return { ...t, el };
  }

  function paintTile(t: Tile, n: NodeView): void {
    const key = [n.name, n.temp, n.state, n.address, n.busy, n.slots, n.rate === null ? '' : fmtSI(n.rate), n.hot, n.suspect, n.barred].join('|');
    if (key === t.key) return;
    t.key = key;
    const bg = temperatureColour(n.temp);
    t.el.style.backgroundColor = bg;
    t.el.style.color = textOn(bg);
    t.el.className = 'tile s-' + n.state + (n.temp === null ? ' no-temp' : '') + (n.hot && n.state === 'ready' ? ' hot' : '') + (n.suspect ? ' suspect' : '') + (dims.compact ? ' compact' : '');
    t.el.setAttribute('data-id', n.id);
    t.el.setAttribute('data-state', n.state);
    t.el.setAttribute('data-temp', n.temp === null ? '' : String(n.temp));
    t.el.setAttribute('data-busy', String(n.busy));
    t.el.setAttribute('data-slots', String(n.slots));
    t.el.title =
      n.name + ' (' + n.address + ')\n' + (n.temp === null ? 'no temperature sensor' : fmtTemp(n.temp)) + '\n' + n.busy + ' of ' + n.slots + ' slots busy' +
      (n.rate ? '\n' + fmtRate(n.rate) : '') + '\n' + n.state + (n.hot ? '\nhot or throttled: gets fewer chunks' : '') + (n.barred ? `\nbarred: outvoted ${n.strikes ?? 0} times; bramble node clear ${n.name}` : n.suspect ? `\nsuspect: outvoted ${n.strikes ?? 0} time(s); every result compared` : '');
    setText(t.name, n.name);
    setText(t.temp, n.temp === null ? 'no sensor' : n.temp.toFixed(1) + '°');
    setText(t.addr, n.address && n.address !== n.name ? n.address : '');
    if (n.slots > 0 && n.slots <= 8) {
      if (t.pips.childNodes.length !== n.slots) {
        clear(t.pips);
        for (let i = 0; i < n.slots; i++) t.pips.appendChild(h('i'));
      }
      t.pips.querySelectorAll('i').forEach((pip, j) => {
        pip.className = j < n.busy ? 'on' : '';
      });
      setText(t.slotsText, '');
    } else {
      clear(t.pips);
      setText(t.slotsText, n.busy + '/' + n.slots);
    }
    setText(t.rate, n.rate ? fmtSI(n.rate) + '/s' : '');
    setText(t.badge, n.barred ? 'BARRED' : n.suspect ? 'SUSPECT' : (STATE_LABEL[n.state] ?? (n.hot ? 'HOT' : '')));
  }

  function visible(): NodeView[] {
    const list: NodeView[] = [];
    // a worker that restarted comes back as a new node: hide its old, offline self
    const online = new Set<string>();
    const who = (n: NodeView): string => n.name + '#' + n.instance + '@' + n.address;
    S.nodes.forEach((n) => {
      if (n.state === 'ready' || n.state === 'draining') online.add(who(n));
    });
    S.nodes.forEach((n) => {
      const off = n.state !== 'ready' && n.state !== 'draining';
      if (off && (hideOff.checked || online.has(who(n)))) return;
      if (n.state === 'gone' && serverNow() - n.lastSeen > 3600000) return;
      list.push(n);
    });
    list.sort((a, b) => naturalCompare(a.name, b.name) || naturalCompare(a.id, b.id));
    return list;
  }

  /** Sizes the tiles to fill the window: the most columns that keep them readable. */
  function layout(count: number): void {
    const W = grid.clientWidth || root.clientWidth;
    const top = grid.getBoundingClientRect().top + window.scrollY;
    const H = window.innerHeight - top - running.offsetHeight - 22;
    const gap = count > 150 ? 6 : count > 40 ? 8 : 12;
    let best: { cols: number; th: number; tw: number } | null = null;
    for (let cols = 1; cols <= Math.max(1, count); cols++) {
      const rows = Math.ceil(count / cols);
      const w = (W - gap * (cols - 1)) / cols;
      const hh = (H - gap * (rows - 1)) / rows;
      const th = Math.min(hh, w / 1.12, 190);
      if (!best || th > best.th) best = { cols, th, tw: Math.min(w, th * 1.55) };
    }
    if (!best) return;
    const th = Math.max(58, Math.floor(best.th));
    const tw = Math.max(74, Math.floor(Math.max(best.tw, th * 1.12)));
    const cols = Math.max(1, Math.floor((W + gap) / (tw + gap)));
    const key = cols + ':' + tw + ':' + th + ':' + gap;
    if (key === dims.key) return;
    dims = { key, compact: th < 64 };
    grid.style.setProperty('--gap', gap + 'px');
    grid.style.gridTemplateColumns = 'repeat(' + cols + ', ' + tw + 'px)';
    grid.style.gridAutoRows = th + 'px';
    grid.style.setProperty('--f-name', Math.max(11, Math.min(tw * 0.145, th * 0.17, 22)).toFixed(1) + 'px');
    grid.style.setProperty('--f-temp', Math.max(16, Math.min(tw * 0.27, th * 0.33, 50)).toFixed(1) + 'px');
    grid.style.setProperty('--f-small', Math.max(10, Math.min(tw * 0.12, th * 0.14, 16)).toFixed(1) + 'px');
    grid.style.setProperty('--pip', Math.max(6, Math.min(th * 0.1, 12)).toFixed(1) + 'px');
    tiles.forEach((t) => t.el.classList.toggle('compact', dims.compact));
  }

  function sync(full: boolean): void {
    const list = visible();
    const ids = list.map((n) => n.id).join('\n');
    if (full || ids !== order) {
      const keep = new Set<string>();
      for (const n of list) {
        let t = tiles.get(n.id);
        if (!t) {
          t = makeTile(n);
          tiles.set(n.id, t);
        }
        keep.add(n.id);
        grid.appendChild(t.el);
      }
      tiles.forEach((t, id) => {
        if (!keep.has(id)) {
          t.el.remove();
          tiles.delete(id);
        }
      });
      order = ids;
      empty.hidden = list.length > 0 || !S.ready;
      paintRunning();
      layout(list.length);
    }
    for (const n of list) {
      const t = tiles.get(n.id);
      if (t) paintTile(t, n);
    }
  }

  function paintKpis(): void {
    const t = clusterTotals();
    k.nodes.v.textContent = String(t.online);
    k.nodes.v.appendChild(h('small', { text: '/ ' + t.known }));
    const off = t.known - t.online;
    setText(k.nodes.sub, off > 0 ? off + ' stale or lost' : 'all reporting');
    k.slots.v.textContent = String(t.busy);
    k.slots.v.appendChild(h('small', { text: '/ ' + t.slots }));
    setText(k.slots.sub, t.slots ? Math.round((100 * t.busy) / t.slots) + '% of the cluster working' : 'no slots');
    setText(k.rate.v, fmtSI(t.rate));
    setText(k.rate.sub, 'numbers checked per second');
    if (t.temps && t.hottest) {
      k.temp.v.textContent = (t.tempSum / t.temps).toFixed(1);
      k.temp.v.appendChild(h('small', { text: '°C avg' }));
      setText(k.temp.sub, 'hottest ' + (t.hottest.temp ?? 0).toFixed(1) + ' °C on ' + t.hottest.name);
    } else {
      setText(k.temp.v, '–');
      setText(k.temp.sub, 'no sensors reporting');
    }
  }

  function paintRunning(): void {
    let jobs: JobView[] = [];
    S.jobs.forEach((j) => {
      if (j.state === 'running' || j.state === 'queued') jobs.push(j);
    });
    jobs.sort((a, b) => (a.state === 'running' ? 0 : 1) - (b.state === 'running' ? 0 : 1) || b.createdAt - a.createdAt);
    jobs = jobs.slice(0, 2);
    const sig = jobs.map((j) => j.id).join(',');
    if (running.getAttribute('data-jobs') !== sig) {
      clear(running);
      running.setAttribute('data-jobs', sig);
      runRows = jobs.map(runRow);
      for (const r of runRows) running.appendChild(r.el);
      if (sig) setTimeout(() => layout(tiles.size), 0);
    }
    jobs.forEach((j, i) => {
      const r = runRows[i];
      if (r) paintRunRow(r, j);
    });
  }

  function runRow(j: JobView): RunRow {
    const r = { title: h('span', { class: 'rt' }), bar: h('span'), pct: h('div', { class: 'pct' }), facts: h('div', { class: 'run-facts' }), sig: '' };
    const el = h('a', { class: 'run-row', href: '/job/' + encodeURIComponent(j.id) }, [
      h('div', { class: 'run-title' }, [r.title, h('small', { text: j.id })]),
      h('div', { class: 'progress' }, [r.bar, r.pct]),
      r.facts,
    ]);
    return { ...r, el };
  }

  function paintRunRow(row: RunRow, j: JobView): void {
    setText(row.title, taskTitle(j));
    row.bar.style.width = (100 * j.progress).toFixed(2) + '%';
    setText(row.pct, j.state === 'queued' ? 'waiting for workers' : fmtPct(j.progress) + (j.etaSeconds !== null ? ' · ETA ' + fmtDuration(j.etaSeconds) : ''));
    const f: [string, string][] = [];
    const live = j.live as { count?: unknown; largest?: unknown; longest?: { n: unknown; steps: unknown }; population?: unknown };
    if (j.task === 'primes') {
      f.push([fmtInt(live.count), 'primes']);
      if (live.largest) f.push([big(live.largest), 'largest']);
      if (j.primesPerSecond !== null) f.push([fmtSI(j.primesPerSecond), 'primes/s']);
    } else if (j.task === 'collatz') {
      if (live.longest) f.push([fmtInt(live.longest.n), 'record: ' + fmtInt(live.longest.steps) + ' steps']);
      if (j.numbersPerSecond !== null) f.push([fmtSI(j.numbersPerSecond), 'numbers/s']);
    } else if (j.task === 'life') {
      f.push([live.population === null || live.population === undefined ? '–' : fmtInt(live.population), 'cells alive']);
    } else {
      f.push([fmtInt(j.chunks.done), 'of ' + fmtInt(j.chunks.total) + ' chunks']);
    }
    const sig = JSON.stringify(f);
    if (row.sig === sig) return;
    row.sig = sig;
    clear(row.facts);
    for (const [value, label] of f) row.facts.appendChild(h('span', null, [h('b', { text: value }), label]));
  }

  const onResize = throttle(() => {
    dims = { key: '', compact: dims.compact };
    layout(tiles.size);
  }, 100);
  window.addEventListener('resize', onResize);
  return {
    update(c) {
      if (c.full) {
        sync(true);
        paintKpis();
        paintRunning();
        return;
      }
      if (c.nodes.length) {
        // the order and the set of tiles change only when a node joins or changes state
        const reorder = c.nodes.some((id) => {
          const t = tiles.get(id);
          const n = S.nodes.get(id);
          return !t || !n || t.el.getAttribute('data-state') !== n.state;
        });
        if (reorder) sync(false);
        else {
          for (const id of c.nodes) {
            const t = tiles.get(id);
            const n = S.nodes.get(id);
            if (t && n) paintTile(t, n);
          }
        }
        paintKpis();
      }
      if (c.jobs.length) paintRunning();
    },
    destroy() {
      window.removeEventListener('resize', onResize);
    },
  };
}

/** The colour scale (40-80 °C, the same function as the tiles) and the keys for grey, stale and lost. */
function temperatureLegend(hideOff: HTMLInputElement): HTMLElement {
  const stops: string[] = [];
  for (let t = 40; t <= 80; t += 2) stops.push(temperatureColour(t) + ' ' + (t - 40) * 2.5 + '%');
  const bar = h('div', { class: 'legend-bar' });
  bar.style.background = 'linear-gradient(90deg, ' + stops.join(', ') + ')';
  const ticks = h('div', { class: 'legend-ticks' });
  for (const t of TEMPERATURE_STOPS) {
    const s = h('span', { text: t + '°' });
    s.style.left = (t - 40) * 2.5 + '%';
    ticks.appendChild(s);
  }
  return h('div', { class: 'legend' }, [
    h('div', { class: 'legend-row' }, [h('div', { class: 'legend-title', text: 'CPU temperature °C' }), h('div', { class: 'legend-scale' }, [bar, ticks])]),
    h('div', { class: 'legend-keys' }, [
      h('span', null, [h('i', { class: 'key-grey' }), 'no sensor']),
      h('span', null, [h('i', { class: 'key-stale' }), 'stale (no report)']),
      h('span', null, [h('i', { class: 'key-lost' }), 'lost']),
      h('label', null, [hideOff, 'online only']),
    ]),
  ]);
}

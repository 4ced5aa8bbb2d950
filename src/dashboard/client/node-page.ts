/** A worker's page (`/node/ID`): its numbers, facts, history charts and the chunks it holds. */
import { temperatureColour } from '../temperature-colour.js';
import { api } from './api.js';
import { lineChart, timeAxis } from './chart.js';
import type { ChartOptions } from './chart.js';
import { add, badge, clear, h, record, setText, throttle } from './dom.js';
import { fmtAgo, fmtAxis, fmtBytes, fmtDuration, fmtInt, fmtRate, fmtSI, fmtTemp } from './format.js';
import type { NodeDetail, NodeView, View } from './model.js';
import { navigate } from './router.js';
import { S, serverNow } from './state.js';

type KpiKey = 'temp' | 'cpu' | 'load' | 'mem' | 'slots' | 'rate' | 'done' | 'seen';
type ChartKey = 'temp' | 'cpu' | 'rate';

/** The API's node detail in the stream's flat shape, for a node the stream does not (or no longer) carry. */
function flat(d: NodeDetail): NodeView {
  const t = d.telemetry ?? {};
  return {
    id: d.id, name: d.name, instance: d.instance, hostname: d.hostname, address: d.remote, addresses: d.addresses, state: d.state, slots: d.slots,
    busy: (d.leases ?? []).length, temp: t.temp ?? null, cpu: t.cpu ?? null, rate: t.rate ?? null, load: t.load ?? null, memTotal: t.memTotal ?? null,
    memFree: t.memFree ?? null, model: t.model ?? null, os: t.os ?? null, arch: t.arch ?? null, throttled: t.throttled ?? null, chunksDone: t.chunksDone ?? null,
    uptime: t.uptime ?? null, version: d.version, joinedAt: d.joinedAt, lastSeen: d.lastSeen,
  };
}

export function viewNode(root: HTMLElement, id: string): View {
  let detail: NodeDetail | null = null;
  const title = h('h1');
  const state = h('span');
  const keys: KpiKey[] = ['temp', 'cpu', 'load', 'mem', 'slots', 'rate', 'done', 'seen'];
  const kp = record(keys, () => ({ v: h('div', { class: 'kpi-value' }), sub: h('div', { class: 'kpi-sub' }) }));
  const kpi = (k: KpiKey, label: string): HTMLElement => h('div', { class: 'kpi' }, [h('div', { class: 'kpi-label', text: label }), kp[k].v, kp[k].sub]);
  const facts = h('dl', { class: 'facts' });
  const charts: Record<ChartKey, HTMLElement> = { temp: h('div'), cpu: h('div'), rate: h('div') };
  const nowText: Record<ChartKey, HTMLElement> = { temp: h('span', { class: 'now' }), cpu: h('span', { class: 'now' }), rate: h('span', { class: 'now' }) };
  const chartBox = (k: ChartKey, label: string): HTMLElement => h('div', { class: 'panel chart-box' }, [h('div', { class: 'chart-head' }, [h('h2', { text: label }), nowText[k]]), charts[k]]);
  const leases = h('tbody');
  const missing = h('div', { class: 'empty', hidden: true, text: 'No node ' + id + ' on this head.' });
  add(root, [
    h('a', { class: 'back', href: '/', text: '← all nodes' }),
    h('div', { class: 'page-title' }, [title, state]),
    missing,
    h('div', { class: 'kpis' }, [kpi('temp', 'Temperature'), kpi('cpu', 'CPU'), kpi('load', 'Load average'), kpi('mem', 'Memory used'), kpi('slots', 'Slots busy'), kpi('rate', 'Numbers / second'), kpi('done', 'Chunks done'), kpi('seen', 'Last report')]),
    facts,
    h('div', { class: 'charts' }, [chartBox('temp', 'Temperature'), chartBox('cpu', 'CPU use'), chartBox('rate', 'Numbers per second')]),
    h('div', { class: 'panel' }, [
      h('h2', { text: 'Chunks on this node now' }),
      h('table', { class: 'list' }, [h('thead', null, h('tr', null, ['Job', 'Chunk', 'Attempt', 'Running for', ''].map((t) => h('th', { text: t })))), leases]),
    ]),
  ]);
  const fact = (label: string, value: unknown): HTMLElement =>
    h('div', null, [h('dt', { text: label }), h('dd', { text: value === null || value === undefined || value === '' ? '–' : String(value) })]);

  function paint(): void {
    const n = S.nodes.get(id) ?? (detail ? flat(detail) : null);
    if (!n) {
      missing.hidden = !S.ready;
      return;
    }
    missing.hidden = true;
    document.title = n.name + ' · bramble';
    setText(title, n.name);
    clear(state);
    state.appendChild(badge(n.state));
    clear(kp.temp.v);
    const chip = h('span', { class: 'node-temp-chip' });
    chip.style.background = temperatureColour(n.temp);
    add(kp.temp.v, [chip, n.temp === null ? 'no sensor' : n.temp.toFixed(1) + ' °C']);
    setText(kp.temp.sub, n.throttled ? 'throttled: flags 0x' + n.throttled.toString(16) : n.temp === null ? 'this machine reports none' : 'not throttled');
    kp.temp.sub.className = 'kpi-sub' + (n.throttled ? ' throttled' : '');
    setText(kp.cpu.v, n.cpu === null ? '–' : Math.round(n.cpu) + '%');
    setText(kp.cpu.sub, (n.arch ?? '') + (n.model ? ' · ' + n.model : ''));
    setText(kp.load.v, n.load ? n.load.map((x) => x.toFixed(1)).join(' · ') : '–');
    setText(kp.load.sub, '1, 5, 15 minutes');
    setText(kp.mem.v, n.memTotal ? Math.round((100 * (n.memTotal - (n.memFree ?? 0))) / n.memTotal) + '%' : '–');
    setText(kp.mem.sub, n.memTotal ? fmtBytes(n.memTotal - (n.memFree ?? 0)) + ' of ' + fmtBytes(n.memTotal) : '');
    setText(kp.slots.v, n.busy + ' / ' + n.slots);
    setText(kp.slots.sub, 'chunks leased / worker slots');
    setText(kp.rate.v, fmtSI(n.rate));
    setText(kp.rate.sub, 'numbers per second');
    setText(kp.done.v, fmtInt(n.chunksDone));
    setText(kp.done.sub, n.uptime ? 'up ' + fmtDuration(n.uptime) : '');
    setText(kp.seen.v, fmtAgo(n.lastSeen));
    setText(kp.seen.sub, 'joined ' + fmtAgo(n.joinedAt));
    clear(facts);
    add(facts, [fact('Hostname', n.hostname), fact('Addresses', (n.addresses ?? []).join(', ')), fact('Instance', n.instance), fact('System', n.os), fact('bramble version', n.version), fact('Node id', n.id)]);
    nowText.temp.textContent = fmtTemp(n.temp);
    nowText.cpu.textContent = n.cpu === null ? '–' : Math.round(n.cpu) + '%';
    nowText.rate.textContent = fmtRate(n.rate);
  }

  function paintCharts(): void {
    if (!detail) return;
    const hist = detail.history ?? [];
    const x1 = serverNow();
    const x0 = hist[0] ? Math.min(hist[0].t, x1 - 60000) : x1 - 60000;
    const width = charts.temp.clientWidth || 520;
    const gap = Math.max(3 * S.staleMs, 20000);
    const draw = (k: ChartKey, o: ChartOptions): void => {
      clear(charts[k]);
      charts[k].appendChild(lineChart(o));
    };
    const common = { width, height: 200, x0, x1, xfmt: timeAxis, gap };
    draw('temp', { ...common, points: hist.map((p) => ({ x: p.t, v: p.temp })), min: 30, max: 90, fmt: (v) => v.toFixed(0) + '°', temp: true, none: 'no temperature sensor' });
    draw('cpu', { ...common, points: hist.map((p) => ({ x: p.t, v: p.cpu })), min: 0, max: 100, fmt: (v) => v.toFixed(0) + '%', stroke: '#60a5fa' });
    draw('rate', { ...common, points: hist.map((p) => ({ x: p.t, v: p.rate })), min: 0, auto: true, fmt: fmtAxis, stroke: '#22c55e' });
  }

  function paintLeases(): void {
    clear(leases);
    const list = detail?.leases ?? [];
    if (!list.length) {
      leases.appendChild(h('tr', null, h('td', { colspan: 5, class: 'muted', text: 'No chunks right now.' })));
      return;
    }
    for (const l of list.slice().sort((a, b) => a.since - b.since)) {
      const tr = h('tr', { class: 'link' }, [
        h('td', null, h('a', { href: '/job/' + encodeURIComponent(l.job), text: l.job })),
        h('td', { class: 'num', text: fmtInt(l.index) }),
        h('td', { class: 'num', text: l.attempt }),
        h('td', { class: 'num', text: fmtDuration((serverNow() - l.since) / 1000) }),
        h('td', null, l.backup ? h('span', { class: 'badge', text: 'backup copy' }) : null),
      ]);
      tr.addEventListener('click', () => navigate('/job/' + encodeURIComponent(l.job)));
      leases.appendChild(tr);
    }
  }

  function load(): void {
    void api<NodeDetail>('GET', '/api/nodes/' + encodeURIComponent(id)).then((r) => {
      if (r.status === 404) {
        detail = null;
        missing.hidden = false;
        return;
      }
      if (!r.ok) return;
      detail = r.json;
      paint();
      paintCharts();
      paintLeases();
    });
  }

  const reload = throttle(load, 2000);
  const tick = setInterval(() => {
    const n = S.nodes.get(id);
    if (n) setText(kp.seen.v, fmtAgo(n.lastSeen));
  }, 1000);
  const onResize = throttle(paintCharts, 200);
  window.addEventListener('resize', onResize);
  load();
  return {
    update(c) {
      if (c.full || c.nodes.includes(id)) {
        paint();
        reload();
      }
    },
    destroy() {
      clearInterval(tick);
      window.removeEventListener('resize', onResize);
      document.title = 'bramble';
    },
  };
}

/**
 * A job's page (`/job/ID`): progress, rates, the chunk map, the live result (primes found, the Collatz
 * record, the Game of Life population chart), the download and Cancel.
 */
import { api, errorOf } from './api.js';
import { lineChart } from './chart.js';
import type { Point } from './chart.js';
import { add, badge, clear, h, record, setText, throttle } from './dom.js';
import type { Kid } from './dom.js';
import { big, fmtAgo, fmtAxis, fmtDuration, fmtInt, fmtPct, fmtSI, taskTitle } from './format.js';
import type { ChunkMap, JobStatus, JobView, View } from './model.js';
import { S, serverNow } from './state.js';
import { lifeView } from './life-view.js';

type Rgb = [number, number, number];
const MAP_COLOURS: Record<'pending' | 'leased' | 'done' | 'failed', Rgb> = { pending: [42, 53, 80], leased: [245, 165, 36], done: [34, 197, 94], failed: [239, 68, 68] };

type KpiKey = 'done' | 'rate' | 'numbers' | 'eta' | 'elapsed';

/** What the live view and the final result carry, loosely: each task fills its own part. */
interface ResultLike {
  count?: unknown;
  first?: unknown;
  last?: unknown;
  largest?: unknown;
  largestGap?: { gap: unknown; after: unknown } | null;
  seconds?: number | null;
  mode?: string;
  verified?: unknown;
  longest?: { n: unknown; steps: unknown } | null;
  highest?: { n: unknown; value: unknown } | null;
  population?: unknown;
  history?: number[];
  historyEvery?: number;
}

export function viewJob(root: HTMLElement, id: string): View {
  let job: JobView | null = null;
  let result: ResultLike | null = null;
  let resultFor = '';
  const pop: Point[] = [];
  const title = h('h1');
  const state = h('span');
  const idText = h('span', { class: 'job-id', text: id });
  const bar = h('span');
  const pct = h('div', { class: 'pct' });
  const prog = h('div', { class: 'progress big' }, [bar, pct]);
  const keys: KpiKey[] = ['done', 'rate', 'numbers', 'eta', 'elapsed'];
  const kp = record(keys, () => ({ label: h('div', { class: 'kpi-label' }), v: h('div', { class: 'kpi-value' }), sub: h('div', { class: 'kpi-sub' }) }));
  const kpi = (k: KpiKey, label: string): HTMLElement => {
    kp[k].label.textContent = label;
    return h('div', { class: 'kpi' }, [kp[k].label, kp[k].v, kp[k].sub]);
  };
  const summary = h('div', { class: 'summary-big' });
  const summaryTitle = h('h2', { class: 'summary-title', text: 'Live result' });
  const summaryPanel = h('div', { class: 'panel' }, [summaryTitle, summary]);
  const canvas = h('canvas', { class: 'chunkmap', id: 'chunkmap' });
  const mapLegend = h('div', { class: 'map-legend' });
  const mapNote = h('span', { class: 'muted' });
  const actions = h('div', { class: 'actions' });
  const details = h('dl', { class: 'result-list' });
  let detailsKey = '';
  const errorBox = h('div', { class: 'job-error', hidden: true });
  const missing = h('div', { class: 'empty', hidden: true, text: 'No job ' + id + ' on this head.' });
  add(root, [
    h('a', { class: 'back', href: '/jobs', text: '← all jobs' }),
    h('div', { class: 'page-title' }, [title, state, idText]),
    missing,
    prog,
    h('div', { class: 'kpis' }, [kpi('done', 'Chunks done'), kpi('rate', 'Chunks / second'), kpi('numbers', 'Numbers / second'), kpi('eta', 'Time left'), kpi('elapsed', 'Running for')]),
    errorBox,
    h('div', { class: 'job-layout' }, [
      h('div', { class: 'panel' }, [h('h2', null, ['Chunk map ', mapNote]), canvas, mapLegend]),
      h('div', null, [summaryPanel, actions, h('div', { class: 'panel details' }, [h('h2', { text: 'Job' }), details])]),
    ]),
  ]);
  prog.style.marginBottom = '14px';
  const lifePanel = lifeView(id);
  prog.after(lifePanel.el);
  let mapData: ChunkMap | null = null;
  let mapFetchedFinal = false;

  function figure(label: string, value: string, cls?: string, sub?: string | null): HTMLElement {
    return h('div', { class: 'big-figure' }, [h('div', { class: 'label', text: label }), h('div', { class: 'value' + (cls ? ' ' + cls : ''), text: value }), sub ? h('div', { class: 'sub', text: sub }) : null]);
  }

  function paintSummary(j: JobView): void {
    const live = j.live as ResultLike;
    const r = result;
    const parts: Kid[] = [];
    if (j.task === 'primes') {
      parts.push(figure('Primes found', fmtInt(r ? r.count : live.count)));
      const largest = r ? r.last : live.largest;
      parts.push(figure(r ? 'Largest prime' : 'Largest prime so far', largest ? big(largest) : '–', 'prime'));
      parts.push(figure('Primes per second', fmtSI(j.primesPerSecond), '', j.state === 'running' ? 'over the last 10 seconds' : j.state === 'done' ? 'over the whole run' : null));
      if (r) {
        parts.push(
          h('dl', { class: 'result-list' }, [
            h('dt', { text: 'First prime' }),
            h('dd', { text: r.first ? big(r.first) : '–' }),
            h('dt', { text: 'Largest gap' }),
            h('dd', { text: r.largestGap ? fmtInt(r.largestGap.gap) + ' after ' + big(r.largestGap.after) : '–' }),
            h('dt', { text: 'Time' }),
            h('dd', { text: r.seconds === null || r.seconds === undefined ? '–' : r.seconds.toFixed(2) + ' s' }),
          ]),
        );
      }
    } else if (j.task === 'collatz') {
      const c = r ?? live;
      if (c.mode === 'verify') parts.push(figure('Numbers verified', fmtInt(c.verified || c.count)));
      else parts.push(figure(r ? 'Longest path' : 'Record so far', c.longest ? fmtInt(c.longest.n) : '–', '', c.longest ? 'takes ' + fmtInt(c.longest.steps) + ' steps to reach 1' : null));
      parts.push(figure('Highest value reached', c.highest ? big(c.highest.value) : '–', 'prime', c.highest ? 'starting from ' + fmtInt(c.highest.n) : null));
      parts.push(figure('Numbers checked', fmtInt(c.count)));
    } else if (j.task === 'life') {
      const popNow = r ? r.population : live.population;
      const rule = typeof j.params['rule'] === 'string' ? j.params['rule'] : '';
      parts.push(figure('Cells alive', popNow === null || popNow === undefined ? '–' : fmtInt(popNow), '', rule + (j.params['bounded'] ? ', bounded' : ', torus')));
      const box = h('div', { class: 'pop-chart' });
      parts.push(box);
      const every = r?.historyEvery ?? 1;
      const points: Point[] = r?.history ? r.history.map((v, i) => ({ x: i * every, v })) : pop;
      const final = r !== null;
      setTimeout(() => {
        const w = box.clientWidth || 400;
        const x1 = points.length ? (points[points.length - 1] as Point).x : 1;
        box.appendChild(
          lineChart({ width: w, height: 200, points, x0: 0, x1, min: 0, auto: true, fmt: fmtAxis, xfmt: (x) => (final ? 'generation ' + fmtInt(x) : ''), stroke: '#22c55e', none: 'the population appears when the grid is done' }),
        );
      }, 0);
    } else {
      parts.push(figure('Chunks done', fmtInt(j.chunks.done)));
    }
    clear(summary);
    add(summary, parts);
    setText(summaryTitle, r ? 'Result' : 'Live result');
  }

  function paintActions(j: JobView): void {
    clear(actions);
    if (j.hasOutput && (j.state === 'done' || j.state === 'failed')) {
      actions.appendChild(
        h('a', { class: 'button', id: 'download', href: '/api/jobs/' + encodeURIComponent(j.id) + '/output', download: '', text: j.task === 'life' ? '⬇ Download the final grid (.rle)' : '⬇ Download every prime (.txt)' }),
      );
    }
    if (j.state === 'running' || j.state === 'queued') {
      const btn = h('button', { class: 'danger', id: 'cancel', text: 'Cancel job' });
      let armed: ReturnType<typeof setTimeout> | null = null;
      btn.addEventListener('click', () => {
        if (!armed) {
          btn.classList.add('armed');
          btn.textContent = 'Click again to cancel';
          armed = setTimeout(() => {
            armed = null;
            btn.classList.remove('armed');
            btn.textContent = 'Cancel job';
          }, 4000);
          return;
        }
        clearTimeout(armed);
        btn.disabled = true;
        btn.textContent = 'Cancelling…';
        void api<JobStatus>('POST', '/api/jobs/' + encodeURIComponent(j.id) + '/cancel').then((r) => {
          if (r.ok) {
            const before = S.jobs.get(r.json.id);
            S.jobs.set(r.json.id, { numbersPerSecond: null, primesPerSecond: null, hasOutput: false, ...before, ...r.json });
            paint();
          } else {
            btn.disabled = false;
            btn.textContent = 'Cancel job';
            errorBox.hidden = false;
            errorBox.textContent = errorOf(r)?.message ?? 'cancel failed';
          }
        });
      });
      actions.appendChild(btn);
    }
    if (j.hasOutput && (j.state === 'running' || j.state === 'queued')) actions.appendChild(h('span', { class: 'muted', text: 'The full output can be downloaded when the job is done.' }));
  }

  function paintDetails(j: JobView): void {
    clear(details);
    const p = j.params;
    const rows: [string, unknown][] = [
      ['Id', j.id],
      ['Task', j.task],
    ];
    if (j.task === 'life') {
      rows.push(['Grid', String(p['width']) + ' × ' + String(p['height']) + (p['bounded'] ? ', bounded' : ', torus')], ['Rule', p['rule']], ['Start', p['pattern'] ? 'pattern' : 'random, density ' + String(p['density']) + ', seed ' + String(p['seed'])]);
    } else if (j.task !== 'noop') {
      rows.push(['Range', fmtInt(j.start) + ' … ' + fmtInt(j.end)], ['Chunk size', fmtInt(j.chunk)]);
      if (j.task === 'collatz') rows.push(['Mode', p['mode']]);
      if (j.task === 'primes') rows.push(['Every prime kept', p['list'] ? 'yes' : 'no (count only)']);
    }
    rows.push(['Chunks', fmtInt(j.chunks.total)], ['Priority', j.priority], ['Submitted', new Date(j.createdAt).toLocaleString()]);
    if (j.startedAt) rows.push(['Started', new Date(j.startedAt).toLocaleString()]);
    if (j.finishedAt) rows.push(['Finished', new Date(j.finishedAt).toLocaleString()]);
    for (const [k, v] of rows) add(details, [h('dt', { text: k }), h('dd', { text: String(v) })]);
  }

  let actionsKey = '';
  function paint(): void {
    const j = S.jobs.get(id) ?? job;
    if (!j) {
      missing.hidden = !S.ready;
      return;
    }
    job = j;
    missing.hidden = true;
    document.title = j.task + ' ' + j.id + ' · bramble';
    setText(title, taskTitle(j));
    if (state.textContent !== j.state) {
      clear(state);
      state.appendChild(badge(j.state));
    }
    state.setAttribute('data-state', j.state);
    prog.className = 'progress big ' + j.state;
    bar.style.width = (100 * j.progress).toFixed(2) + '%';
    setText(pct, fmtPct(j.progress) + (j.state === 'queued' ? ' · waiting for workers' : ''));
    pct.setAttribute('data-progress', String(j.progress));
    setText(kp.done.v, fmtInt(j.chunks.done));
    setText(kp.done.sub, 'of ' + fmtInt(j.chunks.total) + ' · ' + j.chunks.leased + ' running' + (j.chunks.failed ? ' · ' + j.chunks.failed + ' failed' : ''));
    const avg = j.state === 'done' || j.state === 'failed';
    const ranged = j.task === 'primes' || j.task === 'collatz';
    setText(kp.rate.v, (j.state === 'running' || avg) && j.rate !== null ? fmtSI(j.rate) : '–');
    setText(kp.rate.sub, (avg ? 'average' : '') + (ranged ? (avg ? ' · ' : '') + 'chunk size ' + fmtInt(j.chunk) : ''));
    setText(kp.numbers.v, j.state === 'running' || avg ? fmtSI(j.numbersPerSecond) : '–');
    setText(kp.numbers.sub, ranged ? 'range ' + fmtInt(j.start) + ' … ' + fmtInt(j.end) : '');
    setText(kp.eta.v, j.state === 'running' ? fmtDuration(j.etaSeconds) : j.state === 'queued' ? '–' : j.state);
    setText(kp.eta.sub, j.state === 'running' && j.etaSeconds !== null ? 'at the current rate' : '');
    const end = j.finishedAt ?? serverNow();
    setText(kp.elapsed.v, j.startedAt ? fmtDuration((end - j.startedAt) / 1000) : '–');
    setText(kp.elapsed.sub, j.finishedAt ? 'finished ' + fmtAgo(j.finishedAt) : 'submitted ' + fmtAgo(j.createdAt));
    setText(kp.elapsed.label, j.finishedAt ? 'Took' : 'Running for');
    if (j.error || j.failedChunks?.length || j.waiting) {
      errorBox.hidden = false;
      errorBox.textContent = (j.waiting ? j.waiting + ' ' : '') + (j.error ?? '') + (j.failedChunks?.length ? ' Failed chunks: ' + j.failedChunks.map((f) => f.index + ' (' + f.error + ')').join('; ') : '');
    }
    const population = (j.live as ResultLike).population;
    if (j.task === 'life' && population !== null && population !== undefined) {
      const lastPop = pop[pop.length - 1];
      if (!lastPop || String(lastPop.v) !== String(population)) pop.push({ x: serverNow(), v: Number(population) });
    }
    const dk = j.id + j.state + j.startedAt + j.finishedAt;
    if (dk !== detailsKey) {
      detailsKey = dk;
      paintDetails(j);
    }
    const key = j.state + '|' + j.hasOutput;
    if (key !== actionsKey) {
      actionsKey = key;
      paintActions(j);
    }
    if ((j.state === 'done' || j.state === 'failed') && resultFor !== j.id + j.state) {
      resultFor = j.id + j.state;
      void api<ResultLike>('GET', '/api/jobs/' + encodeURIComponent(j.id) + '/result').then((r) => {
        if (r.ok && job) {
          result = r.json;
          paintSummary(job);
        }
      });
    }
    paintSummary(j);
    fetchMap();
  }

  const fetchMap = throttle(() => {
    if (!job || mapFetchedFinal) return;
    const terminal = job.state === 'done' || job.state === 'failed' || job.state === 'cancelled';
    const cells = Math.min(4096, Math.max(1, job.chunks.total));
    void api<ChunkMap>('GET', '/api/jobs/' + encodeURIComponent(id) + '/chunks?cells=' + cells).then((r) => {
      if (!r.ok) return;
      mapData = r.json;
      if (terminal) mapFetchedFinal = true;
      drawMap();
    });
  }, 500);

  /** One cell per chunk (or group of chunks), sized to fit the panel: pending, running, done, failed. */
  function drawMap(): void {
    if (!mapData) return;
    const cells = mapData.cells;
    const n = cells.length;
    const per = n ? Math.ceil(mapData.total / n) : 1;
    const W = canvas.clientWidth || 600;
    const maxH = 340;
    let size = Math.max(3, Math.min(56, Math.floor(Math.sqrt((W * maxH) / Math.max(1, n)))));
    let cols = Math.max(1, Math.floor(W / size));
    while (size > 3 && Math.ceil(n / cols) * size > maxH) {
      size--;
      cols = Math.max(1, Math.floor(W / size));
    }
    const rows = Math.ceil(n / cols);
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(W * dpr);
    canvas.height = Math.round(rows * size * dpr);
    canvas.style.height = rows * size + 'px';
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, rows * size);
    const gap = size >= 6 ? 1.5 : size >= 4 ? 1 : 0;
    const tot = [0, 0, 0, 0];
    cells.forEach(([pending, leased, done, failed], i) => {
      tot[0] = (tot[0] ?? 0) + pending;
      tot[1] = (tot[1] ?? 0) + leased;
      tot[2] = (tot[2] ?? 0) + done;
      tot[3] = (tot[3] ?? 0) + failed;
      const all = pending + leased + done + failed;
      let rgb: Rgb;
      if (failed > 0) rgb = MAP_COLOURS.failed;
      else if (leased > 0) rgb = MAP_COLOURS.leased;
      else if (all > 0 && done === all) rgb = MAP_COLOURS.done;
      else if (done > 0) {
        const f = done / all;
        const a = MAP_COLOURS.pending;
        const b = MAP_COLOURS.done;
        rgb = [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
      } else rgb = MAP_COLOURS.pending;
      ctx.fillStyle = 'rgb(' + rgb.join(',') + ')';
      ctx.fillRect((i % cols) * size, Math.floor(i / cols) * size, size - gap, size - gap);
    });
    canvas.setAttribute('data-cells', String(n));
    canvas.setAttribute('data-done', String(tot[2]));
    const chunksWord = fmtInt(mapData.total) + (mapData.total === 1 ? ' chunk' : ' chunks');
    setText(mapNote, per > 1 ? '(' + chunksWord + ', ' + fmtInt(per) + ' per cell)' : '(' + chunksWord + ')');
    clear(mapLegend);
    const keys: [keyof typeof MAP_COLOURS, string, number][] = [
      ['pending', 'pending', 0],
      ['leased', 'running', 1],
      ['done', 'done', 2],
      ['failed', 'failed', 3],
    ];
    for (const [colour, label, k] of keys) {
      const swatch = h('i');
      swatch.style.background = 'rgb(' + MAP_COLOURS[colour].join(',') + ')';
      mapLegend.appendChild(h('span', null, [swatch, label + ' ', h('b', { text: fmtInt(tot[k]) })]));
    }
  }

  const onResize = throttle(() => {
    drawMap();
    if (job) paintSummary(job);
  }, 200);
  window.addEventListener('resize', onResize);
  const tick = setInterval(() => {
    if (job?.state === 'running' && job.startedAt) setText(kp.elapsed.v, fmtDuration((serverNow() - job.startedAt) / 1000));
  }, 1000);
  if (!S.jobs.get(id)) {
    void api<JobStatus>('GET', '/api/jobs/' + encodeURIComponent(id)).then((r) => {
      if (r.ok && !S.jobs.get(id)) {
        job = { numbersPerSecond: null, primesPerSecond: null, hasOutput: r.json.task === 'life' || r.json.params['list'] === true, ...r.json };
        paint();
      } else if (r.status === 404) missing.hidden = false;
    });
  }
  return {
    update(c) {
      if (c.full || c.jobs.includes(id)) paint();
    },
    destroy() {
      lifePanel.destroy();
      clearInterval(tick);
      window.removeEventListener('resize', onResize);
      document.title = 'bramble';
    },
  };
}

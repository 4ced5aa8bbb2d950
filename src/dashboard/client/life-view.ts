/**
 * The live view of a distributed Life job: the grid downsampled onto a canvas (one density map per
 * strip, tinted by the node holding it; a strip rebuilt after its node was lost flashes), the
 * generation, generations and cells per second, and the population chart. Polls
 * `/api/jobs/ID/life` five times a second while the job runs; hidden for other jobs.
 */
import { api } from './api.js';
import { lineChart } from './chart.js';
import { h, setText } from './dom.js';
import { fmtAxis, fmtInt, fmtSI } from './format.js';

interface LifeFrame {
  width: number;
  height: number;
  generation: number;
  generations: number;
  gensPerSecond: number | null;
  cols: number;
  population: [number, number][];
  parts: { node: string; nodeId: string; y0: number; rows: number; rebuilt: boolean; preview: string | null }[];
}

const TINTS = ['#22c55e', '#38bdf8', '#f59e0b', '#e879f9', '#f87171', '#a3e635', '#2dd4bf', '#fb923c'];

function tintOf(node: string, nodes: string[]): [number, number, number] {
  const hex = TINTS[nodes.indexOf(node) % TINTS.length] ?? '#22c55e';
  return [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)];
}

export function lifeView(id: string): { el: HTMLElement; destroy(): void } {
  const canvas = h('canvas', { class: 'life-canvas', id: 'life-canvas' }) as HTMLCanvasElement;
  const gen = h('span', { class: 'life-gen', id: 'life-gen', text: '–' });
  const rate = h('span', { class: 'life-rate', text: '' });
  const legend = h('div', { class: 'life-legend' });
  const chart = h('div', { class: 'pop-chart' });
  const el = h('div', { class: 'panel life-panel', hidden: true }, [h('h2', null, ['Grid, generation ', gen, ' ', rate]), canvas, legend, chart]);
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  let frames = 0;

  function draw(f: LifeFrame): void {
    const W = Math.min(512, f.cols * 2);
    const H = Math.max(64, Math.min(512, Math.round((W * f.height) / f.width)));
    canvas.width = W;
    canvas.height = H;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(W, H);
    const nodes = [...new Set(f.parts.map((p) => p.node))];
    const flash = Math.floor(Date.now() / 250) % 2 === 0;
    for (const p of f.parts) {
      const [r, g, b] = tintOf(p.node, nodes);
      const yA = Math.floor((p.y0 * H) / f.height);
      const yB = Math.floor(((p.y0 + p.rows) * H) / f.height);
      const bytes = p.preview ? Uint8Array.from(atob(p.preview), (c) => c.charCodeAt(0)) : null;
      const prow = bytes ? Math.max(1, Math.floor(bytes.length / f.cols)) : 1;
      for (let y = yA; y < yB; y++) {
        const py = Math.min(prow - 1, Math.floor(((y - yA) * prow) / Math.max(1, yB - yA)));
        for (let x = 0; x < W; x++) {
          const px = Math.min(f.cols - 1, Math.floor((x * f.cols) / W));
          const d = bytes ? (bytes[py * f.cols + px] ?? 0) / 255 : 0;
          const v = Math.min(1, Math.sqrt(d) * 2.2); // a soup settles near 3% alive: a square root keeps it visible
          const o = 4 * (y * W + x);
          const base = p.rebuilt && flash ? 90 : 18;
          img.data[o] = base + v * r;
          img.data[o + 1] = base / 2 + v * g;
          img.data[o + 2] = base / 2 + v * b;
          img.data[o + 3] = 255;
        }
      }
    }
    ctx.putImageData(img, 0, 0);
    setText(gen, fmtInt(f.generation) + ' / ' + fmtInt(f.generations));
    setText(rate, f.gensPerSecond === null ? '' : '· ' + fmtSI(f.gensPerSecond) + ' gens/s · ' + fmtSI(f.gensPerSecond * f.width * f.height) + ' cells/s');
    legend.replaceChildren(
      ...f.parts.map((p) => {
        const [r, g, b] = tintOf(p.node, nodes);
        return h('span', { class: 'life-part' + (p.rebuilt ? ' rebuilt' : ''), style: `border-left: 10px solid rgb(${r},${g},${b})`, text: ` ${p.node}: rows ${fmtInt(p.y0)}–${fmtInt(p.y0 + p.rows - 1)}${p.rebuilt ? ' (rebuilt)' : ''}` });
      }),
    );
    if (frames++ % 5 === 0) {
      chart.replaceChildren(
        lineChart({ width: chart.clientWidth || 400, height: 160, points: f.population.map(([x, v]) => ({ x, v })), x0: 0, x1: Math.max(1, f.generation), min: 0, auto: true, fmt: fmtAxis, xfmt: (x) => 'generation ' + fmtInt(x), stroke: '#22c55e', none: 'the population appears as the grid runs' }),
      );
    }
  }

  async function poll(): Promise<void> {
    if (stopped) return;
    const r = await api<LifeFrame>('GET', '/api/jobs/' + encodeURIComponent(id) + '/life').catch(() => null);
    if (stopped) return;
    if (!r || !r.ok) {
      el.hidden = true;
      return; // not a distributed Life job, or it has ended
    }
    el.hidden = false;
    draw(r.json);
    timer = setTimeout(() => void poll(), 200);
  }
  void poll();
  return {
    el,
    destroy() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/** Line charts as SVG: node history (temperature, CPU, rate) and the Game of Life population. */
import { TEMPERATURE_STOPS, temperatureColour } from '../temperature-colour.js';
import { sv } from './dom.js';
import { fmtDuration } from './format.js';
import { serverNow } from './state.js';

export interface Point {
  x: number;
  v: number | null | undefined;
}

export interface ChartOptions {
  width: number;
  height: number;
  points: Point[];
  x0: number;
  x1: number;
  min: number;
  max?: number;
  /** The top of the scale from the data (a round number above the largest value). */
  auto?: boolean;
  fmt: (v: number) => string;
  xfmt: (x: number) => string;
  stroke?: string;
  /** Stroke with the temperature scale. */
  temp?: boolean;
  /** Break the line where two points are further apart than this. */
  gap?: number;
  /** Said when there is nothing to draw. */
  none?: string;
}

let chartSeq = 0;

/** The smallest of 1, 2, 4, 5, 8 times a power of ten that is at least v: four even grid steps. */
function niceCeil(v: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 4, 5, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function has(p: Point): p is { x: number; v: number } {
  return p.v !== null && p.v !== undefined && isFinite(p.v);
}

export function lineChart(o: ChartOptions): SVGSVGElement {
  const W = Math.max(240, o.width);
  const H = o.height;
  const L = 54;
  const R = 14;
  const T = 12;
  const B = 24;
  const svg = sv('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img' });
  const pts = o.points.filter(has);
  const lo = o.min;
  let hi = o.max ?? lo + 1;
  if (o.auto) {
    let mx = 0;
    for (const p of pts) if (p.v > mx) mx = p.v;
    hi = niceCeil(mx > 0 ? mx * 1.08 : 1);
  }
  if (hi <= lo) hi = lo + 1;
  const x0 = o.x0;
  const x1 = o.x1 > o.x0 ? o.x1 : o.x0 + 1;
  const X = (x: number): number => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const Y = (v: number): number => T + (1 - (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * (H - T - B);
  const grid = sv('g', { class: 'grid' });
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    grid.appendChild(sv('line', { x1: L, x2: W - R, y1: Y(v), y2: Y(v) }));
    grid.appendChild(sv('text', { x: L - 8, y: Y(v) + 4, 'text-anchor': 'end', text: o.fmt(v) }));
  }
  grid.appendChild(sv('text', { x: L, y: H - 6, text: o.xfmt(x0) }));
  grid.appendChild(sv('text', { x: W - R, y: H - 6, 'text-anchor': 'end', text: o.xfmt(x1) }));
  svg.appendChild(grid);
  let stroke = o.stroke ?? '#a78bfa';
  if (o.temp) {
    const id = 'tg' + ++chartSeq;
    const gr = sv('linearGradient', { id, gradientUnits: 'userSpaceOnUse', x1: 0, x2: 0, y1: Y(40), y2: Y(80) });
    TEMPERATURE_STOPS.forEach((t, k) => gr.appendChild(sv('stop', { offset: k / 4, 'stop-color': temperatureColour(t) })));
    svg.appendChild(sv('defs', null, gr));
    stroke = 'url(#' + id + ')';
  }
  // break the line where reports are missing
  const gapLimit = o.gap ?? Infinity;
  const segs: { x: number; v: number }[][] = [];
  let cur: { x: number; v: number }[] = [];
  o.points.forEach((p, k) => {
    const prev = o.points[k - 1];
    if (!has(p) || (prev && p.x - prev.x > gapLimit)) {
      if (cur.length) segs.push(cur);
      cur = [];
      if (!has(p)) return;
    }
    cur.push(p);
  });
  if (cur.length) segs.push(cur);
  for (const seg of segs) {
    const first = seg[0] as { x: number; v: number };
    const end = seg[seg.length - 1] as { x: number; v: number };
    const d = seg.map((p, n) => (n ? 'L' : 'M') + X(p.x).toFixed(1) + ' ' + Y(p.v).toFixed(1)).join(' ');
    const area = d + ' L' + X(end.x).toFixed(1) + ' ' + Y(lo).toFixed(1) + ' L' + X(first.x).toFixed(1) + ' ' + Y(lo).toFixed(1) + ' Z';
    svg.appendChild(sv('path', { d: area, fill: stroke, 'fill-opacity': 0.14, stroke: 'none' }));
    svg.appendChild(sv('path', { d, fill: 'none', stroke, 'stroke-width': 2.5, 'stroke-linejoin': 'round', 'stroke-linecap': 'round' }));
  }
  const last = pts[pts.length - 1];
  if (last) svg.appendChild(sv('circle', { cx: X(last.x), cy: Y(last.v), r: 4.5, fill: o.temp ? temperatureColour(last.v) : stroke, stroke: '#090d16', 'stroke-width': 2 }));
  if (!pts.length) svg.appendChild(sv('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', text: o.none ?? 'no data' }));
  return svg;
}

/** A time axis label: how long ago, on the head's clock. */
export function timeAxis(t: number): string {
  const s = Math.round((serverNow() - t) / 1000);
  return s <= 1 ? 'now' : '−' + fmtDuration(s);
}

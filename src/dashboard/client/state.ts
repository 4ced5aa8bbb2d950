/** The page's copy of the cluster: filled by the stream's snapshot, kept current by its deltas. */
import type { Change, Delta, HeadEvent, JobView, NodeView, Snapshot } from './model.js';

const MAX_EVENTS = 1000;

export const S = {
  nodes: new Map<string, NodeView>(),
  jobs: new Map<string, JobView>(),
  events: [] as HeadEvent[],
  staleMs: 15000,
  lostMs: 60000,
  head: '',
  /** The head's clock minus ours, so ages are measured on the head's clock. */
  skew: 0,
  /** A snapshot has arrived. */
  ready: false,
};

const listeners: ((c: Change) => void)[] = [];

/** Called after every snapshot and delta with what changed. */
export function onChange(fn: (c: Change) => void): void {
  listeners.push(fn);
}

function changed(c: Change): void {
  for (const fn of listeners) fn(c);
}

export function serverNow(): number {
  return Date.now() + S.skew;
}

export function applySnapshot(snap: Snapshot): void {
  S.nodes = new Map(snap.nodes.map((n) => [n.id, n]));
  S.jobs = new Map(snap.jobs.map((j) => [j.id, j]));
  S.events = snap.events.slice(-MAX_EVENTS);
  S.staleMs = snap.staleMs;
  S.lostMs = snap.lostMs;
  S.head = snap.head;
  S.skew = snap.now - Date.now();
  S.ready = true;
  changed({ full: true, nodes: [], jobs: [], events: [] });
}

export function applyDelta(d: Delta): void {
  S.skew = d.now - Date.now();
  for (const n of d.nodes) S.nodes.set(n.id, n);
  for (const j of d.jobs) S.jobs.set(j.id, j);
  if (d.events.length) {
    S.events = S.events.concat(d.events);
    if (S.events.length > MAX_EVENTS) S.events = S.events.slice(-MAX_EVENTS);
  }
  changed({ full: false, nodes: d.nodes.map((n) => n.id), jobs: d.jobs.map((j) => j.id), events: d.events });
}

export interface Totals {
  online: number;
  known: number;
  slots: number;
  busy: number;
  rate: number;
  temps: number;
  tempSum: number;
  hottest: NodeView | null;
}

export function clusterTotals(): Totals {
  const t: Totals = { online: 0, known: 0, slots: 0, busy: 0, rate: 0, temps: 0, tempSum: 0, hottest: null };
  S.nodes.forEach((n) => {
    if (n.state === 'gone') return;
    t.known++;
    if (n.state !== 'ready' && n.state !== 'draining') return;
    t.online++;
    t.slots += n.slots;
    t.busy += n.busy;
    t.rate += n.rate ?? 0;
    if (n.temp !== null) {
      t.temps++;
      t.tempSum += n.temp;
      if (!t.hottest || n.temp > (t.hottest.temp ?? -Infinity)) t.hottest = n;
    }
  });
  return t;
}

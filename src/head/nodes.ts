import type { Clock } from '../core/index.js';
import type { TelemetryFields } from '../protocol/index.js';
import type { NodeRecord, NodeState } from '../ports/index.js';

export type { HistoryPoint, NodeRecord, NodeState } from '../ports/index.js';

export interface NodeRegistryOptions {
  clock: Clock;
  staleMs?: number;
  lostMs?: number;
  /** Points kept per node (one per report: 720 x 5 s = the last hour). */
  historyPoints?: number;
}

/** Every node ever seen, with bounded telemetry history. */
export class NodeRegistry {
  private readonly nodes = new Map<string, NodeRecord>();
  readonly staleMs: number;
  readonly lostMs: number;
  private readonly historyPoints: number;
  private readonly listeners: ((n: NodeRecord, change: 'join' | 'update' | 'state') => void)[] = [];

  constructor(private readonly o: NodeRegistryOptions) {
    this.staleMs = o.staleMs ?? 15_000;
    this.lostMs = o.lostMs ?? 60_000;
    this.historyPoints = o.historyPoints ?? 720;
  }

  on(l: (n: NodeRecord, change: 'join' | 'update' | 'state') => void): void {
    this.listeners.push(l);
  }
  private emit(n: NodeRecord, change: 'join' | 'update' | 'state'): void {
    for (const l of this.listeners) l(n, change);
  }

  get(id: string): NodeRecord | undefined {
    return this.nodes.get(id);
  }

  list(): NodeRecord[] {
    return [...this.nodes.values()];
  }

  join(n: Omit<NodeRecord, 'state' | 'connected' | 'joinedAt' | 'lastSeen' | 'history'>): NodeRecord {
    const now = this.o.clock.now();
    const old = this.nodes.get(n.id);
    const rec: NodeRecord = { ...n, state: 'ready', connected: true, joinedAt: old?.joinedAt ?? now, lastSeen: now, history: old?.history ?? [] };
    this.nodes.set(n.id, rec);
    this.record(rec);
    this.emit(rec, 'join');
    return rec;
  }

  report(id: string, t: TelemetryFields): void {
    const rec = this.nodes.get(id);
    if (!rec) return;
    rec.telemetry = { ...rec.telemetry, ...t };
    rec.lastSeen = this.o.clock.now();
    if (rec.state === 'stale' || rec.state === 'lost') rec.state = rec.connected ? 'ready' : rec.state;
    this.record(rec);
    this.emit(rec, 'update');
  }

  /** A report from a legacy (seed 004) temperature sender: a node keyed by its address. */
  legacyReport(ip: string, remote: string, temp: number): NodeRecord {
    const id = `legacy:${ip}`;
    let rec = this.nodes.get(id);
    if (!rec) {
      rec = this.join({ id, name: ip, instance: 0, hostname: ip, addresses: [ip], remote, slots: 0, kernels: [], pid: 0, version: null, legacy: true, telemetry: {} });
      rec.connected = false;
    }
    this.report(id, { temp });
    rec.state = 'ready';
    return rec;
  }

  private record(rec: NodeRecord): void {
    const t = rec.telemetry;
    rec.history.push({ t: rec.lastSeen, temp: t.temp ?? null, cpu: t.cpu ?? null, rate: t.rate ?? null });
    if (rec.history.length > this.historyPoints) rec.history.splice(0, rec.history.length - this.historyPoints);
  }

  setState(id: string, state: NodeState, connected?: boolean): void {
    const rec = this.nodes.get(id);
    if (!rec) return;
    if (connected !== undefined) rec.connected = connected;
    if (rec.state === state) return;
    rec.state = state;
    this.emit(rec, 'state');
  }

  /** Marks nodes stale, then lost, when their reports stop. Returns the nodes that changed. */
  sweep(): NodeRecord[] {
    const now = this.o.clock.now();
    const changed: NodeRecord[] = [];
    for (const rec of this.nodes.values()) {
      if (rec.state === 'gone' || rec.state === 'lost') continue;
      const age = now - rec.lastSeen;
      const next: NodeState = age >= this.lostMs ? 'lost' : age >= this.staleMs ? 'stale' : rec.state;
      if (next !== rec.state) {
        rec.state = next;
        changed.push(rec);
        this.emit(rec, 'state');
      }
    }
    return changed;
  }
}

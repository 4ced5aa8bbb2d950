import type { Logger } from 'pino';
import type { Assignment, Clock, JobRecord, ResultInput } from '../core/index.js';
import type { TelemetryFields } from '../protocol/index.js';
import type { ChangeKind, HeadEvent, NodeRecord } from './cluster.js';

/** Who joins: a native worker's hello, or a compat client described by its listener. */
export type SessionInfo = Omit<NodeRecord, 'state' | 'connected' | 'joinedAt' | 'lastSeen' | 'history'>;

/** How the head talks back to a session's transport. */
export interface SessionHandlers {
  /** Results committed (or dropped as duplicates, counted in `duplicates`): tell the worker it may forget them. */
  ack(tokens: string[], duplicates: number): void;
  /** Leases it holds that are no longer its own (backup won, job cancelled). */
  revoke(tokens: string[]): void;
  /** A result failed validation: the session is closed by its transport. */
  reject(err: Error): void;
  /** A newer connection of the same worker took over. */
  replaced(): void;
}

/**
 * One worker's membership of the cluster: leases, results (through the group commit), heartbeats,
 * telemetry and leaving. Native workers and compat clients both hold one, so the rules of joining
 * and leaving exist once.
 */
export interface WorkerSession {
  readonly id: string;
  /** Leases up to `n` chunks (of jobs `accept` allows). */
  lease(n: number, accept?: (job: JobRecord) => boolean): Assignment[];
  /** Queues a result for the next group commit; `ack` follows once it is durable. */
  result(input: Omit<ResultInput, 'worker'>): void;
  fail(token: string, error: string): void;
  /** Extends its leases (those named, or all); returns tokens it names that are not its own any more. */
  heartbeat(tokens?: string[]): string[];
  report(telemetry: TelemetryFields): void;
  /**
   * Leaves: its leases return at once. `lost` counts them as failed attempts, `drained` does not
   * (a compat client is never allowed to fail a chunk). Returns how many leases returned.
   */
  leave(how: 'lost' | 'drained'): number;
}

export interface SessionPort {
  join(info: SessionInfo, handlers: SessionHandlers): WorkerSession;
}

/** What the compat listeners need of a head: the session port, events, a clock, job order. */
export interface CompatHost {
  readonly clock: Clock;
  readonly log: Logger;
  readonly leaseMs: number;
  readonly sessions: SessionPort;
  event(level: HeadEvent['level'], kind: string, msg: string, extra?: Record<string, unknown>): void;
  onChange(l: (what: ChangeKind, id: string) => void): () => void;
  activeJobs(): JobRecord[];
  counts(id: string): { pending: number };
  node(id: string): NodeRecord | undefined;
  /** A seed 004 temperature report from an address (a tile that is not a worker). */
  legacyReport(address: string, remote: string, temp: number): void;
}

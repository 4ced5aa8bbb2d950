import pino from 'pino';
import { ManualClock } from '../core/index.js';
import type { SessionHandlers, SessionInfo } from '../ports/index.js';
import { MemoryJournal } from '../storage/index.js';
import { Head } from './head.js';
import { headSettings } from './settings.js';

// Fixtures of the head's unit tests (left out of the build).

/** A head in process: MemoryJournal, manual clock, no worker port. */
export function testHead(clock = new ManualClock(1000)): { head: Head; journal: MemoryJournal; clock: ManualClock; fatal: unknown[] } {
  const journal = new MemoryJournal();
  const fatal: unknown[] = [];
  const head = new Head({ journal, leaseKey: 'k'.repeat(64), logger: pino({ level: 'silent' }), settings: headSettings({ leaseMs: 1000 }), secret: null, clock, onFatal: (e) => fatal.push(e) });
  return { head, journal, clock, fatal };
}

export function recorder(): SessionHandlers & { acks: string[][]; revoked: string[][]; rejected: Error[]; replacedCount: number } {
  const r = {
    acks: [] as string[][],
    revoked: [] as string[][],
    rejected: [] as Error[],
    replacedCount: 0,
    ack: (tokens: string[]) => void r.acks.push(tokens),
    revoke: (tokens: string[]) => void r.revoked.push(tokens),
    reject: (err: Error) => void r.rejected.push(err),
    replaced: () => void r.replacedCount++,
  };
  return r;
}

export const info = (id: string, slots = 1): SessionInfo => ({ id, name: id, instance: 0, hostname: 'h', addresses: [], remote: '127.0.0.1', slots, kernels: ['noop'], pid: 1, version: null, legacy: false, telemetry: {} });


import { TERMINAL_STATES } from '../../src/core/index.js';
import type { JobState } from '../../src/core/index.js';
import { api, waitFor } from './procs.js';

/** What `GET /api/ha` answers (issue 15). */
export interface HaView {
  leader: string | null;
  epoch: string | null;
  candidates: { name: string; url: string; workerAddress: string; state: 'leader' | 'standby' | 'down' }[];
  self: { name: string; state: 'leader' | 'standby'; epoch: string | null; refusedWrites: number; refusedLeases: number; firstLeaseAt: number | null };
  history: { name: string; epoch: string; at: number }[];
}

export interface HaJobStatus {
  id: string;
  state: string;
  chunks: { total: number; done: number };
}

/** Polls a job through a head candidate until it ends; a request cut while that candidate changes role is retried. */
export async function waitDone(target: { dir: string; url: string }, id: string): Promise<HaJobStatus> {
  return waitFor(`job ${id} to finish`, async () => {
    const r = await api<HaJobStatus>(target, 'GET', `/api/jobs/${id}`).catch(() => null);
    return r !== null && r.status === 200 && TERMINAL_STATES.has(r.json.state as JobState) ? r.json : null;
  }, 240_000, 100);
}

export const PI_1E9 = 50_847_534; // primes up to 10^9

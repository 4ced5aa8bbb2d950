import { SlotPool } from './slot-pool.js';

export type { SlotPool } from './slot-pool.js';

/**
 * The slot threads alone (and a Life job's part threads): `bramble run` starts them before the head's
 * and the agent's modules load (this module loads only the pools), so each thread's start (a Node bootstrap, the task registry, the
 * kernels' WebAssembly) overlaps that loading; the pool is then handed to the agent.
 */
export function startSlots(n: number, options: { lazy?: boolean } = {}): SlotPool {
  return new SlotPool(n, options);
}

export { startLifeThreads } from './life-parts.js';

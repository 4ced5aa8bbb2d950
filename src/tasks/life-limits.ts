/**
 * What a distributed Life job (head/life-coordinator.ts, worker/life-parts.ts) needs, for admission at
 * submit (issue 17, item 7) and for the coordinator's choice of halo depth: bytes of a grid row, of a
 * halo exchange, of the head's relay and of a checkpoint (the workers' memory: the coordinator's check).
 */

/** Bytes of one grid row as the strips hold and send it (32-bit words of cells). */
export function lifeRowBytes(width: number): number {
  return Math.ceil(width / 32) * 4;
}

/** Room in a frame for a message's fields besides its rows (job id, part, generation, samples, preview). */
const FRAME_OVERHEAD = 64 * 1024;

/**
 * The deepest halo whose exchange fits a frame: a `life-step` carries k rows from above and k from
 * below, a `life-edge` its top and bottom k rows. 0 when not even one row each side fits.
 */
export function lifeMaxHalo(width: number, frameBytes: number): number {
  return Math.max(0, Math.floor((frameBytes - FRAME_OVERHEAD) / (2 * lifeRowBytes(width))));
}

/** Raw bytes of rows per checkpoint piece a worker sends (deflated, one frame each: worker/life-part-thread.ts). */
export const LIFE_PIECE_BYTES = 2 << 20;

/** Bytes the head keeps of one round's halos (every part's top and bottom k rows) while it relays them. */
export function lifeRelayBytes(width: number, parts: number, k: number): number {
  return 2 * parts * k * lifeRowBytes(width);
}

/** Bytes of checkpoint on the head's disk at the peak: the new file is written before the old one goes. */
export function lifeCheckpointBytes(width: number, height: number): number {
  return 2 * lifeRowBytes(width) * height;
}

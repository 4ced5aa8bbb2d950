import { createRequire } from 'node:module';
import type * as Msgpackr from 'msgpackr';
import type * as Zod from 'zod';

/**
 * Packages that a process loads on first use, not at start (issue 16): zod costs ~60 ms of CPU to load
 * and msgpackr ~20 ms (its native extension is probed for), and `bramble run` needs neither (its head and
 * slots share one process, so nothing arrives from a socket to validate or decode). Every module of
 * bramble takes them from here, so a process holds one copy of each: a zod schema made by one copy is
 * not an instance of another's classes.
 */
const load = createRequire(import.meta.url);
let zodModule: typeof Zod | undefined;
let msgpackrModule: typeof Msgpackr | undefined;

/** zod's `z`, loaded on the first call. */
export function zod(): typeof Zod.z {
  zodModule ??= load('zod') as typeof Zod;
  return zodModule.z;
}

/** msgpackr, loaded on the first call. */
export function msgpackr(): typeof Msgpackr {
  msgpackrModule ??= load('msgpackr') as typeof Msgpackr;
  return msgpackrModule;
}

import { createRequire } from 'node:module';
import type { Logger } from 'pino';

// pino (and pino-pretty for a terminal) load when the first line is written: `bramble run` usually
// writes none, and pino's modules cost ~20 ms of CPU at start (docs/performance.md)
const require = createRequire(import.meta.url);

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** Structured logs: readable on a terminal, JSON lines otherwise. */
export function makeLogger(level: string, options: { toStderr?: boolean; base?: Record<string, unknown>; insecure?: boolean } = {}): Logger {
  return lazyLogger(level, () => {
    const pino = require('pino') as typeof import('pino').default;
    const fd = options.toStderr ? 2 : 1;
    const tty = fd === 2 ? process.stderr.isTTY : process.stdout.isTTY;
    const base = { ...(options.base ?? {}), ...(options.insecure ? { insecure: true } : {}) };
    const opts = { level, base: Object.keys(base).length > 0 ? base : undefined };
    if (tty) return pino(opts, (require('pino-pretty') as typeof import('pino-pretty'))({ colorize: true, sync: true, destination: fd, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' }));
    return pino(opts, pino.destination({ fd, sync: true }));
  });
}

/**
 * A pino logger made on first use: a line below `level` is dropped without it; a line at or above it,
 * or anything else asked of the logger, makes it (children are made from it the same way).
 */
function lazyLogger(level: string, make: () => Logger): Logger {
  const threshold = level === 'silent' ? Infinity : (LEVELS[level] ?? LEVELS['info'] ?? 30);
  let real: Logger | undefined;
  const get = (): Logger => (real ??= make());
  const drop = (): void => undefined;
  return new Proxy({} as Logger, {
    get(_t, prop) {
      if (typeof prop === 'string') {
        const n = LEVELS[prop];
        if (n !== undefined && n < threshold) return drop;
        if (prop === 'level' && real === undefined) return level;
        if (prop === 'isLevelEnabled') return (l: string) => (LEVELS[l] ?? Infinity) >= threshold;
        if (prop === 'child' && real === undefined) return (bindings: Record<string, unknown>, opts?: { level?: string }) => lazyLogger(opts?.level ?? level, () => get().child(bindings, opts));
      }
      const l = get() as unknown as Record<string | symbol, unknown>;
      const v = l[prop];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(l) : v;
    },
    set(_t, prop, value) {
      (get() as unknown as Record<string | symbol, unknown>)[prop] = value;
      return true;
    },
  });
}

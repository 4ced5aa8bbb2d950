import pino from 'pino';
import type { Logger } from 'pino';
import { createRequire } from 'node:module';

// pino-pretty (and its dependencies) only for a terminal: loaded when one is there
const require = createRequire(import.meta.url);

/** Structured logs: readable on a terminal, JSON lines otherwise. */
export function makeLogger(level: string, options: { toStderr?: boolean; base?: Record<string, unknown>; insecure?: boolean } = {}): Logger {
  const fd = options.toStderr ? 2 : 1;
  const tty = fd === 2 ? process.stderr.isTTY : process.stdout.isTTY;
  const base = { ...(options.base ?? {}), ...(options.insecure ? { insecure: true } : {}) };
  const opts = { level, base: Object.keys(base).length > 0 ? base : undefined };
  if (tty) return pino(opts, (require('pino-pretty') as typeof import('pino-pretty'))({ colorize: true, sync: true, destination: fd, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' }));
  return pino(opts, pino.destination({ fd, sync: true }));
}

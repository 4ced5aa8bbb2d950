import pino from 'pino';
import type { Logger } from 'pino';
import pretty from 'pino-pretty';

/** Structured logs: readable on a terminal, JSON lines otherwise. */
export function makeLogger(level: string, options: { toStderr?: boolean; base?: Record<string, unknown>; insecure?: boolean } = {}): Logger {
  const fd = options.toStderr ? 2 : 1;
  const tty = fd === 2 ? process.stderr.isTTY : process.stdout.isTTY;
  const base = { ...(options.base ?? {}), ...(options.insecure ? { insecure: true } : {}) };
  const opts = { level, base: Object.keys(base).length > 0 ? base : undefined };
  if (tty) return pino(opts, pretty({ colorize: true, sync: true, destination: fd, ignore: 'pid,hostname', translateTime: 'HH:MM:ss' }));
  return pino(opts, pino.destination({ fd, sync: true }));
}

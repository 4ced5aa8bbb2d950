import { z } from 'zod';
import { InputError } from '../core/index.js';
import { readConfigFile } from '../trust/index.js';

/**
 * Settings of `head` and `worker` come from, highest first: flags, BRAMBLE_* environment variables,
 * a config file (--config FILE, else the data dir's config.json section), defaults. Unknown keys and
 * wrong types are errors that name the key and where it came from.
 */

function envName(key: string): string {
  return 'BRAMBLE_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** Coerces a string from a flag or environment variable to the schema's type. */
function coerce(shape: z.ZodType, raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  let s: z.ZodType = shape;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = (s as unknown as { unwrap(): z.ZodType }).unwrap();
  if (s instanceof z.ZodNumber) return raw.trim() === '' ? raw : Number(raw.replaceAll('_', ''));
  if (s instanceof z.ZodBoolean) return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw;
  if (s instanceof z.ZodArray) return raw.split(',').map((x) => x.trim()).filter(Boolean);
  return raw;
}

export function resolveConfig<S extends z.ZodRawShape>(
  shape: S,
  flags: Record<string, unknown>,
  files: { file: string; section?: string }[],
): z.infer<z.ZodObject<S>> {
  const keys = Object.keys(shape);
  const merged: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  for (const f of files) {
    const { data, exists } = readConfigFile(f.file);
    if (!exists) continue;
    const values = f.section ? (data[f.section] ?? {}) : data;
    if (typeof values !== 'object' || values === null || Array.isArray(values)) throw new InputError(f.file, `${f.file}: "${f.section}" must be an object`);
    for (const [k, v] of Object.entries(values as Record<string, unknown>)) {
      if (!keys.includes(k)) throw new InputError(k, `${f.file}: unknown key "${f.section ? f.section + '.' : ''}${k}" (known: ${keys.join(', ')})`);
      if (!(k in merged)) {
        merged[k] = v;
        origin[k] = `${f.file}: key "${k}"`;
      }
    }
    break; // the first existing file wins whole
  }
  for (const k of keys) {
    const e = process.env[envName(k)];
    if (e !== undefined && e !== '') {
      merged[k] = coerce(shape[k] as z.ZodType, e);
      origin[k] = `environment variable ${envName(k)}`;
    }
  }
  for (const [k, v] of Object.entries(flags)) {
    if (v === undefined || !keys.includes(k)) continue;
    merged[k] = coerce(shape[k] as z.ZodType, v);
    origin[k] = flagName(k);
  }
  const parsed = z.object(shape).strict().safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const where = origin[key] ?? flagName(key);
    throw new InputError(key, `${where} ${issue?.message ?? 'is invalid'} (got ${JSON.stringify(merged[key])})`);
  }
  return parsed.data as z.infer<z.ZodObject<S>>;
}

const port = z.number().int().min(0).max(65535);
const level = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const HeadConfig = {
  port: port.default(7070),
  httpPort: port.default(7080),
  bind: z.string().min(1).default('0.0.0.0'),
  logLevel: level.default('info'),
  insecure: z.boolean().default(false),
  leaseMs: z.number().int().min(50).max(3_600_000).default(30_000),
  maxFrameBytes: z.number().int().min(1024).max(1 << 30).default(16 * 1024 * 1024),
  authTimeoutMs: z.number().int().min(100).max(120_000).default(5000),
  // unset: sized from the descriptor limit (head/fd-budget.ts)
  maxPending: z.number().int().min(1).max(100_000).optional(),
  maxPendingPerAddress: z.number().int().min(1).max(100_000).optional(),
  httpMaxConnections: z.number().int().min(1).max(100_000).optional(),
  httpMaxPerAddress: z.number().int().min(1).max(100_000).optional(),
  staleMs: z.number().int().min(100).default(15_000),
  lostMs: z.number().int().min(100).default(60_000),
  telemetryMs: z.number().int().min(50).default(5000),
  hotTemp: z.number().min(0).max(150).default(80),
  hotSlots: z.number().int().min(0).max(1024).default(1),
};

export const WorkerConfig = {
  head: z.string().regex(/^\[?[A-Za-z0-9._:-]+\]?:\d{1,5}$/, 'must be HOST:PORT').optional(),
  join: z.string().optional(),
  slots: z.number().int().min(1).max(1024).optional(),
  name: z.string().min(1).max(128).optional(),
  instance: z.number().int().min(0).max(1024).default(0),
  logLevel: level.default('info'),
  insecure: z.boolean().default(false),
  prefetch: z.number().int().min(0).max(64).default(1),
};


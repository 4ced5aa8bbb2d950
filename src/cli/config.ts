import { Option } from 'commander';
import type { Command } from 'commander';
import type { z as Z } from 'zod';
import { headSettingsShape, logLevelSchema, settingDefault } from '../head/index.js';
import { InputError, zod } from '../core/index.js';
import { readConfigFile } from '../trust/index.js';

const z = zod();

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
function coerce(shape: Z.ZodType, raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  let s: Z.ZodType = shape;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = (s as unknown as { unwrap(): Z.ZodType }).unwrap();
  if (s instanceof z.ZodNumber) return raw.trim() === '' ? raw : Number(raw.replaceAll('_', ''));
  if (s instanceof z.ZodBoolean) return raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw;
  if (s instanceof z.ZodArray) return raw.split(',').map((x) => x.trim()).filter(Boolean);
  return raw;
}

export function resolveConfig<S extends Z.ZodRawShape>(
  shape: S,
  flags: Record<string, unknown>,
  files: { file: string; section?: string }[],
): Z.infer<Z.ZodObject<S>> {
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
      merged[k] = coerce(shape[k] as Z.ZodType, e);
      origin[k] = `environment variable ${envName(k)}`;
    }
  }
  for (const [k, v] of Object.entries(flags)) {
    if (v === undefined || !keys.includes(k)) continue;
    merged[k] = coerce(shape[k] as Z.ZodType, v);
    origin[k] = flagName(k);
  }
  const parsed = z.object(shape).strict().safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const where = origin[key] ?? flagName(key);
    throw new InputError(key, `${where} ${issue?.message ?? 'is invalid'} (got ${JSON.stringify(merged[key])})`);
  }
  return parsed.data as Z.infer<Z.ZodObject<S>>;
}

const level = logLevelSchema();

/** `bramble head`'s settings: the schema lives with the head (head/settings.ts), defaults included. */
export const HeadConfig = headSettingsShape();

/**
 * Adds one flag per setting of `shape`, derived from it: `leaseMs` is `--lease-ms <ms>`, its help is
 * the schema's description and default. A boolean is a bare flag. `skip` leaves some to the caller.
 */
export function addSettingFlags(cmd: Command, shape: Z.ZodRawShape, skip: readonly string[] = []): Command {
  for (const [key, schema] of Object.entries(shape)) {
    if (skip.includes(key)) continue;
    const s = schema as Z.ZodType;
    const help = s.description ?? key;
    const def = settingDefault(shape, key);
    let inner: Z.ZodType = s;
    while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = (inner as unknown as { unwrap(): Z.ZodType }).unwrap();
    if (inner instanceof z.ZodBoolean) {
      cmd.addOption(new Option(flagName(key), help));
      continue;
    }
    const arg = /Ms$/.test(key) ? 'ms' : /port$/i.test(key) ? 'port' : key === 'bind' ? 'addr' : key === 'logLevel' ? 'level' : inner instanceof z.ZodArray ? 'list' : inner instanceof z.ZodString ? 'text' : 'n';
    const shown = def === undefined || typeof def === 'boolean' ? '' : ` (default ${key === 'maxFrameBytes' && def === 16 * 1024 * 1024 ? '16 MiB' : String(def)})`;
    cmd.option(`${flagName(key)} <${arg}>`, help + (key === 'logLevel' ? '' : shown));
  }
  return cmd;
}

export const WorkerConfig = {
  // several, comma-separated: every head candidate (HA, docs/ha.md); the worker follows the leader
  head: z.string().regex(/^\[?[A-Za-z0-9._:-]+\]?:\d{1,5}(,\[?[A-Za-z0-9._:-]+\]?:\d{1,5})*$/, 'must be HOST:PORT, or several comma-separated').optional(),
  join: z.string().optional(),
  slots: z.number().int().min(1).max(1024).optional(),
  name: z.string().min(1).max(128).optional(),
  instance: z.number().int().min(0).max(1024).default(0),
  logLevel: level.default('info'),
  insecure: z.boolean().default(false),
  prefetch: z.number().int().min(0).max(64).default(1),
  /** Run task modules the head's admin submits (sandboxed child processes; docs/security.md). */
  allowCode: z.boolean().default(false).describe('run task modules (JS/TS) the head admin submits, sandboxed'),
  /** Run commands the head's admin submits (`exec`; `mpirun` of issue 13): any program, as this user. */
  allowExec: z.boolean().default(false).describe('run commands (any program) the head admin submits, as this user'),
  codeCpuSeconds: z.number().positive().max(7 * 86_400).default(300).describe('CPU seconds a task module chunk may use'),
  codeMemoryMb: z.number().int().min(16).max(1 << 20).default(512).describe("heap cap of a task module's process, MiB"),
};


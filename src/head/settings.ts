import type { z, z as Zod } from 'zod';
import { zod } from '../core/index.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The defaults of `bramble head`'s settings (the schema below takes them from here). */
export const HEAD_DEFAULTS = {
  port: 7070,
  httpPort: 7080,
  bind: '0.0.0.0',
  logLevel: 'info',
  insecure: false,
  leaseMs: 30_000,
  maxFrameBytes: 16 * 1024 * 1024,
  authTimeoutMs: 5000,
  staleMs: 15_000,
  lostMs: 60_000,
  telemetryMs: 5000,
  hotTemp: 80,
  hotSlots: 1,
  etcdPrefix: 'bramble/',
  haLeaseTtl: 6,
  haRenewMs: 4000,
  etcdQuotaBytes: 2 * 2 ** 30,
  haRetryMs: 1000,
} as const;

/**
 * Every setting of `bramble head`, once: type, bounds, default and help. The CLI derives its flags
 * (`leaseMs` -> `--lease-ms`), the `BRAMBLE_*` variables (`BRAMBLE_LEASE_MS`) and the config file
 * keys (`head.leaseMs`) from this shape; the composition root and `Head` read the parsed values.
 * A help text ending in a default is written by `settingHelp`, from the schema's default.
 */
function buildHeadSettings(z: typeof Zod) {
  const port = z.number().int().min(0).max(65535);
  const LogLevel = z.enum(LOG_LEVELS);
  return {
    port: port.default(HEAD_DEFAULTS.port).describe('worker port'),
    httpPort: port.default(HEAD_DEFAULTS.httpPort).describe('HTTP API and dashboard port'),
    bind: z.string().min(1).default(HEAD_DEFAULTS.bind).describe('address to listen on'),
    logLevel: LogLevel.default(HEAD_DEFAULTS.logLevel).describe(LOG_LEVELS.join(', ')),
    insecure: z.boolean().default(HEAD_DEFAULTS.insecure).describe('PLAINTEXT worker port and HTTP, no authentication of workers'),
    leaseMs: z.number().int().min(50).max(3_600_000).default(HEAD_DEFAULTS.leaseMs).describe('lease time without heartbeat'),
    maxFrameBytes: z.number().int().min(1024).max(1 << 30).default(HEAD_DEFAULTS.maxFrameBytes).describe('largest frame accepted'),
    authTimeoutMs: z.number().int().min(100).max(120_000).default(HEAD_DEFAULTS.authTimeoutMs).describe('time to finish TLS and authentication'),
    // unset: sized from the descriptor limit (head/fd-budget.ts)
    maxPending: z.number().int().min(1).max(100_000).optional().describe('connections waiting for authentication at once (default: a quarter of the descriptor budget, at most 256)'),
    maxPendingPerAddress: z.number().int().min(1).max(100_000).optional().describe('connections waiting for authentication from one address (default 32)'),
    httpMaxConnections: z.number().int().min(1).max(100_000).optional().describe('HTTPS connections at once (default: a quarter of the descriptor budget, at most 256)'),
    httpMaxPerAddress: z.number().int().min(1).max(100_000).optional().describe('HTTPS connections from one address (default 32)'),
    staleMs: z.number().int().min(100).default(HEAD_DEFAULTS.staleMs).describe('no report for this long: node stale'),
    lostMs: z.number().int().min(100).default(HEAD_DEFAULTS.lostMs).describe('no report for this long: node lost'),
    telemetryMs: z.number().int().min(50).default(HEAD_DEFAULTS.telemetryMs).describe('how often workers report'),
    hotTemp: z.number().min(0).max(150).default(HEAD_DEFAULTS.hotTemp).describe('a node this hot (celsius), or throttled, gets at most --hot-slots chunks'),
    hotSlots: z.number().int().min(0).max(1024).default(HEAD_DEFAULTS.hotSlots).describe('chunks at once for a hot or throttled node'),
    // high availability (issue 15, docs/ha.md): set etcd and this head is one of several candidates
    etcd: z.array(z.string().regex(/^https?:\/\/[^/\s]+\/?$/, 'must be etcd client URLs like http://pi1:2379')).min(1).optional().describe('etcd client URLs, comma-separated: run as one of several head candidates (docs/ha.md)'),
    name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits, dot, dash or underscore').optional().describe('this head candidate\'s name (default: hostname)'),
    etcdPrefix: z.string().regex(/^[A-Za-z0-9._/-]{1,64}$/, 'must be 1-64 letters, digits, dot, dash, slash or underscore').default(HEAD_DEFAULTS.etcdPrefix).describe('key prefix of this cluster in etcd'),
    haLeaseTtl: z.number().int().min(2).max(300).default(HEAD_DEFAULTS.haLeaseTtl).describe('seconds: etcd lease of a head candidate; a crashed leader is replaced after about this long'),
    haRenewMs: z.number().int().min(500).max(299_000).default(HEAD_DEFAULTS.haRenewMs).describe('a leader that could not renew for this long stops handing out leases (must be under --ha-lease-ttl)'),
    etcdQuotaBytes: z.number().int().min(1 << 20).max(64 * 2 ** 30).default(HEAD_DEFAULTS.etcdQuotaBytes).describe("etcd's --quota-backend-bytes: a job whose result rows cannot fit is refused at submit"),
    haRetryMs: z.number().int().min(100).max(60_000).default(HEAD_DEFAULTS.haRetryMs).describe('how often candidates renew, campaign and look for the leader'),
  };
}

type Shape = ReturnType<typeof buildHeadSettings>;
let shape: Shape | undefined;
/** The settings' schema, made on first use: zod loads only in a process that checks settings from outside. */
export function headSettingsShape(): Shape {
  return (shape ??= buildHeadSettings(zod()));
}
/** The log levels' schema (the worker's settings use it too). */
export function logLevelSchema(): Zod.ZodEnum<{ [K in (typeof LOG_LEVELS)[number]]: K }> {
  return zod().enum(LOG_LEVELS);
}
/** The name of every setting (a composition root picks these from its options). */
export const HEAD_SETTING_KEYS = ['port', 'httpPort', 'bind', 'logLevel', 'insecure', 'leaseMs', 'maxFrameBytes', 'authTimeoutMs', 'maxPending', 'maxPendingPerAddress', 'httpMaxConnections', 'httpMaxPerAddress', 'staleMs', 'lostMs', 'telemetryMs', 'hotTemp', 'hotSlots', 'etcd', 'name', 'etcdPrefix', 'haLeaseTtl', 'haRenewMs', 'etcdQuotaBytes', 'haRetryMs'] as const satisfies readonly (keyof Shape)[];
type Unlisted = Exclude<keyof Shape, (typeof HEAD_SETTING_KEYS)[number]>;
/** Fails to compile when a setting is missing from HEAD_SETTING_KEYS. */
const _everySettingListed: [Unlisted] extends [never] ? true : Unlisted = true;
void _everySettingListed;

export type HeadSettingsValues = z.infer<z.ZodObject<Shape>>;

/** The settings with every default filled in (`overrides` are checked by the same schema). */
export function headSettings(overrides: Partial<HeadSettingsValues> = {}): HeadSettingsValues {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  // nothing to check: the defaults (equal to what the schema makes of {}, test/settings.test.ts)
  if (Object.keys(defined).length === 0) return { ...HEAD_DEFAULTS } as HeadSettingsValues;
  return zod().object(headSettingsShape()).strict().parse(defined);
}

/** The default of one setting, for help texts. */
export function settingDefault(shape: z.ZodRawShape, key: string): unknown {
  const s = shape[key] as z.ZodType | undefined;
  if (!s) return undefined;
  const r = s.safeParse(undefined);
  return r.success ? r.data : undefined;
}

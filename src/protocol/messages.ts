import type { Packr } from 'msgpackr';
import type { z, z as Zod } from 'zod';
import { msgpackr, zod } from '../core/index.js';
import { ErrorCode, ProtocolError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame } from './frame-decoder.js';
import type { DecodeLimits } from './msgpack-limits.js';
import { DEFAULT_DECODE_LIMITS, checkMsgpack } from './msgpack-limits.js';

/** Wire version: a head refuses a worker of another major version with a clear error. */
export const PROTOCOL_VERSION = 2;

/** The largest window a worker may state, and the most chunks in one assign. */
export const MAX_WINDOW = 1024;
/** The largest piece of code in one `code` message: shipped code travels in pieces. */
export const CODE_PIECE_BYTES = 1024 * 1024;
/** Named in a worker's hello `kernels` when it can hold strips of distributed Life jobs (the `life-*` frames). */
export const LIFE_STRIPS = 'life-strips';
/** Output bytes in one exec-data frame. */
export const MAX_EXEC_DATA_BYTES = 64 * 1024;
/** Bytes of output a worker may send on one channel before the reader acknowledges them (flow control). */
export const EXEC_WINDOW_BYTES = 1024 * 1024;
/** Files shipped inline with an exec-open, all together (larger inputs belong in a task bundle). */
export const MAX_EXEC_FILES_BYTES = 8 * 1024 * 1024;
/** Length of the shell command line of an exec-open. */
export const MAX_EXEC_COMMAND = 256 * 1024;

/**
 * The wire's schemas, built on the first frame decoded: a process that decodes none (`bramble run`,
 * whose slots share its process) never loads zod.
 */
function buildSchemas(z: typeof Zod) {
  const decimal = z.string().regex(/^\d{1,40}$/, 'a decimal integer string');
  const token = z.string().min(1).max(200);
  const id = z.string().min(1).max(128);
  const shortText = z.string().max(4096);
  const params = z.record(z.string().max(64), z.unknown());

  const telemetryFields = {
    hostname: z.string().max(255).optional(),
    os: z.string().max(128).optional(),
    arch: z.string().max(32).optional(),
    model: z.string().max(128).optional(),
    cores: z.number().int().min(0).max(4096).optional(),
    cpu: z.number().min(0).max(100).optional(),
    load: z.array(z.number()).max(3).optional(),
    memTotal: z.number().min(0).optional(),
    memFree: z.number().min(0).optional(),
    temp: z.number().min(-100).max(200).optional(),
    throttled: z.number().int().min(0).optional(),
    chunksDone: z.number().int().min(0).optional(),
    rate: z.number().min(0).optional(),
    busy: z.number().int().min(0).optional(),
    uptime: z.number().min(0).optional(),
  };

  const Hello = z.object({
    type: z.literal('hello'),
    version: z.number().int(),
    node: id,
    name: z.string().min(1).max(128),
    instance: z.number().int().min(0).max(1024),
    addresses: z.array(z.string().max(64)).max(64),
    slots: z.number().int().min(0).max(1024),
    kernels: z.array(z.string().max(64)).max(64),
    pid: z.number().int().min(0),
    version_text: z.string().max(64).optional(),
    /** Proof of the cluster secret over the head's nonce (see docs/security.md). */
    proof: z.string().max(256).optional(),
    /** The worker's owner allowed it to run commands (`--allow-exec`): command tasks and `bramble mpirun`. */
    allowExec: z.boolean().optional(),
    ...telemetryFields,
    hostname: z.string().max(255),
  });

  const Challenge = z.object({ type: z.literal('challenge'), nonce: z.string().max(256), head: id });
  const Welcome = z.object({
    type: z.literal('welcome'),
    version: z.number().int(),
    head: id,
    leaseMs: z.number().int().positive(),
    heartbeatMs: z.number().int().positive(),
    telemetryMs: z.number().int().positive(),
    /** The cluster's code-signing public key (Ed25519 SPKI, base64): shipped code must carry its signature. */
    codeKey: z.string().max(256).optional(),
    /** HA heads: the leadership's epoch (decimal); a worker refuses a head with a lower one than it has seen. */
    epoch: z.string().regex(/^\d{1,20}$/).optional(),
  });
  const Telemetry = z.object({ type: z.literal('telemetry'), ...telemetryFields });
  const Want = z.object({ type: z.literal('want'), n: z.number().int().min(0).max(MAX_WINDOW) });
  const AssignedChunk = z.object({
    token,
    job: id,
    index: z.number().int().min(0),
    /** Consecutive chunks covered from `index` (jobs sized by time); start/end span them all. */
    span: z.number().int().min(1).max(1 << 24),
    attempt: z.number().int().min(0),
    task: z.string().max(128),
    params,
    start: decimal,
    end: decimal,
  });
  const Assign = z.object({ type: z.literal('assign'), chunks: z.array(AssignedChunk).max(MAX_WINDOW) });
  const Heartbeat = z.object({ type: z.literal('heartbeat'), tokens: z.array(token).max(4096) });
  const Result = z.object({
    type: z.literal('result'),
    token,
    job: id,
    index: z.number().int().min(0),
    /** As assigned; absent means 1. */
    span: z.number().int().min(1).max(1 << 24).optional(),
    summary: z.unknown(),
    output: z.instanceof(Uint8Array).nullable().optional(),
    ms: z.number().min(0).optional(),
  });
  const Fail = z.object({ type: z.literal('fail'), token, job: id, index: z.number().int().min(0), error: shortText });
  const Ack = z.object({ type: z.literal('ack'), tokens: z.array(token).max(4096) });
  const Cancel = z.object({ type: z.literal('cancel'), tokens: z.array(token).max(4096) });
  const Drain = z.object({ type: z.literal('drain') });
  const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in hex');
  /** A worker asks for shipped code (a task module's bundle, a command's file) by its SHA-256. */
  const CodeRequest = z.object({ type: z.literal('code_request'), hash: sha256 });
  /**
   * A piece of shipped code: `offset` into `total` bytes, with the head's signature of the hash; or an
   * `error` (no such code). Pieces come in order.
   */
  const Code = z.object({
    type: z.literal('code'),
    hash: sha256,
    offset: z.number().int().min(0),
    total: z.number().int().min(0).max(16 * 1024 * 1024),
    bytes: z.instanceof(Uint8Array),
    signature: z.string().max(256),
    error: shortText.optional(),
  });


  // ---- distributed Life (head/life-coordinator.ts, worker/life-parts.ts): one job, a strip per part ----
  const count = z.number().int().min(0).max(2 ** 31);
  const lifeRef = { job: id, part: z.number().int().min(0).max(4096), epoch: count };
  const bits = z.instanceof(Uint8Array);
  /** Head -> worker: hold rows [y0, y0+rows) of a W x H grid at generation `gen`, with `kt`/`kb` ghost rows above/below. */
  const LifeLoad = z.object({
    type: z.literal('life-load'),
    ...lifeRef,
    gen: count,
    width: count,
    height: count,
    torus: z.boolean(),
    rule: z.string().max(100),
    y0: count,
    rows: count,
    kt: count,
    kb: count,
    /** Population samples at generations that are multiples of this. */
    every: z.number().int().min(1),
    /** Where the cells come from: generated (random soup, RLE pattern) or sent in `life-rows` frames. */
    init: z.enum(['random', 'pattern', 'rows']),
    density: z.number().min(0).max(1).optional(),
    seed: z.number().int().min(0).max(0xffffffff).optional(),
    pattern: z.string().max(4 * 1024 * 1024).optional(),
  });
  /** Rows [y, y+n) packed 32 cells a word (little-endian), deflated; head -> worker (load) and worker -> head (checkpoint). */
  const LifeRows = z.object({ type: z.literal('life-rows'), ...lifeRef, gen: count, y: count, n: count, data: bits, last: z.boolean() });
  /** Head -> worker: advance `n` generations from `gen`, ghost rows first replaced by `above` / `below` (k rows each). */
  const LifeStep = z.object({
    type: z.literal('life-step'),
    ...lifeRef,
    gen: count,
    n: z.number().int().min(1).max(4096),
    above: bits.optional(),
    below: bits.optional(),
    /** Count the strip's population at the end (else only at sampled generations). */
    count: z.boolean().optional(),
    /** Ask for a density map of the strip, `cols` wide, `rows` high (the dashboard's live view). */
    preview: z.object({ cols: z.number().int().min(1).max(1024), rows: z.number().int().min(1).max(1024) }).optional(),
  });
  /** Worker -> head: the part is at `gen`: its first and last `k` inner rows, its population, the time the step took. */
  const LifeEdge = z.object({
    type: z.literal('life-edge'),
    ...lifeRef,
    gen: count,
    top: bits,
    bottom: bits,
    /** Population of the inner rows at `gen`, when counted (sampled generation, `count`, preview, load). */
    pop: count.optional(),
    /** [generation, population] at each sampled generation of the step. */
    samples: z.array(z.tuple([count, count])).max(4096),
    ms: z.number().min(0),
    preview: bits.optional(),
  });
  /** Head -> worker: send the part's inner rows (as `life-rows`) for a checkpoint at `gen`. */
  const LifeSave = z.object({ type: z.literal('life-save'), ...lifeRef, gen: count });
  /** Head -> worker: forget parts of this job (all of them when `part` is absent). */
  const LifeDrop = z.object({ type: z.literal('life-drop'), job: id, part: z.number().int().min(0).optional() });
  const LifeError = z.object({ type: z.literal('life-error'), ...lifeRef, error: shortText });

  const ErrorMessage = z.object({ type: z.literal('error'), code: z.string().max(64), message: shortText });

  // ---- remote commands (`bramble agent`, `bramble mpirun`): head <-> worker, and client <-> head ----


  const channel = z.number().int().min(0).max(2 ** 31);
  const runId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - (at most 64)');
  const bytes = (max: number): z.ZodType<Uint8Array> => z.instanceof(Uint8Array).refine((b) => b.length <= max, `at most ${max} bytes`);
  const ExecFile = z.object({
    /** A plain file name in the run directory: no slashes, no leading dot. */
    name: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/, 'a plain file name (letters, digits, . _ -; no slashes)'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'hex SHA-256'),
    mode: z.number().int().min(0).max(0o777).optional(),
    data: bytes(MAX_EXEC_FILES_BYTES),
  });
  /**
   * Runs `cmd` with `sh -c` in the run's directory (holding `files`), stdin /dev/null, as `ssh -n` does.
   * From a client, `node` names the worker; the head sends it on with its own channel number.
   */
  const ExecOpen = z.object({
    type: z.literal('exec-open'),
    ch: channel,
    run: runId,
    node: id.optional(),
    cmd: z.string().min(1).max(MAX_EXEC_COMMAND),
    files: z.array(ExecFile).max(64),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/), z.string().max(4096)).optional(),
    /** What the run is, for the head's event log and API (the client's command line). */
    label: shortText.optional(),
  });
  /** Output of a channel (fd 1 or 2); the reader answers with exec-ack once written. */
  const ExecData = z.object({ type: z.literal('exec-data'), ch: channel, fd: z.union([z.literal(1), z.literal(2)]), data: bytes(MAX_EXEC_DATA_BYTES) });
  const ExecAck = z.object({ type: z.literal('exec-ack'), ch: channel, bytes: z.number().int().min(0).max(EXEC_WINDOW_BYTES * 64) });
  /** Stops the command: its whole process session is killed. */
  const ExecKill = z.object({ type: z.literal('exec-kill'), ch: channel });
  /**
   * The command ended (after all its output): exit code or signal; or it never ran / its node was lost,
   * with `error` saying why (`lost` when the worker's connection dropped).
   */
  const ExecExit = z.object({
    type: z.literal('exec-exit'),
    ch: channel,
    code: z.number().int().nullable(),
    signal: z.string().max(32).nullable(),
    error: shortText.optional(),
    lost: z.boolean().optional(),
  });

  /**
   * Client to head: what the run's own launcher printed (mpirun's stdout and stderr: every rank's output)
   * and, once, its exit status; for the dashboard and `GET /api/exec`. The head keeps only a tail.
   */
  const ExecReport = z.object({
    type: z.literal('exec-report'),
    run: runId,
    fd: z.union([z.literal(1), z.literal(2)]).optional(),
    data: bytes(MAX_EXEC_DATA_BYTES).optional(),
    exit: z.number().int().optional(),
  });

  const Message = z.discriminatedUnion('type', [
    Hello,
    Challenge,
    Welcome,
    Telemetry,
    Want,
    Assign,
    Heartbeat,
    Result,
    Fail,
    Ack,
    Cancel,
    Drain,
    CodeRequest,
    Code,
    ErrorMessage,
    ExecOpen,
    ExecData,
    ExecAck,
    ExecKill,
    ExecExit,
    ExecReport,
    LifeLoad,
    LifeRows,
    LifeStep,
    LifeEdge,
    LifeSave,
    LifeDrop,
    LifeError,
  ]);
  return { Message, Telemetry, AssignedChunk };
}
type Schemas = ReturnType<typeof buildSchemas>;
let schemas: Schemas | undefined;
const schemasNow = (): Schemas => (schemas ??= buildSchemas(zod()));

/** Messages of distributed Life jobs (routed to the Life coordinator / the worker's Life parts). */
export type LifeMessage = Extract<Message, { type: `life-${string}` }>;
export function isLifeMessage(m: Message): m is LifeMessage {
  return m.type.startsWith('life-');
}
export type Message = z.infer<Schemas['Message']>;
export type MessageOf<T extends Message['type']> = Extract<Message, { type: T }>;
export type AssignedChunk = z.infer<Schemas['AssignedChunk']>;
export type TelemetryFields = Omit<z.infer<Schemas['Telemetry']>, 'type'>;

let packr: Packr | undefined;
const packrNow = (): Packr => (packr ??= new (msgpackr().Packr)({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: 'number' }));

/** MessagePack body of a message, then framed. */
export function encodeMessage(msg: Message, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  return encodeFrame(packrNow().pack(msg), maxFrameBytes);
}

/**
 * Decodes and validates one frame body; any failure is a ProtocolError that names what was wrong.
 * The body's shape is checked against `limits` before msgpackr builds anything.
 */
export function decodeMessage(body: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): Message {
  checkMsgpack(body, limits);
  let raw: unknown;
  try {
    raw = packrNow().unpack(body);
  } catch (err) {
    throw new ProtocolError(ErrorCode.BadFrame, `frame is not valid MessagePack: ${(err as Error).message}`, { cause: err });
  }
  const parsed = schemasNow().Message.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'message';
    const type = typeof raw === 'object' && raw !== null && 'type' in raw ? String((raw as { type: unknown }).type).slice(0, 40) : '?';
    throw new ProtocolError(ErrorCode.BadMessage, `invalid ${type} message: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

import { Packr } from 'msgpackr';
import { z } from 'zod';
import { ErrorCode, ProtocolError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame } from './frame-decoder.js';
import type { DecodeLimits } from './msgpack-limits.js';
import { DEFAULT_DECODE_LIMITS, checkMsgpack } from './msgpack-limits.js';

/** Wire version: a head refuses a worker of another major version with a clear error. */
export const PROTOCOL_VERSION = 2;

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

export const Hello = z.object({
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
  ...telemetryFields,
  hostname: z.string().max(255),
});

export const Challenge = z.object({ type: z.literal('challenge'), nonce: z.string().max(256), head: id });
export const Welcome = z.object({
  type: z.literal('welcome'),
  version: z.number().int(),
  head: id,
  leaseMs: z.number().int().positive(),
  heartbeatMs: z.number().int().positive(),
  telemetryMs: z.number().int().positive(),
  /** The cluster's code-signing public key (Ed25519 SPKI, base64): shipped code must carry its signature. */
  codeKey: z.string().max(256).optional(),
});
export const Telemetry = z.object({ type: z.literal('telemetry'), ...telemetryFields });
/** The largest window a worker may state, and the most chunks in one assign. */
export const MAX_WINDOW = 1024;
export const Want = z.object({ type: z.literal('want'), n: z.number().int().min(0).max(MAX_WINDOW) });
export const AssignedChunk = z.object({
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
export const Assign = z.object({ type: z.literal('assign'), chunks: z.array(AssignedChunk).max(MAX_WINDOW) });
export const Heartbeat = z.object({ type: z.literal('heartbeat'), tokens: z.array(token).max(4096) });
export const Result = z.object({
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
export const Fail = z.object({ type: z.literal('fail'), token, job: id, index: z.number().int().min(0), error: shortText });
export const Ack = z.object({ type: z.literal('ack'), tokens: z.array(token).max(4096) });
export const Cancel = z.object({ type: z.literal('cancel'), tokens: z.array(token).max(4096) });
export const Drain = z.object({ type: z.literal('drain') });
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in hex');
/** The largest piece of code in one `code` message: shipped code travels in pieces. */
export const CODE_PIECE_BYTES = 1024 * 1024;
/** A worker asks for shipped code (a task module's bundle, a command's file) by its SHA-256. */
export const CodeRequest = z.object({ type: z.literal('code_request'), hash: sha256 });
/**
 * A piece of shipped code: `offset` into `total` bytes, with the head's signature of the hash; or an
 * `error` (no such code). Pieces come in order.
 */
export const Code = z.object({
  type: z.literal('code'),
  hash: sha256,
  offset: z.number().int().min(0),
  total: z.number().int().min(0).max(16 * 1024 * 1024),
  bytes: z.instanceof(Uint8Array),
  signature: z.string().max(256),
  error: shortText.optional(),
});
export const ErrorMessage = z.object({ type: z.literal('error'), code: z.string().max(64), message: shortText });

export const Message = z.discriminatedUnion('type', [
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
]);
export type Message = z.infer<typeof Message>;
export type MessageOf<T extends Message['type']> = Extract<Message, { type: T }>;
export type AssignedChunk = z.infer<typeof AssignedChunk>;
export type TelemetryFields = Omit<z.infer<typeof Telemetry>, 'type'>;

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: 'number' });

/** MessagePack body of a message, then framed. */
export function encodeMessage(msg: Message, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  return encodeFrame(packr.pack(msg), maxFrameBytes);
}

/**
 * Decodes and validates one frame body; any failure is a ProtocolError that names what was wrong.
 * The body's shape is checked against `limits` before msgpackr builds anything.
 */
export function decodeMessage(body: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): Message {
  checkMsgpack(body, limits);
  let raw: unknown;
  try {
    raw = packr.unpack(body);
  } catch (err) {
    throw new ProtocolError(ErrorCode.BadFrame, `frame is not valid MessagePack: ${(err as Error).message}`, { cause: err });
  }
  const parsed = Message.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'message';
    const type = typeof raw === 'object' && raw !== null && 'type' in raw ? String((raw as { type: unknown }).type).slice(0, 40) : '?';
    throw new ProtocolError(ErrorCode.BadMessage, `invalid ${type} message: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

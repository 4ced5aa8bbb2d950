import net from 'node:net';
import { U64_MAX as MAX_U64 } from '../core/index.js';

/** Seed 004's messages are tiny; a length over this closes the socket before the body is read. */
export const MAX_SEED004_BYTES = 64 * 1024;

/** A seed 004 temperature report: the body `{"ip": "192.168.4.1", "temp": 47.2}`. */
export interface TemperatureReport {
  /** The address the report names, when it is a real IP address (the script sends "???" without eth0). */
  ip: string | null;
  temp: number;
}

/** Parses a temperature report; throws an Error whose message says what is wrong. */
export function parseTemperatureReport(body: Uint8Array): TemperatureReport {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new Error('the report is not UTF-8');
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error('the report is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('the report is not a JSON object');
  const o = v as Record<string, unknown>;
  const ip = o['ip'];
  const temp = o['temp'];
  if (typeof ip !== 'string' || ip.length > 64) throw new Error('"ip" must be a string of at most 64 characters');
  if (typeof temp !== 'number' || !Number.isFinite(temp) || temp < -100 || temp > 200) throw new Error('"temp" must be a number of degrees between -100 and 200');
  return { ip: net.isIP(ip) ? ip : null, temp };
}

/** Parses one value of the seed 004 prime stream: decimal text of an integer in [0, 2^64 - 1]. */
export function parsePrimeValue(body: Uint8Array): bigint {
  if (body.length > 64) throw new Error(`a value of ${body.length} bytes`);
  const text = Buffer.from(body).toString('latin1').trim();
  if (!/^\d{1,20}$/.test(text)) throw new Error(`not a decimal integer: ${JSON.stringify(text.slice(0, 24))}`);
  const n = BigInt(text);
  if (n > MAX_U64) throw new Error(`${text} is larger than 2^64 - 1`);
  return n;
}

import { createHash } from 'node:crypto';
import { parseRle, type RlePattern } from '../kernels/index.js';

/**
 * A Life job's `pattern` is RLE text as the user gives it, or a reference `sha256:HEX` to RLE text the
 * head keeps (the head stores every job's pattern once, in its data directory, and the job holds
 * only the reference: the journal, the job list and the strips' load messages never carry the text).
 */
export const PATTERN_REF = /^sha256:[0-9a-f]{64}$/;

/** At most this much RLE text (the file is refused before it is read past this, see the CLI). */
export const MAX_PATTERN_BYTES = 4 * 1024 * 1024;

export function isPatternRef(s: string): boolean {
  return s.length === 71 && PATTERN_REF.test(s);
}

/** The reference of RLE text: the SHA-256 of its UTF-8 bytes. */
export function patternRef(text: string): string {
  return `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
}

/** How long the last parse is kept for the next call with the same text (validation, then the job's start). */
const KEEP_MS = 30_000;
let last: { text: string; pattern: RlePattern } | null = null;
let forget: NodeJS.Timeout | null = null;

/**
 * parseRle with the last result kept a short while: a pattern is checked by the CLI, then by the
 * head's submit (the same string in `bramble run`), then cut into the job's first checkpoint, and a
 * 3 MiB soup takes tens of milliseconds to parse each time. Callers must not change the pattern.
 */
export function parsePattern(text: string): RlePattern {
  if (last !== null && last.text === text) return last.pattern;
  const pattern = parseRle(text);
  last = { text, pattern };
  if (forget) clearTimeout(forget);
  forget = setTimeout(() => {
    last = null;
    forget = null;
  }, KEEP_MS);
  forget.unref();
  return pattern;
}

import { isPrime, maxPrimesIn } from '../kernels/index.js';

/** The chunk a seed 000 client was given: `JobID:StartingPoint:EndingPoint`, both ends inclusive. */
export interface TextChunk {
  index: number;
  start: bigint;
  end: bigint;
}

export type Verdict = { ok: true; count: number } | { ok: false; reason: string };

const NL = 10;
const CR = 13;
const SP = 32;
const COMMA = 44;
const COLON = 58;
const D0 = 48;
const D9 = 57;
/** 2^64 - 1 has 20 digits. */
const MAX_DIGITS = 20;
const MAX_BLANKS = 16;

/** The primes of a chunk, one decimal token at a time, from text pieces of "p\n" lines. */
class ExpectedPrimes {
  private piece = '';
  private pos = 0;
  constructor(private readonly pieces: Iterator<string>) {}
  next(): string | null {
    while (this.pos >= this.piece.length) {
      const r = this.pieces.next();
      if (r.done) return null;
      this.piece = r.value;
      this.pos = 0;
    }
    const nl = this.piece.indexOf('\n', this.pos);
    const end = nl < 0 ? this.piece.length : nl;
    const tok = this.piece.slice(this.pos, end);
    this.pos = end + 1;
    return tok;
  }
}

type Phase = 'id' | 'list' | 'done';

/**
 * The longest answer the primes of `chunk` can take, in bytes (issue 17, item 20: a limit on line
 * length): per prime at most 21 digits (one leading zero), 16 blanks and a comma, plus the JobID,
 * its blanks and the newline. A longer line is refused, even for a chunk whose answer is being skipped.
 */
export function maxAnswerBytes(chunk: TextChunk): number {
  const w = chunk.end - chunk.start + 1n;
  return 64 + 40 * Number(maxPrimesIn(w > 0n ? w : 1n));
}

/** What `push` returns: null (more bytes needed), a verdict, or a request for the chunk's primes. */
export type PushResult = { verdict: Verdict; used: number } | { need: 'expected'; used: number } | null;

/**
 * Checks one seed 000 answer, `JobID:p1,p2,...\n`, as its bytes arrive, against the exact primes of the
 * chunk: every number must be in the chunk, prime, in ascending order, none repeated and none missing.
 * Owns no socket (feed it any split of the stream) and buffers at most one number.
 *
 * `expected` is called once, when a JobID that matches has been read, so a garbage answer costs no sieve.
 * Whitespace (spaces, CR) around numbers and one trailing comma are tolerated; an empty list after
 * the colon means "no primes".
 */
export class AnswerChecker {
  private phase: Phase = 'id';
  private id = '';
  private tok = '';
  private tokClosed = false;
  private blanks = 0;
  private count = 0;
  private primes: ExpectedPrimes | null = null;
  private verdict: Verdict | null = null;
  private bytes = 0;
  private waiting = false;
  private readonly maxBytes: number;

  /**
   * @param expected the chunk's primes as text pieces ("p\n" lines); null to skip the check (the
   *   chunk was already finished elsewhere: the answer is read and dropped); or 'later': once a
   *   matching JobID has been read, `push` returns `{ need: 'expected' }` and the caller computes the
   *   primes where it likes (off the event loop) and hands them over with `provide` before pushing on.
   */
  constructor(
    readonly chunk: TextChunk,
    private readonly expected: (() => Iterable<string>) | 'later' | null,
  ) {
    this.maxBytes = maxAnswerBytes(chunk);
  }

  /** The chunk's primes, after `push` asked for them with `{ need: 'expected' }`. */
  provide(pieces: Iterable<string>): void {
    if (!this.waiting) throw new Error('AnswerChecker.provide: the primes were not asked for');
    this.waiting = false;
    this.primes = new ExpectedPrimes(pieces[Symbol.iterator]());
  }

  /**
   * Feeds bytes. Returns null while the answer is incomplete; otherwise the verdict and the number of
   * bytes of `buf` it used (what follows belongs to the next message). After a rejection the
   * connection should be closed: the rest of the stream cannot be trusted.
   */
  push(buf: Uint8Array): PushResult {
    if (this.verdict) return { verdict: this.verdict, used: 0 };
    if (this.waiting) throw new Error('AnswerChecker.push: the primes asked for were not provided');
    for (let i = 0; i < buf.length; i++) {
      const b = buf[i] as number;
      let v: Verdict | null;
      if (++this.bytes > this.maxBytes) v = this.reject(`the answer is longer than ${this.maxBytes} bytes, the most the primes of this chunk can take`);
      else v = this.phase === 'id' ? this.onIdByte(b) : this.onListByte(b);
      if (v) {
        this.verdict = v;
        this.phase = 'done';
        return { verdict: v, used: i + 1 };
      }
      if (this.waiting) return { need: 'expected', used: i + 1 };
    }
    return null;
  }

  private reject(reason: string): Verdict {
    return { ok: false, reason };
  }

  private onIdByte(b: number): Verdict | null {
    if (b >= D0 && b <= D9) {
      if (this.id.length >= MAX_DIGITS) return this.reject('the JobID is longer than 20 digits');
      this.id += String.fromCharCode(b);
      return null;
    }
    if (b === COLON) {
      if (this.id === '') return this.reject('the answer starts with ":" instead of the JobID');
      const id = this.id.replace(/^0+(?=\d)/, '');
      if (id !== String(this.chunk.index)) return this.reject(`answer for JobID ${id}, but this client was given JobID ${this.chunk.index}`);
      this.phase = 'list';
      if (this.expected === 'later') this.waiting = true;
      else if (this.expected) this.primes = new ExpectedPrimes(this.expected()[Symbol.iterator]());
      return null;
    }
    if ((b === NL || b === CR || b === SP) && this.id === '') {
      if (++this.blanks > MAX_BLANKS) return this.reject('too many blank characters before the JobID');
      return null; // blank lines before an answer are harmless
    }
    return this.reject(`expected "JobID:" and a list of primes, got ${describeByte(b)}${this.id ? ` after "${this.id}"` : ''}`);
  }

  private onListByte(b: number): Verdict | null {
    if (b >= D0 && b <= D9) {
      if (this.tokClosed) return this.reject(`a comma is missing after ${this.tok}`);
      if (this.tok.length >= MAX_DIGITS + 1) return this.reject(`a number longer than ${MAX_DIGITS} digits (${this.tok}...)`);
      this.tok += String.fromCharCode(b);
      this.blanks = 0;
      return null;
    }
    if (b === SP || b === CR) {
      if (++this.blanks > MAX_BLANKS) return this.reject('too many blank characters in the list');
      if (this.tok !== '') this.tokClosed = true;
      return null;
    }
    if (b === COMMA) {
      if (this.tok === '') return this.reject(this.count === 0 ? 'the list starts with a comma' : 'two commas in a row');
      return this.take();
    }
    if (b === NL) {
      if (this.tok !== '') {
        const v = this.take();
        if (v) return v;
      }
      return this.finish();
    }
    return this.reject(`unexpected ${describeByte(b)} in the list of primes`);
  }

  /** Checks the number just read against the next expected prime. */
  private take(): Verdict | null {
    const tok = this.tok.replace(/^0+(?=\d)/, '');
    this.tok = '';
    this.tokClosed = false;
    this.count++;
    if (tok.length > MAX_DIGITS) return this.reject(`${tok} is larger than 2^64 - 1`);
    if (!this.primes) return null; // skipping: the chunk is finished already
    const want = this.primes.next();
    if (tok === want) return null;
    return this.reject(this.explain(BigInt(tok), want));
  }

  private explain(n: bigint, want: string | null): string {
    const { start, end } = this.chunk;
    if (n < start || n > end) return `${n} is outside the chunk [${start}, ${end}]`;
    if (!isPrime(n)) return `${n} is not prime`;
    if (want === null || n < BigInt(want)) return `${n} is repeated or out of order (the list must ascend)`;
    return `prime ${want} is missing`;
  }

  private finish(): Verdict {
    if (!this.primes) return { ok: true, count: this.count };
    const missing = this.primes.next();
    if (missing === null) return { ok: true, count: this.count };
    let more = 0;
    while (this.primes.next() !== null) more++;
    const inclusive = BigInt(missing) === this.chunk.end && more === 0 ? ` (EndingPoint ${this.chunk.end} is part of the chunk: both ends are inclusive)` : '';
    return this.reject(`the list is incomplete: prime ${missing} is missing${more > 0 ? ` and ${more} more` : ''}${inclusive}`);
  }
}

function describeByte(b: number): string {
  if (b >= 33 && b <= 126) return `"${String.fromCharCode(b)}"`;
  return `byte 0x${b.toString(16).padStart(2, '0')}`;
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listPrimes, primeListText } from '../kernels/index.js';
import { AnswerChecker, maxAnswerBytes } from './answer-checker.js';
import type { PushResult, TextChunk, Verdict } from './answer-checker.js';

function verdictOf(r: PushResult): Verdict | undefined {
  return r && 'verdict' in r ? r.verdict : undefined;
}

function primesOf(start: bigint, end: bigint): () => Iterable<string> {
  return () => primeListText(start, listPrimes(start, end).encoded, 16); // tiny pieces: tokens must not straddle them
}

function check(chunk: TextChunk, text: string, splits: number[] = []): { verdict: Verdict; used: number } | null {
  const c = new AnswerChecker(chunk, primesOf(chunk.start, chunk.end));
  const bytes = Buffer.from(text);
  let from = 0;
  for (const at of [...splits.filter((s) => s > 0 && s < bytes.length).sort((a, b) => a - b), bytes.length]) {
    const r = c.push(bytes.subarray(from, at));
    if (r && 'verdict' in r) return { verdict: r.verdict, used: from + r.used };
    from = at;
  }
  return null;
}

const chunk = { index: 4, start: 90n, end: 113n }; // primes 97 101 103 107 109 113

describe('AnswerChecker', () => {
  it('accepts the exact primes of the chunk and says how many bytes the answer used', () => {
    expect(check(chunk, '4:97,101,103,107,109,113\nrest')).toEqual({ verdict: { ok: true, count: 6 }, used: 25 });
  });

  it('accepts an empty list after the colon when the chunk has no primes', () => {
    expect(check({ index: 0, start: 24n, end: 28n }, '0:\n')?.verdict).toEqual({ ok: true, count: 0 });
  });

  it('tolerates spaces, CR, a trailing comma and leading zeros', () => {
    expect(check(chunk, '\n04: 97, 101,103 ,107,109,0113,\r\n')?.verdict).toEqual({ ok: true, count: 6 });
  });

  it('gives the same verdict for every split of the byte stream', () => {
    const good = '4:97,101,103,107,109,113\n';
    const bad = '4:97,101,105,107,109,113\n';
    fc.assert(
      fc.property(fc.array(fc.nat(good.length), { maxLength: 8 }), (splits) => {
        expect(check(chunk, good, splits)?.verdict.ok).toBe(true);
        expect(check(chunk, bad, splits)?.verdict).toEqual({ ok: false, reason: '105 is not prime' });
      }),
    );
  });

  it('returns null while the answer is incomplete', () => {
    expect(check(chunk, '4:97,101')).toBeNull();
  });

  it.each([
    ['5:97\n', 'answer for JobID 5, but this client was given JobID 4'],
    ['4:97,101,103,107,109,113,127\n', '127 is outside the chunk [90, 113]'],
    ['4:89,97\n', '89 is outside the chunk [90, 113]'],
    ['4:97,99\n', '99 is not prime'],
    ['4:97,97\n', '97 is repeated or out of order (the list must ascend)'],
    ['4:97,103,101\n', 'prime 101 is missing'],
    ['4:97,101,103,107,109\n', 'the list is incomplete: prime 113 is missing (EndingPoint 113 is part of the chunk: both ends are inclusive)'],
    ['4:97\n', 'the list is incomplete: prime 101 is missing and 4 more'],
    ['4:97,,101\n', 'two commas in a row'],
    ['4:,97\n', 'the list starts with a comma'],
    ['4:97 101\n', 'a comma is missing after 97'],
    ['4:97;101\n', 'unexpected ";" in the list of primes'],
    ['hello\n', 'expected "JobID:" and a list of primes, got "h"'],
    [':97\n', 'the answer starts with ":" instead of the JobID'],
    ['4:123456789012345678901234\n', 'a number longer than 20 digits (123456789012345678901...)'],
    ['4:97\u0000\n', 'unexpected byte 0x00 in the list of primes'],
  ])('refuses %j: %s', (text, reason) => {
    expect(check(chunk, text)?.verdict).toEqual({ ok: false, reason });
  });

  it('does not run the sieve for an answer whose JobID is wrong', () => {
    let called = 0;
    const c = new AnswerChecker(chunk, () => {
      called++;
      return [];
    });
    expect(verdictOf(c.push(Buffer.from('7:97\n')))?.ok).toBe(false);
    expect(called).toBe(0);
  });

  it('reads and drops an answer without checking it when given no expected primes', () => {
    const c = new AnswerChecker(chunk, null);
    expect(verdictOf(c.push(Buffer.from('4:1,2,3\n')))).toEqual({ ok: true, count: 3 });
  });

  it("'later': stops after the JobID, asks for the primes, then checks the rest", () => {
    const good = new AnswerChecker(chunk, 'later');
    const bytes = Buffer.from('4:97,101,103,107,109,113\n');
    const r = good.push(bytes);
    expect(r).toEqual({ need: 'expected', used: 2 });
    expect(() => good.push(bytes.subarray(2))).toThrow(/not provided/);
    good.provide(primesOf(chunk.start, chunk.end)());
    expect(verdictOf(good.push(bytes.subarray(2)))).toEqual({ ok: true, count: 6 });
    const bad = new AnswerChecker(chunk, 'later');
    expect(bad.push(Buffer.from('4:'))).toEqual({ need: 'expected', used: 2 });
    bad.provide(primesOf(chunk.start, chunk.end)());
    expect(verdictOf(bad.push(Buffer.from('97,101,105\n')))).toEqual({ ok: false, reason: '105 is not prime' });
    // a wrong JobID never asks for the primes
    expect(verdictOf(new AnswerChecker(chunk, 'later').push(Buffer.from('5:97\n')))?.ok).toBe(false);
  });

  it('refuses an answer longer than the primes of the chunk can take, even one it skips', () => {
    const max = maxAnswerBytes(chunk);
    expect(max).toBeLessThan(64 + 40 * 24);
    const c = new AnswerChecker(chunk, null);
    const long = Buffer.from('4:' + '1,'.repeat(max));
    expect(verdictOf(c.push(long))).toEqual({ ok: false, reason: `the answer is longer than ${max} bytes, the most the primes of this chunk can take` });
    // the longest honest answer (leading zeros, blanks) still fits
    const honest = '4:' + ['97', '101', '103', '107', '109', '113'].map((p) => '0'.repeat(21 - p.length) + p + ' '.repeat(16) + ',').join('') + '\n';
    expect(check(chunk, honest)?.verdict).toEqual({ ok: true, count: 6 });
  });
});

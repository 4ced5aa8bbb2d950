import { describe, expect, it } from 'vitest';
import { run } from './helpers/procs.js';

// `bramble run collatz --mode verify` as a user runs it: real processes, the WebAssembly walk in the
// worker slots, the result folded by the head.
describe('bramble run collatz --mode verify', () => {
  it('verifies [1, 10^8] reporting checked, the sieve and the path record (80049391 reaches 2185143829170100)', async () => {
    const r = await run(['run', 'collatz', '--start', '1', '--end', '1e8', '--mode', 'verify', '--workers', '2', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      task: 'collatz',
      mode: 'verify',
      count: '100000000',
      verified: '100000000',
      // numbers followed: those the sieve keeps, less = 2 (mod 3) and = 4 (mod 9)
      checked: '948894',
      highest: { n: '80049391', value: '2185143829170100' },
      sieve: { modulus: '2^24', kept: '286581' },
      state: 'done',
    });
  });

  it('finishes with chunks of 4 numbers (the head had refused their honest highest values and the run never ended)', async () => {
    const r = await run(['run', 'collatz', '--start', '1', '--end', '100', '--chunk', '4', '--mode', 'verify', '--workers', '1', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ verified: '100', checked: '10', highest: { n: '27', value: '9232' }, failedChunks: [], state: 'done' });
  });

  it('prints checked and the sieve in its human summary, also above 2^53 (the 128-bit walk)', async () => {
    const r = await run(['run', 'collatz', '--start', '2^60', '--end', '2^60+1e7', '--mode', 'verify', '--workers', '1']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^collatz verify \[1152921504606846976, 1152921504616846976\]: 10000001 numbers verified \(\d+ checked; the rest skipped by the sieve mod 2\^24 \(286581 residues kept\) and mod 3, 9\)$/m);
    expect(r.out).toMatch(/^highest value \d+ \(reached from 11529215\d{11}\)$/m);
  });
});

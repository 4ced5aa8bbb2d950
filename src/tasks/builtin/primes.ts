import { defaultChunk } from '../../core/index.js';
import { countPrimes, implausiblePrimes, isqrt, listPrimes, primeListText } from '../../kernels/index.js';
import { badSummary, defineTask, param } from '../define-task.js';
import { check } from '../summary.js';

function primeSummary(r: { count: number; first: bigint | null; last: bigint | null; largestGap: { gap: bigint; after: bigint } | null }): Record<string, unknown> {
  return {
    c: r.count,
    f: r.first?.toString() ?? null,
    l: r.last?.toString() ?? null,
    g: r.largestGap ? [r.largestGap.gap.toString(), r.largestGap.after.toString()] : null,
  };
}

/** Primes in [start, end]: a segmented sieve per chunk; with --list every prime, as varint gaps. */
export default defineTask({
  name: 'primes',
  order: 1,
  description: 'primes in [start, end]: count, first, last, largest gap; with --list every prime',
  params: {
    list: param.boolean({ description: 'keep every prime (for --out / result --out)' }),
  },
  defaultChunkSize(start, end, slots) {
    // every chunk pays for walking the sieving primes up to sqrt(end): keep chunks at least that wide
    const chunk = defaultChunk(start, end, 20_000_000n, slots * 4);
    const floor = isqrt(end);
    const width = end - start + 1n;
    return chunk >= floor ? chunk : floor < width ? floor : width;
  },
  run(params, start, end) {
    if (params.list) {
      const r = listPrimes(start, end);
      return { summary: primeSummary(r), output: r.encoded };
    }
    return { summary: primeSummary(countPrimes(start, end)), output: null };
  },
  checkSummary(raw, start, end) {
    const s = check.map(raw);
    const g = s['g'];
    let gap: [string, string] | null = null;
    if (g !== null && g !== undefined) {
      if (!Array.isArray(g) || g.length !== 2) badSummary('g is not a pair');
      gap = [check.decimal(g[0], 'gap', 1n, end - start + 1n), check.decimal(g[1], 'gap start', start, end)];
    }
    const out = { c: check.count(s['c'], 'count'), f: check.decimalOrNull(s['f'], 'first', start, end), l: check.decimalOrNull(s['l'], 'last', start, end), g: gap };
    const why = implausiblePrimes(start, end, out.c, out.f === null ? null : BigInt(out.f), out.l === null ? null : BigInt(out.l), gap && [BigInt(gap[0]), BigInt(gap[1])]);
    if (why) badSummary(why);
    return out;
  },
  fold() {
    let count = 0n;
    let first: bigint | null = null;
    let last: bigint | null = null;
    let gap = 0n;
    let after: bigint | null = null;
    return {
      add(_i, _s, _e, sum) {
        const c = BigInt(sum['c'] as number);
        if (c === 0n) return;
        const f = BigInt(sum['f'] as string);
        if (last !== null && f - last > gap) {
          gap = f - last;
          after = last;
        }
        const g = sum['g'] as [string, string] | null;
        if (g && BigInt(g[0]) > gap) {
          gap = BigInt(g[0]);
          after = BigInt(g[1]);
        }
        first ??= f;
        last = BigInt(sum['l'] as string);
        count += c;
      },
      result() {
        return {
          count: count.toString(),
          first: first?.toString() ?? null,
          last: last?.toString() ?? null,
          largestGap: after === null ? null : { gap: gap.toString(), after: after.toString() },
        };
      },
    };
  },
  live() {
    let count = 0n;
    let largest: bigint | null = null;
    return {
      add(sum) {
        count += BigInt(sum['c'] as number);
        if (sum['l'] !== null && sum['l'] !== undefined) {
          const l = BigInt(sum['l'] as string);
          if (largest === null || l > largest) largest = l;
        }
      },
      snapshot: () => ({ count: count.toString(), largest: largest?.toString() ?? null }),
    };
  },
  output: {
    mediaType: 'text/plain',
    extension: 'txt',
    kept: (params) => params.list,
    enabledBy: 'list',
    // pieces of 64 KiB: small strings die young, so writing 50 million primes keeps the head small
    text: (_params, start, output) => primeListText(start, output, 64 * 1024),
  },
});

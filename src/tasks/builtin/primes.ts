import { InputError, MAX_CHUNKS, defaultChunk } from '../../core/index.js';
import { countPrimes, implausiblePrimes, isqrt, listPrimes, maxPrimesIn, primeListFacts, primeListText } from '../../kernels/index.js';
import { badOutput, badSummary, bytesText, defineTask, param } from '../define-task.js';
import { check } from '../summary.js';

/**
 * About how many primes [a, a + w - 1] holds, on the high side: the density near a with 20% to spare,
 * 1.2 w / ln(max(a, w)), never more than w consecutive numbers can hold (Brun-Titchmarsh, the bound
 * results are checked against: kernels/plausible.ts) nor than pi(a + w) < 1.25506 (a + w) / ln(a + w)
 * (Rosser and Schoenfeld).
 */
export function primesInAbout(a: bigint, w: bigint): number {
  const A = Number(a);
  const W = Number(w);
  const x = Math.max(A + W, 3);
  return Math.min((1.2 * W) / Math.log(Math.max(A, W, 3)), (1.25506 * x) / Math.log(x), Number(maxPrimesIn(w)));
}

/**
 * Bytes of the --list output of [a, a + w - 1]: a varint gap per prime, one byte each, two for a gap
 * of 128 or more (a share of about e^(-128 / ln x) of the gaps near x: 5% near 2^64).
 */
export function listBytes(a: bigint, w: bigint): number {
  const ln = Math.log(Math.max(Number(a) + Number(w), 3));
  return primesInAbout(a, w) * (1 + Math.exp(-128 / ln)) + 16;
}

/** Bytes of the --list outputs of the whole of [start, end], estimated piece by piece (64 pieces). */
function listBytesTotal(start: bigint, end: bigint): number {
  const width = end - start + 1n;
  const pieces = width < 64n ? width : 64n;
  let total = 0;
  for (let k = 0n; k < pieces; k++) {
    const a = start + (width * k) / pieces;
    const b = start + (width * (k + 1n)) / pieces;
    total += listBytes(a, b - a);
  }
  return total;
}

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
  admit(params, start, end, chunk, limits) {
    if (!params.list) return;
    // each chunk's list must fit its share of a frame: the first chunk is the densest, so the largest
    // chunk whose first copy fits is cut for the whole job (chunk indices are one size)
    const width = end - start + 1n;
    const budget = limits.chunkOutputBytes;
    let fit = chunk < width ? chunk : width;
    const asked = fit;
    if (listBytes(start, fit) > budget) {
      let lo = 1n;
      let hi = fit;
      while (lo < hi) {
        const mid = (lo + hi + 1n) / 2n;
        if (listBytes(start, mid) <= budget) lo = mid;
        else hi = mid - 1n;
      }
      fit = lo;
    }
    const total = listBytesTotal(start, end);
    const chunks = (width + fit - 1n) / fit;
    if (chunks > BigInt(MAX_CHUNKS)) {
      throw new InputError(
        '--end',
        `--list over [${start}, ${end}] keeps about ${bytesText(total)} of primes; each chunk's list must fit ${bytesText(budget)} (half a ${bytesText(limits.frameBytes)} frame), so chunks of at most ${fit} numbers, which makes ${chunks} chunks, more than the ${MAX_CHUNKS} a job may have: narrow --start/--end`,
      );
    }
    return {
      storedBytes: total,
      ...(fit < asked ? { chunk: fit, note: `--chunk cut from ${asked} to ${fit}: each chunk's primes (about ${bytesText(listBytes(start, asked))} for ${asked} numbers) must fit ${bytesText(budget)}` } : {}),
    };
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
    // the list must be what the (plausible) summary says: same count, first, last and largest gap
    check(_params, start, end, s, output) {
      const f = primeListFacts(start, end, output);
      const sum = s as { c: number; f: string | null; l: string | null; g: [string, string] | null };
      if (f.count !== sum.c) badOutput(`${f.count} primes listed, the summary counts ${sum.c}`);
      if (String(f.first) !== String(sum.f) || String(f.last) !== String(sum.l)) badOutput(`listed ${String(f.first)}..${String(f.last)}, the summary says ${String(sum.f)}..${String(sum.l)}`);
      const g = f.gap ? [f.gap.gap.toString(), f.gap.after.toString()] : null;
      if (JSON.stringify(g) !== JSON.stringify(sum.g)) badOutput(`the listed largest gap ${JSON.stringify(g)} is not the summary's ${JSON.stringify(sum.g)}`);
    },
  },
});

import { parentPort } from 'node:worker_threads';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
// the Life kernels only (the kernels' index would also load the primes and collatz ones)
import { LifeStrip, parseRle, parseRule, patternRow, pieceDeflateLevel, randomRow, simdAvailable, type LifeRule } from '../kernels/life/index.js';
import type { LifeMessage, MessageOf } from '../protocol/index.js';

/**
 * One part (strip) of a distributed Life job, in its own thread: the strip stays here between steps,
 * as bits, and only halo rows, population samples and checkpoints leave. Messages in are the head's
 * `life-*` frames, messages out are frames for the head (worker/life-parts.ts routes both ways).
 */
const port = parentPort;
if (!port) throw new Error('life-part-thread must run in a worker thread');

/** Raw rows per checkpoint piece (deflated, one frame each). */
const PIECE_BYTES = 2 << 20;
/** BRAMBLE_FIXTURE_SLOW (with BRAMBLE_FIXTURES=1): a machine this many times slower, for tests. */
const SLOW = process.env['BRAMBLE_FIXTURES'] === '1' ? Math.max(1, Number(process.env['BRAMBLE_FIXTURE_SLOW'] ?? 1)) : 1;

let load: MessageOf<'life-load'> | null = null;
let strip: LifeStrip | null = null;
let rule: LifeRule | null = null;
let k = 0;

function words(data: Uint8Array): Uint32Array<ArrayBuffer> {
  const copy = new Uint8Array(data.length);
  copy.set(data);
  return new Uint32Array(copy.buffer, 0, data.length >>> 2);
}

function bytes(w: Uint32Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(w.buffer as ArrayBuffer, w.byteOffset, w.byteLength);
}

function send(m: LifeMessage): void {
  port?.postMessage(m);
}

function edge(gen: number, samples: [number, number][], ms: number, count: boolean, preview?: Uint8Array<ArrayBuffer>): void {
  if (!load || !strip) return;
  const n = Math.min(k, load.rows);
  send({
    type: 'life-edge',
    job: load.job,
    part: load.part,
    epoch: load.epoch,
    gen,
    top: bytes(strip.innerRows(0, n)),
    bottom: bytes(strip.innerRows(load.rows - n, n)),
    ...(count ? { pop: samples.find(([g]) => g === gen)?.[1] ?? strip.population() } : {}),
    samples,
    ms,
    ...(preview ? { preview } : {}),
  });
}

function handle(m: LifeMessage): void {
  switch (m.type) {
    case 'life-load': {
      load = m;
      rule = parseRule(m.rule);
      k = Math.max(m.kt, m.kb);
      strip = new LifeStrip({ width: m.width, height: m.height, torus: m.torus, y0: m.y0, rows: m.rows, kt: m.kt, kb: m.kb });
      if (m.init === 'random') {
        const density = m.density ?? 0.5;
        const seed = m.seed ?? 1;
        strip.fill((y, out) => randomRow(m.width, y, density, seed, out));
      } else if (m.init === 'pattern') {
        // heads before issue 16 sent the pattern itself; they now send its rows, cut once ('rows')
        const p = parseRle(m.pattern ?? '');
        strip.fill((y, out) => patternRow(m.width, m.height, p, y, out));
      }
      if (m.init !== 'rows') edge(m.gen, [[m.gen, strip.population()]], 0, true);
      break;
    }
    case 'life-rows': {
      if (!strip || !load || m.epoch !== load.epoch) return;
      strip.setRows(m.y, m.n, words(inflateRawSync(m.data)));
      if (m.last) edge(load.gen, [[load.gen, strip.population()]], 0, true);
      break;
    }
    case 'life-step': {
      if (!strip || !load || !rule || m.epoch !== load.epoch) return;
      const t0 = performance.now();
      strip.setGhosts(m.above ? words(m.above) : null, m.below ? words(m.below) : null);
      const samples: [number, number][] = [];
      for (let i = 1; i <= m.n; i++) {
        strip.step(rule);
        if ((m.gen + i) % load.every === 0) samples.push([m.gen + i, strip.population()]);
      }
      let ms = performance.now() - t0;
      if (SLOW > 1) {
        // busy, as a slower CPU would be (a sleep of a fraction of a millisecond is not that precise),
        // and it reports SLOW times its compute: on loaded cores the spin itself is preempted and
        // overshoots, which made this "4x slower" machine report 6-10x
        const until = t0 + ms * SLOW;
        while (performance.now() < until);
        ms *= SLOW;
      }
      edge(m.gen + m.n, samples, ms, m.count === true || m.preview !== undefined || (m.gen + m.n) % load.every === 0, m.preview ? strip.preview(m.preview.cols, m.preview.rows) : undefined);
      break;
    }
    case 'life-save': {
      if (!strip || !load || m.epoch !== load.epoch) return;
      const per = Math.max(1, Math.floor(PIECE_BYTES / (strip.rowWords * 4)));
      for (let r = 0; r < load.rows; r += per) {
        const n = Math.min(per, load.rows - r);
        const rows = strip.innerRows(r, n);
        const data = deflateRawSync(bytes(rows), { level: pieceDeflateLevel(rows) });
        send({ type: 'life-rows', job: load.job, part: load.part, epoch: load.epoch, gen: m.gen, y: load.y0 + r, n, data, last: r + n >= load.rows });
      }
      break;
    }
    default:
      break;
  }
}

// Conway's kernel (its rule circuit and WebAssembly) made now, while the head reads the pattern and
// cuts it: the first strip loaded here would otherwise wait for it (~9 ms of a 2048 x 2048 run's 250)
simdAvailable();
port.on('message', (m: LifeMessage) => {
  try {
    handle(m);
  } catch (err) {
    if ('part' in m && typeof m.part === 'number' && 'epoch' in m) {
      send({ type: 'life-error', job: m.job, part: m.part, epoch: m.epoch, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    }
  }
});

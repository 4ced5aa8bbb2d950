/**
 * The fast path of RLE reading: the runs after the header, in WebAssembly (a 2048 x 2048 soup, 3 MB of
 * RLE, in 12 ms warm / 21 ms cold instead of 30 / 41 ms of JavaScript; what `bramble run life --pattern` waits for before
 * the first generation). It reads valid bodies only: on anything else (an error, a '#' comment among
 * the runs, a byte outside ASCII, a count of more than 10^8) it answers null and the JavaScript parser
 * (rle.ts) reads the text again, with its exact error and line and column.
 */
import { assemble, T, w } from './primes/asm.js';
import { popcountFunction } from './life/popcount-kernel.js';
import { wasmApi, type WasmApi, type WasmMemory, type WasmModule } from './wasm/module.js';

/** Memory: bytes 8-15 a scratch word, 16-55 the loop's state, the byte classes at TABLE, the body at IN. */
const SCRATCH = 8;
const TABLE = 64;
const IN = TABLE + 256;
const MAX_COUNT = 100_000_000;
const CALL_BYTES = 1 << 16;
const LIMIT = 0x3fffffff;
/** Byte classes: digits, dead cells (b .), live cells (o), and everything else (the slow path). */
const DIGIT = 0;
const DEAD = 1;
const LIVE = 2;
const OTHER = 3;
const CLASSES = (() => {
  const t = new Uint8Array(256).fill(OTHER);
  for (let c = 48; c <= 57; c++) t[c] = DIGIT;
  t[98] = DEAD;
  t[46] = DEAD;
  t[111] = LIVE;
  return t;
})();

// params
const P = 0; // read position
const END = 1; // end of input
const OUT = 2; // address of the first row's words
const RW = 3; // words per row
const WIDTH = 4;
const HEIGHT = 5;
// locals
const CH = 6;
const COUNT = 7;
const HAS = 8; // 1 when a count is pending
const X = 9;
const Y = 10;
const BASE = 11; // address of row y's words
const RUN = 12;
const W0 = 13;
const W1 = 14;
const X1 = 15;
const CLS = 16;
const WEFF = 17; // the width while y is inside the pattern, else 0 (every live run takes the slow path)
const IS_DIG = 18;
const WADDR = 19; // the word that bits of x go to (or SCRATCH where x is outside the pattern)
const F = 20;
const ACC = 21; // i64: that word and the next, as the fast path builds them
const LOCALS = [...Array(15).fill(T.i32), T.i64];

const FALLBACK = w.ret(w.i32(1));

/** The slow path's run: the pending count, or 1 without one; a count of 0 falls back (the JS parser names it). */
const takeRun = [
  w.if(w.get(HAS), [w.if(w.eqz(w.get(COUNT)), [FALLBACK]), w.set(RUN, w.get(COUNT))], [w.set(RUN, w.i32(1))]),
  w.set(COUNT, w.i32(0)),
  w.set(HAS, w.i32(0)),
];

const word = (i: number) => w.add(w.get(BASE), w.shl(w.get(i), w.i32(2)));
const hiMask = w.shrU(w.i32(-1), w.sub(w.i32(31), w.and(w.sub(w.get(X1), w.i32(1)), w.i32(31))));

/** One byte the fast path does not take: any run of cells, a row end, blanks, the end mark; else fall back. */
const slowPath = w.block(
  w.if(w.eq(w.get(CH), w.i32(111)), [
    ...takeRun,
    w.set(X1, w.add(w.get(X), w.get(RUN))),
    w.if(w.geS(w.get(Y), w.get(HEIGHT)), [FALLBACK]),
    w.if(w.gtS(w.get(X1), w.get(WIDTH)), [FALLBACK]),
    w.set(W0, w.shrU(w.get(X), w.i32(5))),
    w.set(W1, w.shrU(w.sub(w.get(X1), w.i32(1)), w.i32(5))),
    w.if(
      w.eq(w.get(W0), w.get(W1)),
      [w.store(word(W0), w.or(w.load(word(W0)), w.and(w.shl(w.i32(-1), w.get(X)), hiMask)))],
      [
        w.store(word(W0), w.or(w.load(word(W0)), w.shl(w.i32(-1), w.get(X)))),
        w.set(W0, w.add(w.get(W0), w.i32(1))),
        w.block(w.loop(w.brIf(1, w.geU(w.get(W0), w.get(W1))), w.store(word(W0), w.i32(-1)), w.set(W0, w.add(w.get(W0), w.i32(1))), w.br(0))),
        w.store(word(W1), w.or(w.load(word(W1)), hiMask)),
      ],
    ),
    w.set(X, w.get(X1)),
    w.br(1),
  ]),
  w.if(w.eq(w.get(CLS), w.i32(DEAD)), [...takeRun, w.set(X, w.add(w.get(X), w.get(RUN))), w.if(w.gtU(w.get(X), w.i32(LIMIT)), [FALLBACK]), w.br(1)]),
  w.if(w.eq(w.get(CH), w.i32(36)), [
    ...takeRun,
    w.set(Y, w.add(w.get(Y), w.get(RUN))),
    w.if(w.gtU(w.get(Y), w.i32(LIMIT)), [FALLBACK]),
    w.set(X, w.i32(0)),
    w.set(BASE, w.add(w.get(OUT), w.shl(w.mul(w.get(Y), w.get(RW)), w.i32(2)))),
    w.set(WEFF, w.select(w.get(WIDTH), w.i32(0), w.ltS(w.get(Y), w.get(HEIGHT)))),
    w.br(1),
  ]),
  w.brIf(0, w.eq(w.get(CH), w.i32(10))),
  w.brIf(0, w.eq(w.get(CH), w.i32(13))),
  w.brIf(0, w.eq(w.get(CH), w.i32(32))),
  w.brIf(0, w.eq(w.get(CH), w.i32(9))),
  // !: the end (its count, if any, must not be 0); anything else is the JavaScript parser's to explain
  w.if(w.ne(w.get(CH), w.i32(33)), [FALLBACK]),
  ...takeRun,
  w.ret(w.i32(2)), // the end mark: done (the pair's low word was stored before the slow path)
);

/** After the slow path: the word pair of x from memory (SCRATCH where x is outside the pattern). */
const window = [
  w.if(
    w.and(w.ltS(w.get(Y), w.get(HEIGHT)), w.ltS(w.get(X), w.get(WIDTH))),
    [w.set(WADDR, w.add(w.get(BASE), w.shl(w.shrU(w.get(X), w.i32(5)), w.i32(2)))), w.set(ACC, w.i64ExtendU(w.load(w.get(WADDR))))],
    [w.set(WADDR, w.i32(SCRATCH)), w.set(ACC, w.i64(0))],
  ),
];

/** The slow path for this byte, between storing the word pair's low word and reading the window again. */
const slow = [w.store(w.get(WADDR), w.wrap(w.get(ACC))), slowPath, ...window, w.br(1)];

/** The loop's state between calls, in memory at these addresses (a call reads up to CALL_BYTES). */
const S_HAS = 20;
const S_BASE = 32;
const S_WEFF = 36;
const S_WADDR = 40;
const S_ACC = 48;
const STATE: [number, number][] = [
  [COUNT, 16],
  [HAS, S_HAS],
  [X, 24],
  [Y, 28],
  [BASE, S_BASE],
  [WEFF, S_WEFF],
  [WADDR, S_WADDR],
];

const body = [
  ...STATE.map(([l, at]) => w.set(l, w.load(w.i32(at)))),
  w.set(ACC, w.load64(w.i32(S_ACC))),
  w.block(
    w.loop(
      w.brIf(1, w.geU(w.get(P), w.get(END))),
      w.set(CH, w.load8(w.get(P))),
      w.set(P, w.add(w.get(P), w.i32(1))),
      w.set(CLS, w.load8(w.get(CH), TABLE)),
      w.if(w.eq(w.get(CLS), w.i32(OTHER)), slow),
      // digits and short runs of b, . and o without a branch on which it is (a random soup's bytes are
      // unpredictable): a digit extends the count; a run moves x and ORs its cells into the word pair
      // kept in ACC, whose low word is stored every step (stores only: no load of a word just stored)
      w.set(IS_DIG, w.eqz(w.get(CLS))),
      // (masks, not select: V8 may compile a select to a branch; few locals: the loop's stay in registers)
      w.set(RUN, w.add(w.get(COUNT), w.xor(w.get(HAS), w.i32(1)))),
      w.if(w.and(w.eqz(w.get(IS_DIG)), w.or(w.or(w.gtU(w.get(RUN), w.i32(32)), w.gtU(w.add(w.get(X), w.get(RUN)), w.get(WEFF))), w.and(w.get(HAS), w.eqz(w.get(COUNT))))), slow),
      w.set(COUNT, w.and(w.add(w.mul(w.get(COUNT), w.i32(10)), w.sub(w.get(CH), w.i32(48))), w.sub(w.i32(0), w.get(IS_DIG)))),
      w.if(w.gtU(w.get(COUNT), w.i32(MAX_COUNT)), [FALLBACK]),
      w.set(HAS, w.get(IS_DIG)),
      // live (class 2): the run's cells into the pair
      w.set(
        ACC,
        w.i64Or(
          w.get(ACC),
          w.i64And(
            w.i64Shl(w.i64Sub(w.i64Shl(w.i64(1), w.i64ExtendU(w.get(RUN))), w.i64(1)), w.i64ExtendU(w.and(w.get(X), w.i32(31)))),
            w.i64Sub(w.i64(0), w.i64ExtendU(w.shrU(w.get(CLS), w.i32(1)))),
          ),
        ),
      ),
      w.store(w.get(WADDR), w.wrap(w.get(ACC))),
      // a run moves x (a digit does not); crossing into the next word moves the pair on by a word
      w.set(X1, w.add(w.get(X), w.and(w.get(RUN), w.sub(w.get(IS_DIG), w.i32(1))))),
      w.set(F, w.sub(w.shrU(w.get(X1), w.i32(5)), w.shrU(w.get(X), w.i32(5)))),
      w.set(ACC, w.i64ShrU(w.get(ACC), w.i64ExtendU(w.shl(w.get(F), w.i32(5))))),
      w.set(WADDR, w.add(w.get(WADDR), w.shl(w.get(F), w.i32(2)))),
      w.set(X, w.get(X1)),
      w.br(0),
    ),
  ),
  // the end of this call's bytes: the state kept for the next
  w.store(w.get(WADDR), w.wrap(w.get(ACC))),
  ...STATE.map(([l, at]) => w.store(w.i32(at), w.get(l))),
  w.store64(w.i32(S_ACC), w.get(ACC)),
  w.i32(0),
];

type Exports = Record<'runs', (...a: number[]) => number>;
/** The compiled module; null once compiling failed (the JavaScript parser reads every pattern then). */
let module: WasmModule | null | undefined;

function instance(api: WasmApi, mem: WasmMemory): Exports | null {
  if (module === undefined) {
    try {
      module = new api.Module(assemble([{ name: 'runs', params: [T.i32, T.i32, T.i32, T.i32, T.i32, T.i32], results: [T.i32], locals: LOCALS, body }], 1, 65536));
    } catch {
      module = null;
    }
  }
  return module === null ? null : (new api.Instance(module, { env: { mem } }).exports as Exports);
}

/**
 * The live cells of the runs in `body` (the text after the header) for a width x height pattern, as
 * rle.ts lays them out, and their number; null where the JavaScript parser must read it.
 */
export function readRunsFast(body: string, width: number, height: number): { bits: Uint32Array; population: number } | null {
  const api = wasmApi();
  if (!api || body.length > LIMIT) return null;
  const rw = Math.ceil(width / 32);
  const out = Math.ceil((IN + body.length + 64) / 64) * 64;
  const bytes = out + rw * height * 4;
  if (bytes > 2 ** 31) return null;
  // + 8: a row that ends on a word boundary moves the pair on past its end, and its low word (0) is
  // stored there: on the last row, past the rows
  const mem = new api.Memory({ initial: Math.ceil((bytes + 8) / 65536), maximum: 65536 });
  new Uint8Array(mem.buffer).set(CLASSES, TABLE);
  // UTF-8: a character outside ASCII becomes bytes the loop refuses, never a run
  const { read, written } = new TextEncoder().encodeInto(body, new Uint8Array(mem.buffer, IN, body.length));
  if (read !== body.length) return null;
  const x = instance(api, mem);
  const popcount = popcountFunction(mem);
  if (x === null || popcount === null) return null;
  // the state before the first run: row 0, x 0, its first word (SCRATCH for an empty pattern)
  const i32 = new Int32Array(mem.buffer, 0, 16);
  i32[S_BASE / 4] = out;
  i32[S_WEFF / 4] = height > 0 ? width : 0;
  i32[S_WADDR / 4] = height > 0 && width > 0 ? out : SCRATCH;
  // in calls of CALL_BYTES: a long loop in one call would run all of it in V8's baseline code, while
  // between calls the optimised code it compiles meanwhile takes over
  let r = 0;
  for (let p = IN; r === 0 && p < IN + written; p += CALL_BYTES) r = x.runs(p, Math.min(p + CALL_BYTES, IN + written), out, rw, width, height);
  // a fallback, or a count with no state after it at the end
  if (r === 1 || (r === 0 && i32[S_HAS / 4] !== 0)) return null;
  return { bits: new Uint32Array(mem.buffer.slice(out, bytes)), population: popcount(out, rw * 4, rw >>> 1, rw & 1, height) };
}

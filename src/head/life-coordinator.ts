import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Clock, JobRecord, Ledger, LedgerEvent } from '../core/index.js';
import { ConflictError, InputError, TERMINAL_STATES } from '../core/index.js';
import { patternRow, pieceDeflateLevel, RleRowWriter } from '../kernels/index.js';
import type { LifeMessage, MessageOf } from '../protocol/index.js';
import type { JobInput } from '../tasks/index.js';
import { DEFAULT_FRAME_BYTES, getTask, isPatternRef, lifeMaxHalo, parsePattern, patternRef } from '../tasks/index.js';
import type { HeadEvents } from './head-events.js';
import type { ResultBatcher, ResultSink } from './result-batcher.js';

/**
 * Distributed Life (issue 14): a Life job is not cut into chunks; its grid is cut into horizontal
 * strips, one per part, held by worker slots (worker/life-parts.ts) as bits. The coordinator runs the
 * job in rounds: every part advances n <= k generations on its own (ghost zones k rows deep), sends its
 * first and last k rows here, and the head relays them to the neighbours with the next step. Every
 * `checkpointEvery` generations the parts send their rows (deflated) and the head appends them to a
 * checkpoint file on disk; it never holds the grid. A lost worker (or a head restart) rolls every part
 * back to the last checkpoint, over the workers still there, and the generations since are computed
 * again: Life is deterministic, so the final grid is exact. Strips are sized by each node's measured
 * speed, rebalanced at checkpoints. See docs/architecture.md, "Distributed Life".
 */

/** What the coordinator needs of the worker sessions (head/worker-sessions.ts implements it). */
export interface LifeLinks {
  /** Connected native workers. */
  peers(): { id: string; name: string; slots: number; memFree: number | null }[];
  send(id: string, m: LifeMessage): boolean;
  /** Bytes waiting in the connection's send buffer (for backpressure while streaming a checkpoint). */
  bufferedBytes(id: string): number;
}

/** Events from the worker sessions. */
export interface LifeListener {
  joined(id: string): void;
  left(id: string): void;
  message(id: string, m: LifeMessage): void;
}

export interface LifeCoordinatorOptions {
  clock: Clock;
  ledger: Ledger;
  events: HeadEvents;
  batcher: () => ResultBatcher;
  links: LifeLinks;
  /** Where checkpoints live (DATA/life): one folder per job. */
  dir: string;
  /** The worker link's frame limit: halos are never deeper than a frame can carry (default 16 MiB). */
  frameBytes?: number;
}

interface LifeParams {
  width: number;
  height: number;
  generations: number;
  rule: string;
  bounded: boolean;
  density: number | null;
  seed: number;
  pattern: string | null;
  parts: number | null;
  halo: number | null;
  checkpointEvery: number | null;
}

interface Part {
  node: string;
  y0: number;
  rows: number;
  kt: number;
  kb: number;
  edge: MessageOf<'life-edge'> | null;
  /** No step timed yet since the load. */
  firstStep: boolean;
  /** When it was rebuilt after its node was lost (0: not), for the live view's flash. */
  rebuilt: number;
}

interface CheckpointRecord {
  y: number;
  n: number;
  off: number;
  len: number;
}

interface Manifest {
  gen: number;
  file: string;
  records: CheckpointRecord[];
  /** Population at each sampled generation up to `gen`. */
  samples: [number, number][];
}

type RunState = 'waiting' | 'loading' | 'running' | 'saving' | 'finishing' | 'done';

interface Saving {
  gen: number;
  part: number;
  fd: number;
  off: number;
  records: CheckpointRecord[];
  file: string;
}

interface LifeRun {
  job: JobRecord;
  p: LifeParams;
  dir: string;
  token: string | null;
  state: RunState;
  epoch: number;
  n: number;
  /** Halo depth of the current cut (0: no cut yet; the first is firstHalo unless --halo). */
  k: number;
  every: number;
  checkpointEvery: number;
  parts: Part[];
  gen: number;
  ckpt: Manifest | null;
  /** Per-part populations of sampled generations not yet reported by every part. */
  samples: Map<number, (number | null)[]>;
  /** Whole-grid population at each sampled generation. */
  pops: Map<number, number>;
  saving: Saving | null;
  /** Cells per ms per part, by node, from the steps since the last layout. */
  speed: Map<string, number>;
  roundAt: number;
  roundMs: number[];
  computeMs: number[];
  previewAt: number;
  /** When the live view last asked for a frame. */
  watchedAt: number;
  preview: (Uint8Array | null)[];
  lastLostAt: number | null;
  startedAt: number;
  genSamples: { t: number; gen: number }[];
  startTimer: NodeJS.Timeout | null;
  /** Population at the last round where every part counted it. */
  lastPop: number | null;
  /** When the first step of the current cut was sent (null: none yet), and the seconds since, to the last round. */
  firstStepAt: number | null;
  stepSeconds: number;
}

const PREVIEW_COLS = 256;
const PREVIEW_ROWS = 256;
const MAX_BUFFERED = 8 << 20;
/** Raw rows per piece of the first checkpoint of a pattern job (the parts save pieces of the same size). */
const PIECE_BYTES = 2 << 20;
/** How long the live view flashes a strip rebuilt after its node was lost. */
const FLASH_MS = 5000;

function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}

/**
 * The halo depth of a job's first cut, before any round is timed: a sixteenth of a strip's rows (the
 * ghost rows add at most 1/8 to the compute), 8 to 64. Stepping a row is ~0.1 us and a round through
 * the head milliseconds, so deep halos pay; the measured rounds then choose k (rebalanceWanted).
 */
export function firstHalo(height: number, parts: number): number {
  return Math.max(8, Math.min(64, Math.floor(height / parts / 16)));
}

/** Bytes of worker memory a strip layout of this grid needs (two buffers of bits, ghost rows, thread). */
export function lifeMemoryBytes(width: number, height: number, parts: number, k: number): number {
  const rowBytes = 16 * (Math.ceil(width / 128) + 2);
  return 2 * rowBytes * (height + parts * (2 * k + 2)) + parts * 16 * 1024 * 1024;
}

export class LifeCoordinator implements LifeListener {
  private readonly runs = new Map<string, LifeRun>();
  readonly workerId = 'life-coordinator';

  /** Patterns by hash (DATA/life/patterns/HEX.rle): each stored once, until its jobs have their first checkpoint. */
  private readonly patternDir: string;
  /** The pattern admitted last, until its job's first checkpoint is cut (one at most: the file is the store). */
  private admitted: { ref: string; text: string } | null = null;

  constructor(private readonly o: LifeCoordinatorOptions) {
    o.ledger.registerWorker(this.workerId, 1, { helper: true });
    mkdirSync(o.dir, { recursive: true });
    this.patternDir = path.join(o.dir, 'patterns');
    mkdirSync(this.patternDir, { recursive: true });
    // a head restart: every unfinished Life job resumes from its last checkpoint
    for (const job of o.ledger.activeJobs()) if (this.owns(job)) this.adopt(job);
    // patterns no unfinished job still starts from (stored by a submit that did not commit, say)
    for (const f of readdirSync(this.patternDir)) {
      const ref = `sha256:${f.replace(/\.rle(\.tmp-\d+)?$/, '')}`;
      if (f.includes('.tmp-') || !this.patternWanted(ref)) rmSync(path.join(this.patternDir, f), { force: true });
    }
  }

  /** Deletes the pattern `admit` stored for this input unless a job still starts from it (or is about to: call after adopt). */
  releasePattern(input: JobInput): void {
    const ref = input.params?.['pattern'];
    if (typeof ref !== 'string' || !isPatternRef(ref) || this.patternWanted(ref)) return;
    if (this.o.ledger.activeJobs().some((j) => this.owns(j) && (j.params as unknown as LifeParams).pattern === ref && !this.runs.has(j.id))) return;
    rmSync(this.patternFile(ref), { force: true });
    if (this.admitted?.ref === ref) this.admitted = null;
  }

  private patternFile(ref: string): string {
    return path.join(this.patternDir, `${ref.slice('sha256:'.length)}.rle`);
  }

  /** Whether a job still needs this pattern: one of its jobs has no checkpoint yet. */
  private patternWanted(ref: string): boolean {
    for (const run of this.runs.values()) if (run.p.pattern === ref && run.ckpt === null && run.state !== 'done') return true;
    return false;
  }

  /**
   * A Life job as the head stores it: the pattern checked (its text, or the text the head stores under
   * a `sha256:` reference), stored once by its hash, and replaced by that reference; the grid checked
   * against the connected workers' memory. The journal, the job list and the strips' loads then carry
   * the 71-character reference, never the RLE text (which can be MiBs).
   */
  admit(input: JobInput): JobInput {
    const task = getTask(input.task);
    const raw = input.params?.['pattern'];
    let text = raw;
    if (typeof raw === 'string' && isPatternRef(raw)) {
      try {
        text = readFileSync(this.patternFile(raw), 'utf8');
      } catch {
        throw new InputError('--pattern', `--pattern ${raw} is not a pattern this head stores (send the RLE text)`);
      }
    }
    const params = task.params({ ...input.params, ...(text === undefined ? {} : { pattern: text }) });
    this.check(params);
    if (typeof text !== 'string') return input;
    const ref = patternRef(text);
    this.admitted = { ref, text };
    const file = this.patternFile(ref);
    if (!existsSync(file)) {
      const tmp = `${file}.tmp-${process.pid}`;
      writeFileSync(tmp, text);
      renameSync(tmp, file);
    }
    return { ...input, params: { ...input.params, pattern: ref } };
  }

  /** Whether this job is run by the coordinator (its task says so), not leased chunk by chunk. */
  owns(job: JobRecord): boolean {
    return getTask(job.task).coordinator === 'life-strips';
  }

  ownsId(id: string): boolean {
    try {
      return this.owns(this.o.ledger.getJob(id));
    } catch {
      return false;
    }
  }

  /** Refuses a job the connected workers cannot hold, saying how much memory it needs. */
  check(params: Record<string, unknown>): void {
    const p = params as unknown as LifeParams;
    const peers = this.o.links.peers();
    const free = peers.reduce((a, x) => a + (x.memFree ?? 0), 0);
    if (peers.length === 0 || peers.some((x) => x.memFree === null)) return;
    const n = p.parts ?? Math.max(1, peers.reduce((a, x) => a + x.slots, 0));
    const need = lifeMemoryBytes(p.width, p.height, n, p.halo ?? firstHalo(p.height, n));
    if (need > free) {
      const mib = (b: number): string => `${Math.ceil(b / 2 ** 20)} MiB`;
      throw new InputError('--size', `--size ${p.width}x${p.height} needs about ${mib(need)} of worker memory in ${n} strip(s); the ${peers.length} connected worker(s) have ${mib(free)} free`);
    }
  }

  /** A job was submitted: lease its one chunk (the coordinator is its worker) and start when slots are there. */
  adopt(job: JobRecord): void {
    if (this.runs.has(job.id)) return;
    const p = job.params as unknown as LifeParams;
    const dir = path.join(this.o.dir, job.id);
    mkdirSync(dir, { recursive: true });
    let ckpt: Manifest | null;
    try {
      ckpt = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    } catch {
      ckpt = null;
    }
    const run: LifeRun = {
      job,
      p,
      dir,
      token: null,
      state: 'waiting',
      epoch: 0,
      n: 0,
      k: p.halo ?? 0,
      every: Math.max(1, Math.ceil(p.generations / 500)),
      checkpointEvery: p.checkpointEvery ?? 0,
      parts: [],
      gen: ckpt?.gen ?? 0,
      ckpt,
      samples: new Map(),
      pops: new Map(ckpt?.samples ?? []),
      saving: null,
      speed: new Map(),
      roundAt: 0,
      roundMs: [],
      computeMs: [],
      previewAt: 0,
      watchedAt: 0,
      preview: [],
      lastLostAt: null,
      startedAt: this.o.clock.now(),
      genSamples: [],
      startTimer: null,
      lastPop: null,
      firstStepAt: null,
      stepSeconds: 0,
    };
    if (ckpt) {
      this.o.events.event('info', 'life', `job ${job.id}: resuming from the checkpoint at generation ${ckpt.gen}`, { job: job.id });
    }
    this.runs.set(job.id, run);
    this.leaseChunk(run);
    this.scheduleStart(run, this.slotsReady(run) ? 0 : 300);
  }

  /** A job that names its strips (--parts; `bramble run` names its --workers) and has their slots connected need not wait for more workers. */
  private slotsReady(run: LifeRun): boolean {
    const wanted = run.p.parts;
    return wanted !== null && this.o.links.peers().reduce((a, x) => a + Math.max(1, x.slots), 0) >= wanted;
  }

  private leaseChunk(run: LifeRun): void {
    if (run.token !== null) return;
    const a = this.o.ledger.lease(this.workerId, 1, (j) => j.id === run.job.id);
    if (a[0]) run.token = a[0].token;
  }

  /** Keeps the coordinator's lease of each job's chunk alive (called on the head's tick). */
  tick(): void {
    this.o.ledger.heartbeat(this.workerId);
    for (const run of this.runs.values()) if (run.token === null && run.state !== 'done') this.leaseChunk(run);
  }

  onLedger(e: LedgerEvent): void {
    if (e.type !== 'job-state') return;
    const run = this.runs.get(e.job.id);
    if (!run) return;
    if (e.job.state === 'cancelled' || (TERMINAL_STATES.has(e.job.state) && run.state !== 'done')) this.stop(run, e.job.state);
  }

  private stop(run: LifeRun, why: string): void {
    if (run.startTimer) clearTimeout(run.startTimer);
    this.abortSave(run);
    this.dropParts(run);
    run.state = 'done';
    this.runs.delete(run.job.id);
    const ref = run.p.pattern;
    if (ref !== null && isPatternRef(ref) && !this.patternWanted(ref)) {
      rmSync(this.patternFile(ref), { force: true });
      if (this.admitted?.ref === ref) this.admitted = null;
    }
    this.o.events.event('info', 'life', `job ${run.job.id}: stopped (${why})`, { job: run.job.id });
  }

  /** Fails the job for good (every attempt of its one chunk: another try would fail the same way). */
  private failJob(run: LifeRun, msg: string): void {
    for (let i = 0; i < run.job.maxAttempts && run.token !== null; i++) {
      const token = run.token;
      run.token = null;
      this.o.ledger.fail(this.workerId, token, msg);
      if (this.runs.has(run.job.id)) this.leaseChunk(run);
    }
    if (this.runs.has(run.job.id)) this.stop(run, 'failed');
  }

  private dropParts(run: LifeRun): void {
    for (const node of new Set(run.parts.map((x) => x.node))) this.o.links.send(node, { type: 'life-drop', job: run.job.id });
  }

  // ---- workers come and go ----

  joined(_id: string): void {
    for (const run of this.runs.values()) if (run.state === 'waiting') this.scheduleStart(run, this.slotsReady(run) ? 0 : 500);
  }

  left(id: string): void {
    for (const run of this.runs.values()) {
      if (run.state === 'waiting' || run.state === 'done') continue;
      const lost = run.parts.map((x, i) => (x.node === id ? i : -1)).filter((i) => i >= 0);
      if (lost.length === 0) continue;
      run.lastLostAt = this.o.clock.now();
      this.o.events.event('warn', 'life', `job ${run.job.id}: lost strip(s) ${lost.join(', ')} at generation ${run.gen}; rebuilding from the checkpoint at generation ${run.ckpt?.gen ?? 0}`, { job: run.job.id });
      this.relayout(run, new Set(lost));
    }
  }

  private scheduleStart(run: LifeRun, ms: number): void {
    if (run.startTimer) clearTimeout(run.startTimer);
    run.startTimer = setTimeout(() => {
      run.startTimer = null;
      if (run.state === 'waiting') this.relayout(run, new Set());
    }, ms);
    run.startTimer.unref();
  }

  /** Cuts the grid over the connected workers and loads every part from the last checkpoint (or the start). */
  private relayout(run: LifeRun, rebuilt: Set<number>): void {
    this.abortSave(run);
    const peers = this.o.links.peers();
    const oldParts = run.parts;
    run.epoch++;
    if (peers.length === 0) {
      run.state = 'waiting';
      run.parts = [];
      return;
    }
    const { p } = run;
    const totalSlots = peers.reduce((a, x) => a + Math.max(1, x.slots), 0);
    const n = run.n || Math.min(p.height, p.parts ?? totalSlots);
    run.n = n;
    // slots interleaved over nodes: node A slot 0, node B slot 0, A slot 1, ...; cycled when n > slots
    const order: string[] = [];
    const maxSlots = Math.max(...peers.map((x) => Math.max(1, x.slots)));
    for (let s = 0; s < maxSlots; s++) for (const x of peers) if (s < Math.max(1, x.slots)) order.push(x.id);
    const nodes = Array.from({ length: n }, (_, i) => order[i % order.length] as string);
    // rows in proportion to each node's measured speed per part (unmeasured: the median of the others, or 1)
    const known = [...run.speed.values()].sort((a, b) => a - b);
    const fallback = known.length ? (known[known.length >> 1] as number) : 1;
    const weights = nodes.map((id) => run.speed.get(id) ?? fallback);
    const sum = weights.reduce((a, b) => a + b, 0);
    // halos no deeper than a frame carries (admission refused a --halo deeper than that)
    const k0 = Math.max(1, Math.min(p.halo ?? (run.k > 0 ? run.k : firstHalo(p.height, n)), lifeMaxHalo(p.width, this.o.frameBytes ?? DEFAULT_FRAME_BYTES)));
    const minRows = Math.max(1, Math.min(k0, Math.floor(p.height / n)));
    // each part also computes its ghost rows: (rows + 2k) in proportion to speed
    const ghosts = 2 * k0;
    const rows = weights.map((w) => Math.max(minRows, Math.floor(((p.height + n * ghosts) * w) / sum) - ghosts));
    let excess = rows.reduce((a, b) => a + b, 0) - p.height;
    for (let i = 0; excess !== 0; i = (i + 1) % n) {
      if (excess > 0 && (rows[i] as number) > minRows) {
        rows[i] = (rows[i] as number) - 1;
        excess--;
      } else if (excess < 0) {
        rows[i] = (rows[i] as number) + 1;
        excess++;
      }
    }
    const k = n === 1 && p.bounded ? 0 : Math.max(1, Math.min(k0, ...rows));
    run.k = Math.max(1, k);
    let y = 0;
    run.parts = nodes.map((node, i) => {
      const r = rows[i] as number;
      const part: Part = {
        node,
        y0: y,
        rows: r,
        kt: p.bounded && i === 0 ? 0 : k,
        kb: p.bounded && i === n - 1 ? 0 : k,
        edge: null,
        firstStep: true,
        // a rebalance soon after a rebuild keeps the strip flashing for its whole FLASH_MS
        rebuilt: rebuilt.has(i) ? this.o.clock.now() : (oldParts[i]?.rebuilt ?? 0),
      };
      y += r;
      return part;
    });
    // a part that stays on its node keeps its thread (warm: its kernel compiled); the others are dropped
    oldParts.forEach((x, i) => {
      if (run.parts[i]?.node !== x.node) this.o.links.send(x.node, { type: 'life-drop', job: run.job.id, part: i });
    });
    run.preview = run.parts.map(() => null);
    run.gen = run.ckpt?.gen ?? 0;
    run.samples.clear();
    for (const g of [...run.pops.keys()]) if (g > run.gen) run.pops.delete(g);
    run.speed.clear();
    run.roundMs = [];
    run.computeMs = [];
    run.state = 'loading';
    void this.load(run, run.epoch).catch((err: unknown) => {
      this.o.events.event('error', 'life', `job ${run.job.id}: loading the strips failed: ${(err as Error).message}`, { job: run.job.id });
    });
  }

  /**
   * Generation 0 of a pattern job as a checkpoint file (the format of the parts' saves: deflated
   * pieces of whole rows), made from the stored pattern; pieces of empty rows are deflated once. The
   * head holds one piece at a time, never the grid.
   */
  private patternCheckpoint(run: LifeRun): void {
    const { p } = run;
    const ref = p.pattern as string;
    let text: string;
    try {
      // the text just admitted (`bramble run`: the string the CLI read and parsed), else the stored file
      text = this.admitted?.ref === ref ? this.admitted.text : readFileSync(this.patternFile(ref), 'utf8');
    } catch (err) {
      throw new Error(`the job's pattern ${ref} is missing from this head's data directory (${(err as Error).message})`, { cause: err });
    }
    const pattern = parsePattern(text);
    const rowWords = Math.ceil(p.width / 32);
    const per = Math.max(1, Math.floor(PIECE_BYTES / (rowWords * 4)));
    const piece = new Uint32Array(per * rowWords);
    const top = Math.floor((p.height - pattern.height) / 2);
    const empty = new Map<number, Buffer>();
    const file = 'ckpt-0.bin';
    const fd = openSync(path.join(run.dir, `${file}.tmp`), 'w');
    const records: CheckpointRecord[] = [];
    let off = 0;
    try {
      for (let y = 0; y < p.height; y += per) {
        const n = Math.min(per, p.height - y);
        const bytes = new Uint8Array(piece.buffer, 0, n * rowWords * 4);
        let data: Buffer;
        if (y + n <= top || y >= top + pattern.height) {
          data = empty.get(n) ?? deflateRawSync(new Uint8Array(n * rowWords * 4), { level: 1 });
          empty.set(n, data);
        } else {
          for (let r = 0; r < n; r++) patternRow(p.width, p.height, pattern, y + r, piece.subarray(r * rowWords, (r + 1) * rowWords));
          data = deflateRawSync(bytes, { level: pieceDeflateLevel(piece.subarray(0, n * rowWords)) });
        }
        writeSync(fd, data, 0, data.length, off);
        records.push({ y, n, off, len: data.length });
        off += data.length;
      }
    } finally {
      closeSync(fd);
    }
    renameSync(path.join(run.dir, `${file}.tmp`), path.join(run.dir, file));
    run.ckpt = { gen: 0, file, records, samples: [[0, pattern.population]] };
    run.pops.set(0, pattern.population);
    const tmp = path.join(run.dir, 'manifest.json.tmp');
    writeFileSync(tmp, JSON.stringify(run.ckpt));
    renameSync(tmp, path.join(run.dir, 'manifest.json'));
    if (!this.patternWanted(ref)) {
      rmSync(this.patternFile(ref), { force: true });
      if (this.admitted?.ref === ref) this.admitted = null;
    }
  }

  private loadMessage(run: LifeRun, i: number, init: 'random' | 'rows'): MessageOf<'life-load'> {
    const x = run.parts[i] as Part;
    const { p } = run;
    return {
      type: 'life-load',
      job: run.job.id,
      part: i,
      epoch: run.epoch,
      gen: run.gen,
      width: p.width,
      height: p.height,
      torus: !p.bounded,
      rule: p.rule,
      y0: x.y0,
      rows: x.rows,
      kt: x.kt,
      kb: x.kb,
      every: run.every,
      init,
      ...(init === 'random' ? { density: p.density ?? 0.5, seed: p.seed } : {}),
    };
  }

  /** Sends every part its rows: generated on the worker at generation 0, else streamed from the checkpoint file. */
  private async load(run: LifeRun, epoch: number): Promise<void> {
    const { p } = run;
    // a pattern is cut into the job's first checkpoint here, once: each strip then loads only its rows
    if (!run.ckpt && p.pattern !== null) {
      try {
        this.patternCheckpoint(run);
      } catch (err) {
        const msg = `the pattern could not be cut into strips: ${(err as Error).message}`;
        this.o.events.event('error', 'life', `job ${run.job.id}: ${msg}`, { job: run.job.id });
        this.failJob(run, msg);
        return;
      }
    }
    const ckpt = run.ckpt;
    if (!ckpt) {
      run.parts.forEach((x, i) => this.o.links.send(x.node, this.loadMessage(run, i, 'random')));
      return;
    }
    run.parts.forEach((x, i) => this.o.links.send(x.node, this.loadMessage(run, i, 'rows')));
    // held rows of each part as up to 3 intervals of grid rows (ghost rows wrap on a torus)
    const wanted = run.parts.map((x) => {
      const first = x.y0 - x.kt;
      const ext = x.kt + x.rows + x.kb;
      const out: [number, number][] = [];
      for (let j = 0; j < ext; ) {
        const gy = mod(first + j, p.height);
        const len = Math.min(ext - j, p.height - gy);
        out.push([gy, gy + len]);
        j += len;
      }
      return out;
    });
    const plan = run.parts.map((_, i) => ckpt.records.filter((r) => (wanted[i] as [number, number][]).some(([a, b]) => r.y < b && r.y + r.n > a)));
    const fd = openSync(path.join(run.dir, ckpt.file), 'r');
    try {
      for (let i = 0; i < run.parts.length; i++) {
        const recs = plan[i] as CheckpointRecord[];
        for (let r = 0; r < recs.length; r++) {
          if (run.epoch !== epoch) return;
          const rec = recs[r] as CheckpointRecord;
          const data = Buffer.allocUnsafe(rec.len);
          readSync(fd, data, 0, rec.len, rec.off);
          const x = run.parts[i] as Part;
          this.o.links.send(x.node, { type: 'life-rows', job: run.job.id, part: i, epoch, gen: ckpt.gen, y: rec.y, n: rec.n, data, last: r === recs.length - 1 });
          while (this.o.links.bufferedBytes(x.node) > MAX_BUFFERED && run.epoch === epoch) await new Promise((res) => setTimeout(res, 5));
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  // ---- rounds ----

  message(node: string, m: LifeMessage): void {
    const run = this.runs.get(m.job);
    if (!run || !('epoch' in m) || m.epoch !== run.epoch) return;
    const part = run.parts[m.part];
    if (!part || part.node !== node) return;
    switch (m.type) {
      case 'life-edge':
        this.onEdge(run, m.part, part, m);
        break;
      case 'life-rows':
        this.onRows(run, m.part, m);
        break;
      case 'life-error':
        this.o.events.event('error', 'life', `job ${run.job.id}: strip ${m.part} failed on its worker: ${m.error}`, { job: run.job.id });
        // the job fails with the strip's error (the run is stopped: a requeued chunk would wait for ever)
        this.failJob(run, `strip ${m.part} failed on its worker: ${m.error}`);
        break;
      default:
        break;
    }
  }

  private onEdge(run: LifeRun, i: number, part: Part, m: MessageOf<'life-edge'>): void {
    part.edge = m;
    const firstStep = part.firstStep;
    if (m.ms > 0) part.firstStep = false;
    for (const [g, pop] of m.samples) {
      let arr = run.samples.get(g);
      if (!arr) run.samples.set(g, (arr = run.parts.map(() => null)));
      arr[i] = pop;
      if (arr.every((v) => v !== null)) {
        run.pops.set(g, arr.reduce<number>((a, b) => a + (b as number), 0));
        run.samples.delete(g);
      }
    }
    if (m.preview) run.preview[i] = m.preview;
    // the first step after a load is not timed (a new thread compiles its kernel then)
    if (m.ms > 0 && !firstStep) {
      const cells = (part.rows + part.kt + part.kb) * run.p.width * ((m.gen - (run.gen ?? 0)) || 1);
      const speed = cells / m.ms;
      const old = run.speed.get(part.node);
      run.speed.set(part.node, old === undefined ? speed : 0.5 * old + 0.5 * speed);
      run.computeMs.push(m.ms);
    }
    if (!run.parts.every((x) => x.edge !== null && x.edge.gen === m.gen)) return;
    // every part is at generation m.gen
    const now = this.o.clock.now();
    if (run.roundAt > 0 && run.state === 'running') run.roundMs.push(now - run.roundAt);
    if (run.roundMs.length > 200) run.roundMs.splice(0, 100);
    if (run.computeMs.length > 400) run.computeMs.splice(0, 200);
    const loaded = run.state === 'loading';
    run.gen = m.gen;
    if (run.parts.every((x) => x.edge?.pop !== undefined)) run.lastPop = run.parts.reduce((a, x) => a + (x.edge?.pop ?? 0), 0);
    if (run.firstStepAt === null && !loaded) run.firstStepAt = run.roundAt;
    run.stepSeconds = run.firstStepAt === null ? 0 : (now - run.firstStepAt) / 1000;
    run.genSamples.push({ t: now, gen: run.gen });
    while (run.genSamples.length > 2 && now - (run.genSamples[0] as { t: number }).t > 5000) run.genSamples.shift();
    this.o.events.changed('jobs', run.job.id);
    run.state = 'running';
    const G = run.p.generations;
    if (run.gen >= G || (!loaded && this.checkpointDue(run))) {
      this.startSave(run);
      return;
    }
    this.step(run);
  }

  private checkpointDue(run: LifeRun): boolean {
    const C = this.checkpointInterval(run);
    return run.gen > (run.ckpt?.gen ?? 0) && run.gen % C === 0;
  }

  /** Generations between checkpoints: --checkpoint-every, else about 5 s of work at the measured rate (at least 16). */
  private checkpointInterval(run: LifeRun): number {
    if (run.p.checkpointEvery !== null) return run.p.checkpointEvery;
    if (run.checkpointEvery > 0) return run.checkpointEvery;
    const rate = this.gensPerSecond(run);
    if (rate === null || rate <= 0) return Math.max(16, Math.min(1000, run.p.generations));
    run.checkpointEvery = Math.max(16, Math.round(rate * 5 / 16) * 16);
    return run.checkpointEvery;
  }

  private step(run: LifeRun): void {
    const { p } = run;
    const C = this.checkpointInterval(run);
    const nextCkpt = (Math.floor(run.gen / C) + 1) * C;
    const n = Math.max(1, Math.min(run.k, p.generations - run.gen, nextCkpt - run.gen));
    const now = this.o.clock.now();
    // pictures only while someone watches (the live view polls frame()): they cost the workers time
    const preview = now - run.watchedAt < 2000 && now - run.previewAt >= 180;
    if (preview) run.previewAt = now;
    const N = run.parts.length;
    run.roundAt = now;
    run.parts.forEach((x, i) => {
      const up = run.parts[mod(i - 1, N)] as Part;
      const down = run.parts[mod(i + 1, N)] as Part;
      const msg: MessageOf<'life-step'> = {
        type: 'life-step',
        job: run.job.id,
        part: i,
        epoch: run.epoch,
        gen: run.gen,
        n,
        ...(run.gen + n >= p.generations ? { count: true } : {}),
        ...(x.kt > 0 && up.edge ? { above: up.edge.bottom } : {}),
        ...(x.kb > 0 && down.edge ? { below: down.edge.top } : {}),
        ...(preview ? { preview: { cols: Math.min(PREVIEW_COLS, p.width), rows: Math.max(1, Math.round((PREVIEW_ROWS * x.rows) / p.height)) } } : {}),
      };
      this.o.links.send(x.node, msg);
    });
  }

  // ---- checkpoints ----

  private startSave(run: LifeRun): void {
    run.state = run.gen >= run.p.generations ? 'finishing' : 'saving';
    const file = `ckpt-${run.gen}.bin`;
    const fd = openSync(path.join(run.dir, `${file}.tmp`), 'w');
    run.saving = { gen: run.gen, part: 0, fd, off: 0, records: [], file };
    this.requestSave(run);
  }

  private requestSave(run: LifeRun): void {
    const s = run.saving as Saving;
    const x = run.parts[s.part] as Part;
    this.o.links.send(x.node, { type: 'life-save', job: run.job.id, part: s.part, epoch: run.epoch, gen: s.gen });
  }

  private onRows(run: LifeRun, i: number, m: MessageOf<'life-rows'>): void {
    const s = run.saving;
    if (!s || s.part !== i || m.gen !== s.gen) return;
    writeSync(s.fd, m.data, 0, m.data.length, s.off);
    s.records.push({ y: m.y, n: m.n, off: s.off, len: m.data.length });
    s.off += m.data.length;
    if (!m.last) return;
    s.part++;
    if (s.part < run.parts.length) return this.requestSave(run);
    closeSync(s.fd);
    run.saving = null;
    renameSync(path.join(run.dir, `${s.file}.tmp`), path.join(run.dir, s.file));
    const samples = [...run.pops.entries()].filter(([g]) => g <= s.gen).sort((a, b) => a[0] - b[0]);
    const previous = run.ckpt;
    run.ckpt = { gen: s.gen, file: s.file, records: s.records, samples };
    const tmp = path.join(run.dir, 'manifest.json.tmp');
    writeFileSync(tmp, JSON.stringify(run.ckpt));
    renameSync(tmp, path.join(run.dir, 'manifest.json'));
    if (previous && previous.file !== s.file) rmSync(path.join(run.dir, previous.file), { force: true });
    if (run.state === 'finishing') return this.finish(run);
    // rebalance: strips sized by measured speed, k from measured times; reload only when it pays
    if (this.rebalanceWanted(run)) {
      this.o.events.event('info', 'life', `job ${run.job.id}: rebalancing strips at generation ${run.gen} (k=${run.k})`, { job: run.job.id });
      this.relayout(run, new Set());
      return;
    }
    run.state = 'running';
    this.step(run);
  }

  private abortSave(run: LifeRun): void {
    const s = run.saving;
    if (!s) return;
    run.saving = null;
    try {
      closeSync(s.fd);
    } catch {
      /* closed */
    }
    rmSync(path.join(run.dir, `${s.file}.tmp`), { force: true });
  }

  /** Whether another cut (rows by speed, or k) is worth a reload from the checkpoint just taken. */
  private rebalanceWanted(run: LifeRun): boolean {
    const { p } = run;
    if (p.halo === null) {
      // per generation: L/k for the round trip + (rows + 2k) rows of compute -> k = sqrt(L / (2 t_row))
      const rounds = [...run.roundMs].sort((a, b) => a - b);
      const comp = [...run.computeMs].sort((a, b) => a - b);
      if (rounds.length >= 4 && comp.length >= 4) {
        const L = Math.max(0.05, (rounds[rounds.length >> 1] as number) - (comp[comp.length >> 1] as number));
        const perRowGen = (comp[comp.length >> 1] as number) / Math.max(1, run.k) / Math.max(1, Math.max(...run.parts.map((x) => x.rows + x.kt + x.kb)));
        const best = Math.max(1, Math.min(256, lifeMaxHalo(p.width, this.o.frameBytes ?? DEFAULT_FRAME_BYTES), Math.round(Math.sqrt(L / (2 * Math.max(1e-6, perRowGen))))));
        if (best >= 2 * run.k || 2 * best <= run.k) {
          run.k = best;
          return true;
        }
      }
    }
    const peers = new Set(this.o.links.peers().map((x) => x.id));
    const nodes = new Set(run.parts.map((x) => x.node));
    // a worker that joined since the last cut gets strips
    if ([...peers].some((id) => !nodes.has(id)) && (p.parts === null || nodes.size < p.parts)) return true;
    const speeds = run.parts.map((x) => run.speed.get(x.node) ?? 0);
    if (speeds.some((v) => v <= 0)) return false;
    const sum = speeds.reduce((a, b) => a + b, 0);
    const ghosts = 2 * run.k;
    return run.parts.some((x, i) => Math.abs(x.rows - (((p.height + run.parts.length * ghosts) * (speeds[i] as number)) / sum - ghosts)) > 0.1 * x.rows + 1);
  }

  /** The last generation is saved: the job's one chunk is done with the population history as its summary. */
  private finish(run: LifeRun): void {
    run.state = 'done';
    this.dropParts(run);
    const ck = run.ckpt as Manifest;
    const byGen = new Map(ck.samples);
    const h: number[] = [];
    for (let g = 0; g < run.p.generations; g += run.every) h.push(byGen.get(g) ?? 0);
    const final = run.parts.reduce((a, x) => a + (x.edge?.pop ?? 0), 0);
    h.push(final);
    const token = run.token;
    this.runs.delete(run.job.id);
    if (token === null) return;
    const sink: ResultSink = {
      inHand: 0,
      ack: () => undefined,
      reject: (err) => this.o.events.event('error', 'life', `job ${run.job.id}: the result was refused: ${err.message}`, { job: run.job.id }),
    };
    this.o.batcher().push(sink, { token, jobId: run.job.id, index: 0, span: 1, worker: this.workerId, summary: { p: final, h, e: run.every }, output: null, ms: this.o.clock.now() - run.startedAt });
  }

  // ---- what users see ----

  private gensPerSecond(run: LifeRun): number | null {
    const s = run.genSamples;
    if (s.length < 2) return null;
    const a = s[0] as { t: number; gen: number };
    const b = s[s.length - 1] as { t: number; gen: number };
    return b.t > a.t ? ((b.gen - a.gen) * 1000) / (b.t - a.t) : null;
  }

  /** Median round time, compute time, and their difference: what one halo exchange through the head costs. */
  private exchange(run: LifeRun): { roundMs: number | null; computeMs: number | null; exchangeMs: number | null } {
    const med = (xs: number[]): number | null => (xs.length ? ([...xs].sort((a, b) => a - b)[xs.length >> 1] as number) : null);
    const r = med(run.roundMs);
    const c = med(run.computeMs);
    return { roundMs: r, computeMs: c, exchangeMs: r === null || c === null ? null : Math.max(0, r - c) };
  }

  /** `generation` and `parts` for `bramble status JOB --json`, plus rates and the population. */
  describe(id: string, nodeName: (id: string) => string): Record<string, unknown> | null {
    const run = this.runs.get(id);
    if (!run) {
      if (!this.ownsId(id)) return null;
      const job = this.o.ledger.getJob(id);
      const p = job.params as unknown as LifeParams;
      return job.state === 'done' ? { generation: p.generations, parts: [] } : { generation: 0, parts: [] };
    }
    const rate = this.gensPerSecond(run);
    const pop = run.parts.every((x) => x.edge && x.edge.gen === run.gen && x.edge.pop !== undefined) ? run.parts.reduce((a, x) => a + (x.edge?.pop ?? 0), 0) : (run.lastPop ?? null);
    return {
      generation: run.gen,
      lifeState: run.state,
      halo: run.k,
      checkpoint: run.ckpt?.gen ?? null,
      gensPerSecond: rate,
      cellsPerSecond: rate === null ? null : rate * run.p.width * run.p.height,
      population: pop,
      stepSeconds: run.stepSeconds,
      ...this.exchange(run),
      parts: run.parts.map((x, i) => ({ part: i, node: nodeName(x.node), nodeId: x.node, y0: x.y0, rows: x.rows, generation: x.edge?.gen ?? null })),
    };
  }

  /** The live view: a density map of the grid (one byte per block), strips with their nodes, the populations so far. */
  frame(id: string, nodeName: (id: string) => string): Record<string, unknown> | null {
    const run = this.runs.get(id);
    if (!run) return null;
    const now = this.o.clock.now();
    run.watchedAt = now;
    const pops = [...run.pops.entries()].sort((a, b) => a[0] - b[0]);
    return {
      width: run.p.width,
      height: run.p.height,
      generation: run.gen,
      generations: run.p.generations,
      gensPerSecond: this.gensPerSecond(run),
      cols: Math.min(PREVIEW_COLS, run.p.width),
      population: pops.slice(-500),
      parts: run.parts.map((x, i) => ({
        node: nodeName(x.node),
        nodeId: x.node,
        y0: x.y0,
        rows: x.rows,
        rebuilt: x.rebuilt > 0 && now - x.rebuilt < FLASH_MS,
        preview: run.preview[i] ? Buffer.from(run.preview[i] as Uint8Array).toString('base64') : null,
      })),
    };
  }

  /** Streams the final grid as RLE, row by row from the last checkpoint file (never one string). */
  async writeOutput(job: JobRecord, out: Writable): Promise<void> {
    const p = job.params as unknown as LifeParams;
    const dir = path.join(this.o.dir, job.id);
    const manifestFile = path.join(dir, 'manifest.json');
    if (!existsSync(manifestFile)) throw new ConflictError(`job ${job.id} has no final grid on this head`);
    const ck = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
    if (ck.gen !== p.generations) throw new ConflictError(`job ${job.id}'s last checkpoint is at generation ${ck.gen}, not ${p.generations}`);
    const w = new RleRowWriter(p.width, p.height, p.rule, !p.bounded);
    const put = async (s: string): Promise<void> => {
      if (s.length > 0 && !out.write(s)) await once(out, 'drain');
    };
    await put(w.header());
    const rowWords = Math.ceil(p.width / 32);
    const fd = openSync(path.join(dir, ck.file), 'r');
    try {
      for (const rec of [...ck.records].sort((a, b) => a.y - b.y)) {
        const data = Buffer.allocUnsafe(rec.len);
        readSync(fd, data, 0, rec.len, rec.off);
        const raw = inflateRawSync(data);
        const words = new Uint32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
        for (let r = 0; r < rec.n; r++) await put(w.row(words.subarray(r * rowWords, (r + 1) * rowWords)));
      }
    } finally {
      closeSync(fd);
    }
    await put(w.end());
  }
}

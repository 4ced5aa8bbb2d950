import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Task } from '../tasks/index.js';
import { checkCodeSize, importTaskModule, moduleTask, moduleTaskName, registerTask } from '../tasks/index.js';
import { sha256Hex, signCodeHash } from '../trust/index.js';

/** A stored piece of code as it is shipped: its bytes and the code key's signature of its hash. */
export interface StoredCode {
  bytes: Uint8Array;
  signature: string;
}

/**
 * Users' code on the head (issue 12), by SHA-256, in DATA/code: `HASH` (the bytes), `HASH.sig` (the
 * code key's signature of the hash) and, for a task module, `HASH.mjs` (a link the head imports to
 * validate parameters and fold). Workers fetch by hash over their connection; nothing is trusted
 * by name.
 */
export class CodeStore {
  readonly dir: string;
  /** Pieces of code sent to workers, and bytes. */
  readonly stats = { served: 0, servedBytes: 0, stored: 0 };

  constructor(
    dataDir: string,
    private readonly keyPem: string,
  ) {
    this.dir = path.join(dataDir, 'code');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  private file(hash: string): string {
    return path.join(this.dir, hash);
  }

  /** Stores bytes (idempotent): their hash. Over 16 MiB is refused with its size. */
  put(bytes: Uint8Array, what = 'the code'): string {
    checkCodeSize(bytes.length, what);
    const hash = sha256Hex(bytes);
    if (!existsSync(this.file(hash)) || !existsSync(`${this.file(hash)}.sig`)) {
      const tmp = `${this.file(hash)}.tmp-${process.pid}`;
      writeFileSync(tmp, bytes, { mode: 0o600 });
      renameSync(tmp, this.file(hash));
      writeFileSync(`${this.file(hash)}.sig`, signCodeHash(this.keyPem, hash) + '\n', { mode: 0o600 });
      this.stats.stored++;
    }
    return hash;
  }

  has(hash: string): boolean {
    return /^[0-9a-f]{64}$/.test(hash) && existsSync(this.file(hash));
  }

  /** The bytes and signature as stored (not checked here: workers check both). */
  get(hash: string): StoredCode | null {
    if (!this.has(hash)) return null;
    try {
      return { bytes: readFileSync(this.file(hash)), signature: readFileSync(`${this.file(hash)}.sig`, 'utf8').trim() };
    } catch {
      return null;
    }
  }

  /** Stores a task module's bundle and loads it: the task `module:HASH`, registered. */
  async putModule(bytes: Uint8Array, shownAs: string): Promise<Task> {
    const hash = this.put(bytes, `the bundle of ${shownAs}`);
    return this.loadModule(hash, shownAs);
  }

  private async loadModule(hash: string, shownAs: string): Promise<Task> {
    const mjs = `${this.file(hash)}.mjs`;
    if (!existsSync(mjs)) linkSync(this.file(hash), mjs);
    const user = await importTaskModule(mjs, shownAs);
    const task = moduleTask(hash, user);
    registerTask(task);
    return task;
  }

  /** Loads every stored task module whose bytes still match its hash (at start: unfinished jobs fold with them). */
  async loadModules(onError: (hash: string, err: Error) => void): Promise<number> {
    let n = 0;
    for (const f of readdirSync(this.dir)) {
      const m = /^([0-9a-f]{64})\.mjs$/.exec(f);
      if (!m) continue;
      const hash = m[1] as string;
      try {
        if (sha256Hex(readFileSync(path.join(this.dir, f))) !== hash) throw new Error('its bytes no longer match its hash');
        await this.loadModule(hash, moduleTaskName(hash));
        n++;
      } catch (err) {
        onError(hash, err as Error);
      }
    }
    return n;
  }
}

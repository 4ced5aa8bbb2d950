import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sha256Hex, verifyCodeHash } from '../trust/index.js';

/** Shipped code as it arrives: its bytes and the head's signature of its hash. */
export interface FetchedCode {
  bytes: Uint8Array;
  signature: string;
}

export class CodeRefusedError extends Error {
  override name = 'CodeRefusedError';
}

/**
 * A worker's cache of shipped code (task module bundles, command files), by SHA-256, on disk: fetched
 * once over the head connection, kept only when its hash and the cluster code key's signature check,
 * reused by later jobs. Task modules are kept as `HASH.mjs` (what the sandbox imports), files as `HASH`.
 */
export class CodeCache {
  /** Cache hits, transfers from the head, and bytes transferred. */
  readonly stats = { hits: 0, transfers: 0, bytes: 0 };
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Where verified code of this hash lives. */
  path(hash: string): string {
    return path.join(this.dir, `${hash}.mjs`);
  }

  /**
   * Makes sure the code is here: a hit costs a stat; otherwise `fetch` brings it, and it is kept only
   * when it is what `hash` and `publicKey` say.
   */
  async ensure(hash: string, publicKey: string | null, fetch: (hash: string) => Promise<FetchedCode>): Promise<'hit' | 'fetched'> {
    if (existsSync(this.path(hash))) {
      this.stats.hits++;
      return 'hit';
    }
    let p = this.inFlight.get(hash);
    if (p) {
      await p;
      this.stats.hits++;
      return 'hit';
    }
    p = (async () => {
      const code = await fetch(hash);
      const actual = sha256Hex(code.bytes);
      if (actual !== hash) throw new CodeRefusedError(`refused code ${hash.slice(0, 12)}: its SHA-256 is ${actual.slice(0, 12)}..., not the hash it was sent for (tampered with or corrupted)`);
      if (!publicKey) throw new CodeRefusedError(`refused code ${hash.slice(0, 12)}: the head sent no code-signing key`);
      if (!verifyCodeHash(publicKey, hash, code.signature)) throw new CodeRefusedError(`refused code ${hash.slice(0, 12)}: its signature is not the cluster code key's (tampered with, or signed by another cluster)`);
      const tmp = `${this.path(hash)}.tmp-${process.pid}`;
      writeFileSync(tmp, code.bytes, { mode: 0o600 });
      renameSync(tmp, this.path(hash));
      this.stats.transfers++;
      this.stats.bytes += code.bytes.length;
    })();
    this.inFlight.set(hash, p);
    try {
      await p;
      return 'fetched';
    } finally {
      this.inFlight.delete(hash);
    }
  }
}

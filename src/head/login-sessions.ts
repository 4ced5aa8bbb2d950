import { createHash, randomBytes } from 'node:crypto';

/** How long a one-time login code may wait to be used (issue 17, item 12). */
export const LOGIN_CODE_TTL_MS = 10 * 60_000;
/** Login codes outstanding at once; minting more forgets the oldest. */
export const MAX_LOGIN_CODES = 100;
/** A dashboard session's lifetime from login (issue 17, item 11). */
export const SESSION_TTL_MS = 12 * 3600_000;
/** A session unused this long ends earlier. */
export const SESSION_IDLE_MS = 2 * 3600_000;
/** Sessions held at once; a new login past this ends the oldest. */
export const MAX_SESSIONS = 1000;

const digest = (s: string): string => createHash('sha256').update(s).digest('base64url');

/**
 * One-time login codes: the URL `bramble head` prints (and `bramble login-url` mints) logs one browser
 * in, once, within 10 minutes; the admin token itself never appears in a URL.
 */
export class LoginCodes {
  private readonly codes = new Map<string, number>(); // code -> expires at
  constructor(private readonly now: () => number = Date.now, private readonly ttlMs = LOGIN_CODE_TTL_MS) {}
  mint(): string {
    this.sweep();
    if (this.codes.size >= MAX_LOGIN_CODES) this.codes.delete(this.codes.keys().next().value as string);
    const code = randomBytes(18).toString('base64url');
    this.codes.set(code, this.now() + this.ttlMs);
    return code;
  }
  /** True once per code, and only before it expires. */
  redeem(code: string): boolean {
    const exp = this.codes.get(code);
    if (exp === undefined) return false;
    this.codes.delete(code);
    return exp > this.now();
  }
  get size(): number {
    this.sweep();
    return this.codes.size;
  }
  private sweep(): void {
    const t = this.now();
    for (const [c, exp] of this.codes) if (exp <= t) this.codes.delete(c);
  }
}

/**
 * Dashboard sessions, held by the head only: the cookie carries a random id (32 bytes), never the admin
 * token; the head keeps its hash, so a session ends when it expires (12 h), after 2 h unused, at
 * `bramble logout-all`, or when the head restarts.
 */
export class DashboardSessions {
  private readonly byHash = new Map<string, { created: number; used: number }>();
  constructor(private readonly now: () => number = Date.now, readonly ttlMs = SESSION_TTL_MS, readonly idleMs = SESSION_IDLE_MS) {}
  /** A new session; returns the id that goes into the cookie. */
  open(): string {
    this.sweep();
    if (this.byHash.size >= MAX_SESSIONS) this.byHash.delete(this.byHash.keys().next().value as string);
    const id = randomBytes(32).toString('base64url');
    const t = this.now();
    this.byHash.set(digest(id), { created: t, used: t });
    return id;
  }
  /** Whether `id` is a live session (and marks it used). */
  check(id: string): boolean {
    if (id.length !== 43) return false;
    const h = digest(id);
    const s = this.byHash.get(h);
    if (!s) return false;
    const t = this.now();
    if (t - s.created >= this.ttlMs || t - s.used >= this.idleMs) {
      this.byHash.delete(h);
      return false;
    }
    s.used = t;
    return true; // looked up by its hash: lookup timing says nothing about the id
  }
  close(id: string): void {
    this.byHash.delete(digest(id));
  }
  /** Ends every session (`bramble logout-all`); returns how many there were. */
  revokeAll(): number {
    const n = this.byHash.size;
    this.byHash.clear();
    return n;
  }
  get size(): number {
    this.sweep();
    return this.byHash.size;
  }
  private sweep(): void {
    const t = this.now();
    for (const [h, s] of this.byHash) if (t - s.created >= this.ttlMs || t - s.used >= this.idleMs) this.byHash.delete(h);
  }
}

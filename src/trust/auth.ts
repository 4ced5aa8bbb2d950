import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A fresh nonce for one connection's challenge. */
export function newNonce(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Proof that a worker holds the cluster secret, bound to the head's nonce for this connection and
 * to the TLS session (exported keying material), so a recorded handshake proves nothing elsewhere.
 */
export function authProof(secret: string, nonce: string, node: string, binding: Uint8Array): string {
  return createHmac('sha256', secret).update('bramble-auth-v1\0').update(nonce).update('\0').update(node).update('\0').update(binding).digest('base64url');
}

export function checkProof(secret: string, nonce: string, node: string, binding: Uint8Array, proof: string): boolean {
  const want = Buffer.from(authProof(secret, nonce, node, binding));
  const got = Buffer.from(proof);
  return want.length === got.length && timingSafeEqual(want, got);
}

/**
 * Signs lease tokens so the head recognises its own tokens after a restart. One MAC covers a run of
 * leases (adjacent spans of one size, one attempt, as the cursor hands them out): a token is
 * `<attempt>-<head prefix><counter>+<k>.<count>.<mac>`, the k-th of `count` spans from
 * `index - k * span`; the MAC binds the job, the run's first chunk, span, count and nonce, so a token
 * checks alone and cannot be moved to another chunk, job or run. Signing a run of 65 costs one HMAC
 * instead of 65 (about 3 us each: the largest per-chunk cost of the head's dispatch).
 */
export class HmacLeaseSigner {
  /** Nonces: a random prefix per head start, then a counter (unique without a random draw per lease). */
  private readonly prefix = randomBytes(6).toString('base64url');
  private counter = 0;
  constructor(private readonly key: string) {}

  signRun(jobId: string, first: number, span: number, attempt: number, count: number): string[] {
    const nonce = `${attempt.toString(36)}-${this.prefix}${this.counter.toString(36)}`;
    this.counter += count;
    const tail = `.${count.toString(36)}.${this.mac(jobId, first, span, count, nonce)}`;
    const out = new Array<string>(count);
    for (let k = 0; k < count; k++) out[k] = `${nonce}+${k.toString(36)}${tail}`;
    return out;
  }

  verify(token: string, jobId: string, index: number, span: number): boolean {
    const m = /^([0-9a-z]+-[A-Za-z0-9_-]+)\+([0-9a-z]{1,6})\.([0-9a-z]{1,6})\.([A-Za-z0-9_-]{22})$/.exec(token);
    if (!m) return false;
    const k = parseInt(m[2] as string, 36);
    const count = parseInt(m[3] as string, 36);
    const first = index - k * span;
    if (k >= count || first < 0) return false;
    const want = Buffer.from(this.mac(jobId, first, span, count, m[1] as string));
    const got = Buffer.from(m[4] as string);
    return want.length === got.length && timingSafeEqual(want, got);
  }

  private mac(jobId: string, first: number, span: number, count: number, nonce: string): string {
    return createHmac('sha256', this.key).update(`lease-run\0${jobId}\0${first}\0${span}\0${count}\0${nonce}`).digest('base64url').slice(0, 22);
  }
}

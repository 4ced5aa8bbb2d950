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

/** Signs lease tokens so the head recognises its own tokens after a restart. */
export class HmacLeaseSigner {
  /** Nonces: a random prefix per head start, then a counter (unique without a random draw per lease). */
  private readonly prefix = randomBytes(6).toString('base64url');
  private counter = 0;
  constructor(private readonly key: string) {}
  sign(jobId: string, index: number, span: number, attempt: number): string {
    const nonce = `${attempt.toString(36)}-${this.prefix}${(this.counter++).toString(36)}`;
    return `${nonce}.${this.mac(jobId, index, span, nonce)}`;
  }
  verify(token: string, jobId: string, index: number, span: number): boolean {
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return false;
    const want = Buffer.from(this.mac(jobId, index, span, token.slice(0, dot)));
    const got = Buffer.from(token.slice(dot + 1));
    return want.length === got.length && timingSafeEqual(want, got);
  }
  private mac(jobId: string, index: number, span: number, nonce: string): string {
    return createHmac('sha256', this.key).update(`lease\0${jobId}\0${index}\0${span}\0${nonce}`).digest('base64url').slice(0, 22);
  }
}

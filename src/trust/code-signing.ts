import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';

/**
 * Code signing (issue 12): the head signs the SHA-256 of every bundle and file it ships with the
 * cluster's Ed25519 code key (DATA/code-key); a worker runs only bytes whose hash and signature check.
 * The public key reaches workers in the welcome message, over the TLS connection pinned to the CA.
 */

/** A new Ed25519 private key, PKCS#8 PEM. */
export function newCodeKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The public half of a code key: SPKI DER, base64. */
export function codePublicKey(privateKeyPem: string): string {
  return createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'der' }).toString('base64');
}

/** SHA-256 of bytes, lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const message = (hash: string): Buffer => Buffer.from(`bramble-code:${hash}`);

/** Signs a content hash (hex) with the code key: base64. */
export function signCodeHash(privateKeyPem: string, hash: string): string {
  return sign(null, message(hash), createPrivateKey(privateKeyPem)).toString('base64');
}

/** Whether `signature` is the code key's signature of `hash`. */
export function verifyCodeHash(publicKey: string, hash: string, signature: string): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
    return verify(null, message(hash), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

import { randomBytes } from 'node:crypto';
import { InputError } from '../core/index.js';

/** What a worker needs to join: the pinned CA hash and the cluster secret. */
export interface JoinToken {
  caHash: string;
  secret: string;
}

const PREFIX = 'bramble1';
const TOKEN = /^bramble1\.([0-9a-f]{64})\.([A-Za-z0-9_-]{32,128})$/;

/** Formats `bramble1.<sha256 of the CA certificate>.<secret>` (the k3s / kubeadm pattern). */
export function formatJoinToken(t: JoinToken): string {
  return `${PREFIX}.${t.caHash}.${t.secret}`;
}

export function parseJoinToken(text: string, field = '--join'): JoinToken {
  const m = TOKEN.exec(text.trim());
  if (!m) throw new InputError(field, `${field} is not a bramble join token (expected bramble1.<64 hex>.<secret>, as printed by \`bramble token\`)`);
  return { caHash: m[1] as string, secret: m[2] as string };
}

/** A fresh cluster secret: 32 random bytes, base64url. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

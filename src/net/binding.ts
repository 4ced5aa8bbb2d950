import type tls from 'node:tls';

/**
 * The TLS session's channel binding (RFC 5705 keying material): both ends derive the same 32 bytes,
 * and the worker's proof is bound to them, so a proof recorded on one connection is worthless on
 * another. One label for both sides, so they cannot drift apart.
 */
export function channelBinding(socket: tls.TLSSocket): Uint8Array {
  return socket.exportKeyingMaterial(32, 'EXPORTER-bramble-auth', Buffer.alloc(0));
}

import { X509Certificate, createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { ConnectionError, TrustError } from './errors.js';
import { FramedConnection } from './framed-connection.js';
import { channelBinding } from './binding.js';

export interface ClientOptions {
  host: string;
  port: number;
  /** The SHA-256 (hex) of the cluster CA that the head's certificate must chain to; null = plaintext. */
  caHash: string | null;
  maxFrameBytes?: number;
  connectTimeoutMs?: number;
}

export interface ClientConnection {
  conn: FramedConnection;
  binding: Uint8Array;
}

/**
 * Checks the head's certificate chain against the pinned CA hash: the root of the presented chain
 * must hash to `caHash` and must have signed the leaf. Nothing secret is sent before this passes.
 */
export function verifyPinnedChain(socket: tls.TLSSocket, caHash: string): void {
  const leafInfo = socket.getPeerCertificate(true);
  if (!leafInfo || !leafInfo.raw) throw new TrustError('the head presented no certificate');
  let cur: tls.DetailedPeerCertificate = leafInfo;
  const chain: Buffer[] = [cur.raw];
  for (let i = 0; i < 8 && cur.issuerCertificate && cur.issuerCertificate !== cur; i++) {
    cur = cur.issuerCertificate;
    chain.push(cur.raw);
  }
  const rootDer = chain[chain.length - 1] as Buffer;
  const got = createHash('sha256').update(rootDer).digest('hex');
  if (got !== caHash) {
    throw new TrustError(`the head's CA certificate has SHA-256 ${got.slice(0, 16)}..., but the join token pins ${caHash.slice(0, 16)}...: refusing to talk to it`);
  }
  const root = new X509Certificate(rootDer);
  const leaf = new X509Certificate(chain[0] as Buffer);
  if (chain.length < 2 || !leaf.checkIssued(root) || !leaf.verify(root.publicKey)) {
    throw new TrustError('the head certificate is not signed by the pinned cluster CA');
  }
  const now = Date.now();
  if (Date.parse(leaf.validTo) < now || Date.parse(leaf.validFrom) > now + 86_400_000) {
    throw new TrustError(`the head certificate is not valid now (valid ${leaf.validFrom} to ${leaf.validTo})`);
  }
}

/** Connects, and over TLS verifies the pinned CA before resolving. */
export function connectFramed(o: ClientOptions): Promise<ClientConnection> {
  const timeoutMs = o.connectTimeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    let done = false;
    const finish = (err: Error | null, value?: ClientConnection): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve(value as ClientConnection);
    };
    const timer = setTimeout(() => finish(new ConnectionError(`connecting to ${o.host}:${o.port} timed out after ${timeoutMs} ms`)), timeoutMs);
    const onError = (err: Error): void => finish(new ConnectionError(`cannot connect to ${o.host}:${o.port}: ${err.message}`, { cause: err }));
    if (o.caHash) {
      const caHash = o.caHash;
      const s = tls.connect({
        host: o.host,
        port: o.port,
        minVersion: 'TLSv1.3',
        // The chain is checked against the pinned CA hash below, not against the system roots.
        rejectUnauthorized: false,
        servername: net.isIP(o.host) ? undefined : o.host,
      });
      socket = s;
      s.once('secureConnect', () => {
        try {
          verifyPinnedChain(s, caHash);
        } catch (err) {
          finish(err as Error);
          return;
        }
        s.off('error', onError);
        const binding = channelBinding(s);
        finish(null, { conn: new FramedConnection(s, { maxFrameBytes: o.maxFrameBytes }), binding });
      });
    } else {
      socket = net.connect({ host: o.host, port: o.port }, () => {
        socket.off('error', onError);
        finish(null, { conn: new FramedConnection(socket, { maxFrameBytes: o.maxFrameBytes }), binding: new Uint8Array(0) });
      });
    }
    socket.once('error', onError);
  });
}

import { BrambleError } from '../core/index.js';

/** A socket failed or closed: the cause holds the system error. */
export class ConnectionError extends BrambleError {
  override name = 'ConnectionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONNECTION', message, options);
  }
}

/** The peer's certificate does not match what we trust (pinned CA hash). */
export class TrustError extends BrambleError {
  override name = 'TrustError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('TRUST', message, options);
  }
}

import { BrambleError } from '../core/index.js';

/**
 * Why a host failed, in one word: the live table and the failed-hosts file show it, `--json` carries it.
 * - `connect`: TCP or SSH transport (refused, unreachable, timed out, reset): retried
 * - `host-key`: unknown or changed host key: never retried
 * - `auth`: no offered credential was accepted: never retried
 * - `node`: Node.js missing or older than 20 on the host
 * - `remote`: a command on the host failed (its output is in the message)
 * - `join`: the instances started but did not join the head in time
 */
export type HostFailure = 'connect' | 'host-key' | 'auth' | 'node' | 'remote' | 'join';

/** A step on one host failed. `retryable` errors are tried again (`--retries`). */
export class DeployError extends BrambleError {
  override name = 'DeployError';
  readonly kind: HostFailure;
  readonly retryable: boolean;
  constructor(kind: HostFailure, message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super('DEPLOY_' + kind.toUpperCase().replace('-', '_'), message, options);
    this.kind = kind;
    this.retryable = options?.retryable ?? kind === 'connect';
  }
}

/** A host's key is unknown (and `--accept-new` was not given) or differs from the recorded one. */
export class HostKeyError extends DeployError {
  override name = 'HostKeyError';
  constructor(message: string) {
    super('host-key', message);
  }
}

/** A second worker with the same instance id in the same data dir. */
export class InstanceLockedError extends BrambleError {
  override name = 'InstanceLockedError';
  readonly holderPid: number | null;
  constructor(message: string, holderPid: number | null) {
    super('INSTANCE_LOCKED', message);
    this.holderPid = holderPid;
  }
}

/** `bramble service` could not do what was asked (no root for systemd, a unit failed to start...). */
export class ServiceError extends BrambleError {
  override name = 'ServiceError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('SERVICE', message, options);
  }
}

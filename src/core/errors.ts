/** Errors of the core layer. Each carries a stable `code` so it can cross the wire and the HTTP API. */
export class BrambleError extends Error {
  override name = 'BrambleError';
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Bad input from a user: a flag, a config key, an HTTP body field. The message names the field. */
export class InputError extends BrambleError {
  override name = 'InputError';
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super('BAD_INPUT', message, options);
    this.field = field;
  }
}

export class NotFoundError extends BrambleError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

export class ConflictError extends BrambleError {
  override name = 'ConflictError';
  constructor(message: string, code = 'CONFLICT') {
    super(code, message);
  }
}

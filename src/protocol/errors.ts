import { BrambleError } from '../core/index.js';

/** Stable codes carried by `error` frames. */
export const ErrorCode = {
  FrameTooLarge: 'FRAME_TOO_LARGE',
  BadFrame: 'BAD_FRAME',
  BadMessage: 'BAD_MESSAGE',
  Unexpected: 'UNEXPECTED_MESSAGE',
  Version: 'VERSION_MISMATCH',
  Auth: 'AUTH_FAILED',
  Timeout: 'TIMEOUT',
  Busy: 'BUSY',
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class ProtocolError extends BrambleError {
  override name = 'ProtocolError';
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export class FrameTooLargeError extends ProtocolError {
  override name = 'FrameTooLargeError';
  constructor(
    readonly length: number,
    readonly max: number,
  ) {
    super(ErrorCode.FrameTooLarge, `frame of ${length} bytes exceeds the limit of ${max} bytes`);
  }
}

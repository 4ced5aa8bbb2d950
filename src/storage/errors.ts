import { BrambleError } from '../core/index.js';

export class StorageError extends BrambleError {
  override name = 'StorageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORAGE', message, options);
  }
}

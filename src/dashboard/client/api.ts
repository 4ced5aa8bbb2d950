/** The head's JSON API, same origin, with the session cookie. */
import type { ApiError } from './model.js';

export interface Reply<T> {
  status: number;
  ok: boolean;
  json: T;
}

let unauthorized: () => void = () => undefined;

/** What to do when the head answers 401 (the session is gone). */
export function onUnauthorized(fn: () => void): void {
  unauthorized = fn;
}

/**
 * Calls the API. `T` is what a successful reply holds; an error reply holds `{ error }`, which
 * callers read only when `ok` is false (see `errorOf`).
 */
export async function api<T>(method: string, path: string, body?: unknown): Promise<Reply<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  if (r.status === 401) unauthorized();
  const t = await r.text();
  let j: unknown;
  try {
    j = t ? JSON.parse(t) : null;
  } catch {
    j = { error: { code: 'BAD_REPLY', message: t.slice(0, 200) } };
  }
  return { status: r.status, ok: r.ok, json: j as T };
}

/** The `error` of a refused request, if the reply has one. */
export function errorOf(r: Reply<unknown>): ApiError | null {
  const j = r.json as { error?: ApiError } | null;
  return j && typeof j === 'object' && j.error ? j.error : null;
}

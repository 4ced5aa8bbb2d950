import { setTimeout as sleep } from 'node:timers/promises';
import { BrambleError } from '../core/index.js';
import type { JobStatus } from '../ports/index.js';
import type { ApiClientOptions } from './api-client.js';
import { ApiClient, ApiError } from './api-client.js';

export interface SubmitRetryOptions {
  /** Every head the client knows (`--head-url` repeated or comma-separated), tried in this order. */
  urls: string[];
  token: string;
  ca: string | null;
  /** The job as `POST /api/jobs` takes it, with its `id` (the idempotency key). */
  body: Record<string, unknown> & { id: string };
  /** Give up after this long without an answer (ms). */
  timeoutMs: number;
  /** One line per failed try (the CLI writes them to stderr). */
  log?: (line: string) => void;
  /**
   * First pause after a round of heads that all failed (ms, default 100, doubling to maxBackoffMs,
   * default 1000: a refused connection costs a head nothing, and a restarted head is found within
   * about a second; bench/submit.mjs measures it).
   */
  backoffMs?: number;
  maxBackoffMs?: number;
}

export interface SubmitOutcome {
  status: JobStatus & { existing: boolean; note?: string };
  /** The head that answered. */
  url: string;
  /** Tries made, the answered one included. */
  tries: number;
  /**
   * True when an earlier try may have reached a head (a connection lost or a 5xx after the request
   * was sent): an `existing` answer then most likely means that try created the job.
   */
  uncertain: boolean;
}

/** Whether a failed try may be repeated: no answer at all, or a head's 5xx. A 4xx is an answer. */
export function retryable(err: unknown): boolean {
  if (err instanceof ApiError) return err.status >= 500;
  return err instanceof BrambleError && err.code === 'CONNECTION';
}

interface Tried<T> {
  value: T;
  url: string;
  tries: number;
  uncertain: boolean;
}

/**
 * Calls `call` on each head in turn (the one that answered last first) until one answers: on a
 * connection error or a 5xx the next head is tried, and after a round in which all failed it backs
 * off (0.1 s doubling to 1 s). A 4xx is an answer and is thrown; so is the timeout, with `what` and
 * `hint(uncertain)` in its message.
 */
async function throughHeads<T>(o: Omit<SubmitRetryOptions, 'body'>, call: (c: ApiClient) => Promise<T>, what: string, hint: (uncertain: boolean) => string, logTag: string): Promise<Tried<T>> {
  const deadline = Date.now() + o.timeoutMs;
  let backoff = o.backoffMs ?? 100;
  let tries = 0;
  let uncertain = false;
  let last: unknown = null;
  for (;;) {
    for (const url of o.urls) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      tries++;
      const client = new ApiClient({ url, token: o.token, ca: o.ca, timeoutMs: Math.max(1000, Math.min(15_000, left)) } satisfies ApiClientOptions);
      try {
        return { value: await call(client), url, tries, uncertain };
      } catch (err) {
        if (!retryable(err)) throw err;
        last = err;
        // a refused connection never reached the head; anything else may have
        if (!(err instanceof BrambleError && /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/.test(err.message))) uncertain = true;
        o.log?.(`${(err as Error).message}: trying again (${logTag})`);
      }
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    const pause = Math.min(left, backoff * (0.8 + Math.random() * 0.4));
    await sleep(pause);
    backoff = Math.min(o.maxBackoffMs ?? 1000, backoff * 2);
  }
  const why = last instanceof Error ? last.message : 'no head to try';
  throw new BrambleError('HEAD_TIMEOUT', `no head answered ${what} within ${+(o.timeoutMs / 1000).toFixed(1)} s (last: ${why})${hint(uncertain)}`);
}

/**
 * Submits a job idempotently (issue 18): the body carries an id, so sending it again is safe; the head
 * answers the job already there (`existing: true`) when an earlier try got through. Tries every head
 * in turn on a connection error or a 5xx, backs off after each round in which all failed, and stops
 * at the first answer (a job, or a 4xx refusal, thrown as ApiError) or at the timeout.
 */
export async function submitWithRetry(o: SubmitRetryOptions): Promise<SubmitOutcome> {
  const id = o.body.id;
  const r = await throughHeads(
    o,
    (c) => c.post<JobStatus & { existing: boolean }>('/api/jobs', o.body),
    `the submit of job ${id}`,
    (uncertain) => (uncertain ? `; it may have been accepted: \`bramble status ${id}\`, or submit again with --id ${id}` : ''),
    `job ${id}`,
  );
  return { status: r.value, url: r.url, tries: r.tries, uncertain: r.uncertain };
}

/**
 * A GET through every head (`submit --wait` following its job): a head that restarts or fails over
 * meanwhile costs a pause, not the command. Each call may wait up to `timeoutMs` for some head.
 */
export function getThroughHeads(o: Omit<SubmitRetryOptions, 'body'>): <T>(route: string) => Promise<T> {
  let urls = o.urls;
  return async <T>(route: string): Promise<T> => {
    const r = await throughHeads({ ...o, urls }, (c) => c.get<T>(route), `GET ${route}`, () => '', route);
    urls = [r.url, ...o.urls.filter((u) => u !== r.url)]; // the head that answered first next time
    return r.value;
  };
}

export interface SimWorkerOptions {
  host: string;
  port: number;
  /** SHA-256 of the cluster CA (hex), as in the join token. */
  caHash: string;
  secret: string;
  name: string;
  slots?: number;
}

export function simWorker(o: SimWorkerOptions): Promise<{ done: number; close(): void }>;

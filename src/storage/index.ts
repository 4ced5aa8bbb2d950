export * from './errors.js';
export * from './sqlite-journal.js';
// the in-memory journal lives beside the Journal contract in core (a run loads no storage backend)
export { MemoryJournal } from '../core/index.js';
export { EtcdClient, EtcdError, prefixEnd } from './etcd-client.js';
export type { EtcdClientOptions } from './etcd-client.js';
export * from './etcd-election.js';
export * from './etcd-journal.js';

export * from './errors.js';
export * from './sqlite-journal.js';
export * from './memory-journal.js';
export { EtcdClient, EtcdError, prefixEnd } from './etcd-client.js';
export type { EtcdClientOptions } from './etcd-client.js';
export * from './etcd-election.js';
export * from './etcd-journal.js';

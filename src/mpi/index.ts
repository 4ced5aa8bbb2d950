export * from './plan.js';
export * from './probe.js';
export * from './agent-wire.js';
export { AGENT_SOCKET_ENV, runAgentViaRelay } from './agent.js';
export { ExecClient, ExecChannel, getJson } from './exec-client.js';
export type { HeadApi, ExecExit, ExecOpenOptions } from './exec-client.js';
export { mpirun, localNetworkOf } from './mpirun.js';
export type { MpirunOptions } from './mpirun.js';

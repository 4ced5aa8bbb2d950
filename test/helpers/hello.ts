import type { Message } from '../../src/protocol/index.js';
import { PROTOCOL_VERSION } from '../../src/protocol/index.js';

/** A worker's hello as a test speaks it by hand: one slot of noop unless told otherwise. */
export function hello(node: string, o: { proof?: string; slots?: number; kernels?: string[] } = {}): Message {
  return {
    type: 'hello', version: PROTOCOL_VERSION, node, name: node, instance: 0, hostname: 'h', addresses: [],
    slots: o.slots ?? 1, kernels: o.kernels ?? ['noop'], pid: 1, ...(o.proof ? { proof: o.proof } : {}),
  };
}

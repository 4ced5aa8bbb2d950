import net from 'node:net';
import os from 'node:os';
import type { AgentExit } from './agent-wire.js';
import { AgentFrame, AgentFrameReader, agentExitCode } from './agent-wire.js';

/** The variable `bramble mpirun` sets for mpirun and so for the agents it starts: its relay's socket. */
export const AGENT_SOCKET_ENV = 'BRAMBLE_AGENT_SOCKET';

/**
 * `bramble agent HOST CMD...` under `bramble mpirun`: asks the relay to run CMD on HOST (through the
 * head, on the worker with that address), copies its output to ours, and exits with its status.
 * mpirun kills the agent to stop a node's daemon: the relay sees the socket close and kills the
 * remote command.
 */
export function runAgentViaRelay(socketPath: string, host: string, argv: string[]): Promise<number> {
  return new Promise((resolve) => {
    const sock = net.connect(socketPath);
    const reader = new AgentFrameReader();
    let done = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      resolve(code);
    };
    sock.on('connect', () => sock.write(JSON.stringify({ host, argv }) + '\n'));
    sock.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) {
        if (f.type === AgentFrame.stdout || f.type === AgentFrame.stderr) {
          const out = f.type === AgentFrame.stdout ? process.stdout : process.stderr;
          if (!out.write(f.payload)) {
            sock.pause();
            out.once('drain', () => sock.resume());
          }
        } else if (f.type === AgentFrame.exit) {
          const e = JSON.parse(f.payload.toString('utf8')) as AgentExit;
          if (e.error) process.stderr.write(`bramble agent: ${host}: ${e.error}\n`);
          finish(agentExitCode(e, os.constants.signals as Record<string, number>));
        }
      }
    });
    sock.on('error', (err) => {
      process.stderr.write(`bramble agent: cannot reach bramble mpirun at ${socketPath}: ${err.message}\n`);
      finish(255);
    });
    sock.on('close', () => {
      if (!done) process.stderr.write(`bramble agent: ${host}: bramble mpirun went away\n`);
      finish(255);
    });
  });
}

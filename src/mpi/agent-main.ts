/**
 * The agent's fast entry, the executable mpirun calls as its remote shell (`AGENT HOST CMD...`): it
 * loads only the local wire, not the CLI, so a launch pays one small Node start per node.
 */
import { AGENT_SOCKET_ENV, runAgentViaRelay } from './agent.js';

const [host, ...argv] = process.argv.slice(2);
const socketPath = process.env[AGENT_SOCKET_ENV];
if (!host || argv.length === 0 || !socketPath) {
  process.stderr.write(`usage: bramble agent HOST CMD... (under bramble mpirun, which sets ${AGENT_SOCKET_ENV})\n`);
  process.exit(255);
}
const code = await runAgentViaRelay(socketPath, host, argv);
process.stdout.write('', () => process.exit(code));

/**
 * Deployment: host lists, SSH deploy of worker services, local services, the worker instance lock.
 * May import only core and trust (and npm packages); ssh2 is loaded only when a command needs it.
 */
export { registerDeployCommands, DEFAULT_REMOTE_DIR } from './commands.js';
export { acquireInstanceLock, probeInstanceLock, lockAddress } from './instance-lock.js';
export type { InstanceLock, LockHolder } from './instance-lock.js';
export { DeployError, HostKeyError, InstanceLockedError, ServiceError } from './errors.js';
export type { HostFailure } from './errors.js';
export { expandBraces, expandCidr, expandHostPattern, parseHostEntry, parseHostFile, excludeHosts, formatHostEntry, toTargets, MAX_HOSTS } from './host-list.js';
export type { HostEntry, Target } from './host-list.js';
export { KnownHosts, parseKnownHosts, patternsMatch, fingerprint, knownHostName } from './known-hosts.js';
export { buildBundle, readBundle, dependencyTree, nativeMismatch } from './bundle.js';
export type { Bundle, BundleManifest } from './bundle.js';
export { systemdUnit, chooseMode, SUPERVISOR_SCRIPT, installWorkers, uninstallWorkers, workerStatus } from './service.js';
export { LiveTable } from './live-table.js';
export { failedHostsFile, checkNode, parseProbe, probeScript } from './deployer.js';

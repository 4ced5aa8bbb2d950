import type { MpiFlavour } from './plan.js';

/** What a node (or this machine) has of MPI. */
export interface MpiFacts {
  orted: boolean;
  hydra: boolean;
  /** e.g. "4.1.4" */
  openmpi: string | null;
  /** e.g. "4.0.2" */
  mpich: string | null;
  /** First line of mpi4py's MPI.Get_library_version(), when the command is Python; null when not asked. */
  mpi4py: string | null;
}

/** A command runs Python: its first word is python, python3, python3.11, a path to one. */
export function pythonOf(command: string[]): string | null {
  const first = command[0];
  if (!first) return null;
  const base = first.split('/').pop() ?? '';
  return /^python[0-9.]*$/.test(base) ? first : null;
}

/** Single-quotes a word for sh. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A shell script that prints the facts, one `key=value` a line (fast: no MPI_Init). */
export function probeScript(python: string | null): string {
  const lines = [
    'echo "orted=$(command -v orted || true)"',
    'echo "hydra=$(command -v hydra_pmi_proxy || true)"',
    'echo "openmpi=$( (ompi_info --version || mpirun.openmpi --version) 2>/dev/null | head -n 1)"',
    'echo "mpich=$(mpichversion 2>/dev/null | head -n 1)"',
  ];
  if (python) {
    const py = "import mpi4py; mpi4py.rc.initialize = False; from mpi4py import MPI; print(MPI.Get_library_version().splitlines()[0])";
    lines.push(`echo "mpi4py=$(${shQuote(python)} -c ${shQuote(py)} 2>&1 | tail -n 1)"`);
  }
  return lines.join('\n');
}

export function parseProbe(text: string, askedPython: boolean): MpiFacts {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const version = (s: string | undefined): string | null => (s ? (/(\d+\.\d+(?:\.\d+)?)/.exec(s)?.[1] ?? null) : null);
  return {
    orted: Boolean(kv.get('orted')),
    hydra: Boolean(kv.get('hydra')),
    openmpi: version(kv.get('openmpi')),
    mpich: version(kv.get('mpich')),
    mpi4py: askedPython ? (kv.get('mpi4py') ?? '') : null,
  };
}

/** The flavour an mpi4py library line names, or null (not installed, or unknown). */
export function mpi4pyFlavour(line: string | null): MpiFlavour | 'missing' | null {
  if (line === null) return null;
  if (/Open MPI/i.test(line)) return 'openmpi';
  if (/MPICH/i.test(line)) return 'mpich';
  if (/No module named|ModuleNotFound|ImportError|not found/i.test(line) || line === '') return 'missing';
  return null;
}

const NAMES: Record<MpiFlavour, string> = { openmpi: 'Open MPI', mpich: 'MPICH' };

/**
 * Problems that would make the launch fail or hang, each one sentence naming the node: the launcher's
 * daemon missing on a node, versions that differ from this machine's, mpi4py built for the other MPI
 * (every rank would say size 1), or no mpi4py at all.
 */
export function checkFacts(flavour: MpiFlavour, local: MpiFacts, nodes: { name: string; facts: MpiFacts }[], python: string | null): string[] {
  const problems: string[] = [];
  const name = NAMES[flavour];
  const localVersion = flavour === 'openmpi' ? local.openmpi : local.mpich;
  if (!localVersion) problems.push(`${name} is not installed on this machine (${flavour === 'openmpi' ? 'apt install openmpi-bin' : 'apt install mpich'})`);
  for (const { name: node, facts } of nodes) {
    const has = flavour === 'openmpi' ? facts.orted : facts.hydra;
    const v = flavour === 'openmpi' ? facts.openmpi : facts.mpich;
    if (!has) problems.push(`node ${node} has no ${flavour === 'openmpi' ? 'orted' : 'hydra_pmi_proxy'}: install ${flavour === 'openmpi' ? 'openmpi-bin' : 'mpich'} there`);
    else if (localVersion && v && v !== localVersion) problems.push(`node ${node} has ${name} ${v}, this machine ${localVersion}: MPI needs the same version everywhere`);
  }
  if (python) {
    const other: MpiFlavour = flavour === 'openmpi' ? 'mpich' : 'openmpi';
    for (const { name: node, facts } of nodes) {
      const f = mpi4pyFlavour(facts.mpi4py);
      if (f === 'missing') problems.push(`node ${node}: ${python} has no mpi4py (apt install python3-mpi4py): ${facts.mpi4py ?? ''}`.trim());
      else if (f === other) problems.push(`node ${node}: mpi4py is built for ${NAMES[other]} but the launcher is ${name}'s: every rank would run alone (size 1); use --mpi ${other}, or an mpi4py built for ${name}`);
    }
  }
  return problems;
}

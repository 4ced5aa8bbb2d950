import { describe, expect, it } from 'vitest';
import { checkFacts, mpi4pyFlavour, parseProbe, pythonOf, shQuote } from './probe.js';

const ompi = parseProbe('orted=/usr/bin/orted\nhydra=\nopenmpi=Open MPI v4.1.4\nmpich=\nmpi4py=Open MPI v4.1.4, package: Debian OpenMPI\n', true);

describe('MPI checks before a launch', () => {
  it('reads the probe', () => {
    expect(ompi).toEqual({ orted: true, hydra: false, openmpi: '4.1.4', mpich: null, mpi4py: 'Open MPI v4.1.4, package: Debian OpenMPI' });
    expect(parseProbe('orted=\nhydra=/usr/bin/hydra_pmi_proxy\nmpich=MPICH Version:\t4.0.2\n', false).mpich).toBe('4.0.2');
  });

  it('knows a Python command and quotes words for sh', () => {
    expect(pythonOf(['/usr/bin/python3', 'prime.py'])).toBe('/usr/bin/python3');
    expect(pythonOf(['python3.11'])).toBe('python3.11');
    expect(pythonOf(['./a.out'])).toBeNull();
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
    expect(shQuote('prime.py')).toBe('prime.py');
  });

  it('catches the classic trap: MPICH launching an mpi4py built for Open MPI', () => {
    const local = { ...ompi, mpich: '4.0.2', hydra: true };
    const node = { ...ompi, hydra: true, mpich: '4.0.2' };
    expect(checkFacts('mpich', local, [{ name: 'pi1', facts: node }], 'python3')).toEqual([
      "node pi1: mpi4py is built for Open MPI but the launcher is MPICH's: every rank would run alone (size 1); use --mpi openmpi, or an mpi4py built for MPICH",
    ]);
    expect(checkFacts('openmpi', local, [{ name: 'pi1', facts: node }], 'python3')).toEqual([]);
  });

  it('names a node without the daemon, with another version, or without mpi4py', () => {
    const none = parseProbe('orted=\nhydra=\nopenmpi=\nmpich=\nmpi4py=ModuleNotFoundError: No module named \'mpi4py\'\n', true);
    const old = { ...ompi, openmpi: '4.0.3' };
    expect(checkFacts('openmpi', ompi, [{ name: 'a', facts: none }, { name: 'b', facts: old }], 'python3')).toEqual([
      'node a has no orted: install openmpi-bin there',
      'node b has Open MPI 4.0.3, this machine 4.1.4: MPI needs the same version everywhere',
      "node a: python3 has no mpi4py (apt install python3-mpi4py): ModuleNotFoundError: No module named 'mpi4py'",
    ]);
    expect(mpi4pyFlavour('MPICH Version: 4.0.2')).toBe('mpich');
  });
});

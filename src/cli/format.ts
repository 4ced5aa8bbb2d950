/** Human-readable result lines; `--json` prints the object itself. */
export function formatResult(r: Record<string, unknown>): string {
  const lines: string[] = [];
  const range = `[${String(r['start'])}, ${String(r['end'])}]`;
  const secs = typeof r['seconds'] === 'number' ? `${(r['seconds']).toFixed(3)} s` : '?';
  switch (r['task']) {
    case 'primes': {
      lines.push(`primes in ${range}: ${String(r['count'])}`);
      if (r['first'] !== null) lines.push(`first ${String(r['first'])}, last ${String(r['last'])}`);
      const g = r['largestGap'] as { gap: string; after: string } | null;
      if (g) lines.push(`largest gap ${g.gap} after ${g.after}`);
      break;
    }
    case 'collatz': {
      if (r['mode'] === 'verify') {
        const sv = r['sieve'] as { modulus: string; kept: string } | undefined;
        const skipped = sv ? `; the rest skipped by the sieve mod ${sv.modulus} (${sv.kept} residues kept) and mod 3, 9` : '';
        lines.push(`collatz verify ${range}: ${String(r['verified'])} numbers verified (${String(r['checked'])} checked${skipped})`);
      } else {
        const l = r['longest'] as { n: string; steps: string } | null;
        lines.push(`collatz ${range}: longest ${l ? `${l.n} with ${l.steps} steps` : '-'}`);
      }
      const h = r['highest'] as { n: string; value: string } | null;
      if (h) lines.push(`highest value ${h.value} (reached from ${h.n})`);
      break;
    }
    case 'life':
      lines.push(`life: population ${String(r['population'])}`);
      break;
    case 'noop':
      lines.push(`noop: ${String(r['chunks'])} chunks`);
      break;
    default:
      lines.push(JSON.stringify(r));
  }
  const failed = r['failedChunks'] as number[] | undefined;
  if (failed && failed.length > 0) lines.push(`FAILED chunks (quarantined): ${failed.slice(0, 20).join(', ')}${failed.length > 20 ? ', ...' : ''}`);
  lines.push(`time ${secs}`);
  return lines.join('\n');
}

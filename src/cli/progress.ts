/** A one-line progress bar on a terminal: chunks done / total, rate, ETA. Silent when not a TTY. */
export class ProgressBar {
  private last = '';
  private readonly enabled: boolean;
  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    enabled?: boolean,
  ) {
    this.enabled = enabled ?? Boolean(stream.isTTY);
  }

  update(done: number, total: number, rate: number | null, eta: number | null, extra = ''): void {
    if (!this.enabled) return;
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - 60));
    const frac = total === 0 ? 1 : Math.min(1, done / total);
    const full = Math.round(frac * width);
    const bar = '█'.repeat(full) + '░'.repeat(width - full);
    const pct = (frac * 100).toFixed(1).padStart(5);
    const r = rate === null ? '' : `  ${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)} chunks/s`;
    const e = eta === null ? '' : `  ETA ${formatDuration(eta)}`;
    const line = `${bar} ${pct}%  ${done}/${total} chunks${r}${e}${extra ? '  ' + extra : ''}`;
    if (line === this.last) return;
    this.last = line;
    this.stream.write(`\r\x1b[2K${line.slice(0, (this.stream.columns ?? 120) - 1)}`);
  }

  done(): void {
    if (this.enabled && this.last) this.stream.write('\r\x1b[2K');
    this.last = '';
  }
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

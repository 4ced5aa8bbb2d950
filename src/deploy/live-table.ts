/**
 * The progress of a deploy: on a terminal a table redrawn in place (host, step, result), at most ten
 * times a second, showing the hosts in progress and the latest finished ones when they do not all fit;
 * elsewhere (a pipe, a CI log) one line per change.
 */
export type RowState = 'waiting' | 'running' | 'ok' | 'failed';

interface Row {
  host: string;
  step: string;
  result: string;
  state: RowState;
  changed: number;
}

export interface TableOutput {
  write(s: string): unknown;
  isTTY?: boolean;
  rows?: number;
  columns?: number;
}

export class LiveTable {
  private readonly rows = new Map<string, Row>();
  private drawn = 0;
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;
  private readonly tty: boolean;
  private readonly color: boolean;

  constructor(
    private readonly out: TableOutput,
    private readonly title: string,
    tty?: boolean,
  ) {
    this.tty = tty ?? out.isTTY === true;
    this.color = this.tty && !process.env['NO_COLOR'];
  }

  add(host: string): void {
    this.rows.set(host, { host, step: '', result: 'waiting', state: 'waiting', changed: this.seq++ });
  }

  update(host: string, step: string, result: string, state: RowState = 'running'): void {
    const row = this.rows.get(host) ?? { host, step, result, state, changed: 0 };
    if (row.step === step && row.result === result && row.state === state && this.rows.has(host)) return;
    Object.assign(row, { step, result, state, changed: this.seq++ });
    this.rows.set(host, row);
    if (!this.tty) {
      this.out.write(`${host}  ${step}  ${result}\n`);
      return;
    }
    if (!this.timer) this.timer = setTimeout(() => this.draw(), 100);
  }

  private paint(s: string, state: RowState): string {
    if (!this.color) return s;
    const code = state === 'ok' ? 32 : state === 'failed' ? 31 : state === 'running' ? 33 : 2;
    return `\x1b[${code}m${s}\x1b[0m`;
  }

  /** The lines of the table (exported for tests). */
  lines(maxRows = this.out.rows || 40, width = this.out.columns || 120): string[] {
    const all = [...this.rows.values()];
    const hw = Math.min(40, Math.max(4, ...all.map((r) => r.host.length)));
    const sw = Math.max(4, ...all.map((r) => r.step.length));
    const count = (s: RowState): number => all.filter((r) => r.state === s).length;
    const head = `${this.title}: ${count('ok')} done, ${count('failed')} failed, ${count('running')} running, ${count('waiting')} waiting`;
    const room = Math.max(3, maxRows - 3);
    let shown = all;
    if (all.length > room) {
      const active = all.filter((r) => r.state === 'running');
      const finished = all.filter((r) => r.state === 'ok' || r.state === 'failed').sort((a, b) => b.changed - a.changed);
      shown = [...active, ...finished].slice(0, room).sort((a, b) => a.changed - b.changed);
    }
    const fit = (s: string): string => (s.length > width - 1 ? s.slice(0, width - 2) + '…' : s);
    return [
      head,
      fit(`${'host'.padEnd(hw)}  ${'step'.padEnd(sw)}  result`),
      ...shown.map((r) => this.paint(fit(`${r.host.padEnd(hw)}  ${r.step.padEnd(sw)}  ${r.result.replace(/\s*\n\s*/g, ' ')}`), r.state)),
    ];
  }

  private draw(): void {
    this.timer = null;
    const lines = this.lines();
    let s = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const l of lines) s += `\x1b[2K${l}\n`;
    for (let i = lines.length; i < this.drawn; i++) s += '\x1b[2K\n';
    const extra = Math.max(0, this.drawn - lines.length);
    if (extra > 0) s += `\x1b[${extra}A`;
    this.out.write(s);
    this.drawn = lines.length;
  }

  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.tty) this.draw();
  }
}

import type { Logger } from 'pino';
import type { Clock } from '../core/index.js';
import type { ChangeKind, HeadEvent } from '../ports/index.js';

/** The head's event bus: a bounded log of events (dashboard, logs) and change notices (what to redraw). */
export class HeadEvents {
  readonly events: HeadEvent[] = [];
  private readonly eventListeners = new Set<(e: HeadEvent) => void>();
  private readonly changeListeners = new Set<(what: ChangeKind, id: string) => void>();

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly keep = 1000,
  ) {}

  event(level: HeadEvent['level'], kind: string, msg: string, extra: Record<string, unknown> = {}): void {
    const e: HeadEvent = { t: this.clock.now(), level, kind, msg };
    this.events.push(e);
    if (this.events.length > this.keep) this.events.splice(0, this.events.length - this.keep);
    this.log[level]({ kind, ...extra }, msg);
    for (const l of this.eventListeners) l(e);
  }

  onEvent(l: (e: HeadEvent) => void): () => void {
    this.eventListeners.add(l);
    return () => this.eventListeners.delete(l);
  }

  onChange(l: (what: ChangeKind, id: string) => void): () => void {
    this.changeListeners.add(l);
    return () => this.changeListeners.delete(l);
  }

  changed(what: ChangeKind, id: string): void {
    for (const l of this.changeListeners) l(what, id);
  }
}

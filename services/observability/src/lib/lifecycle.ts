/** Lifecycle of a long-lived part (gateway node, consumer, worker). */
export type State = 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

const LEGAL: Record<State, State[]> = {
  starting: ['running', 'failed', 'stopped'],
  running: ['draining', 'stopped', 'failed'],
  draining: ['stopped', 'failed'],
  stopped: [],
  failed: [],
};

export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
  readonly code = 'ILLEGAL_TRANSITION';
}

/** A State holder that refuses illegal transitions and tells listeners about changes. */
export class Lifecycle {
  private current: State = 'starting';
  private readonly listeners: ((s: State) => void)[] = [];

  constructor(readonly component: string) {}

  get state(): State {
    return this.current;
  }

  to(next: State): void {
    if (!LEGAL[this.current].includes(next))
      throw new IllegalTransitionError(`${this.component}: cannot go from ${this.current} to ${next}`);
    this.current = next;
    for (const l of this.listeners) l(next);
  }

  onChange(l: (s: State) => void): void {
    this.listeners.push(l);
  }
}

import { Counter, Gauge, Histogram, type Lifecycle, type Registry, type State } from '@chaperone/observability';
import type { Worker } from '@temporalio/worker';

const STATES: State[] = ['starting', 'running', 'draining', 'stopped', 'failed'];

/** Worker metrics: state, Temporal's in-flight counts, and per-activity outcomes and latency. */
export function registerWorkerMetrics(registry: Registry, lifecycle: Lifecycle, worker: () => Worker | undefined) {
  new Gauge({
    name: 'chaperone_approvals_worker_state',
    help: 'Lifecycle state of the approvals worker (1 for the current state).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      for (const s of STATES) this.set({ state: s }, lifecycle.state === s ? 1 : 0);
    },
  });
  new Gauge({
    name: 'chaperone_approvals_inflight_activities',
    help: 'Activities this worker is running right now.',
    registers: [registry],
    collect() {
      this.set(worker()?.getStatus().numInFlightActivities ?? 0);
    },
  });
  new Gauge({
    name: 'chaperone_approvals_inflight_workflow_activations',
    help: 'Workflow activations this worker is processing right now.',
    registers: [registry],
    collect() {
      this.set(worker()?.getStatus().numInFlightWorkflowActivations ?? 0);
    },
  });
  const runs = new Counter({
    name: 'chaperone_approvals_activity_runs_total',
    help: 'Activity attempts by activity and outcome (ok | error).',
    labelNames: ['activity', 'outcome'],
    registers: [registry],
  });
  const seconds = new Histogram({
    name: 'chaperone_approvals_activity_seconds',
    help: 'Duration of activity attempts.',
    labelNames: ['activity'],
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  return { runs, seconds };
}

type AsyncFn = (...args: never[]) => Promise<unknown>;

/** Wraps every activity so each attempt is counted and timed, whatever its implementation. */
export function instrumentActivities<T extends Record<string, AsyncFn>>(activities: T, m: ReturnType<typeof registerWorkerMetrics>): T {
  const wrapped: Record<string, AsyncFn> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      const end = m.seconds.startTimer({ activity: name });
      try {
        const value = await fn(...args);
        m.runs.inc({ activity: name, outcome: 'ok' });
        return value;
      } catch (err) {
        m.runs.inc({ activity: name, outcome: 'error' });
        throw err;
      } finally {
        end();
      }
    };
  }
  return wrapped as T;
}

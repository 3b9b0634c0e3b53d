import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface PgMetrics {
  sessionsActive: Gauge;
  sessions: Counter<'result'>;
  authFailures: Counter<'code'>;
  commands: Counter<'result'>;
  recordWait: Histogram;
}

export function createPgMetrics(registry: Registry): PgMetrics {
  return {
    sessionsActive: new Gauge({ name: 'chaperone_pg_sessions_active', help: 'Open PostgreSQL sessions', registers: [registry] }),
    sessions: new Counter({ name: 'chaperone_pg_sessions_total', help: 'PostgreSQL sessions by how they ended', labelNames: ['result'], registers: [registry] }),
    authFailures: new Counter({ name: 'chaperone_pg_auth_failures_total', help: 'Refused PostgreSQL logins by reason', labelNames: ['code'], registers: [registry] }),
    commands: new Counter({ name: 'chaperone_pg_commands_total', help: 'SQL statements by policy result', labelNames: ['result'], registers: [registry] }),
    recordWait: new Histogram({
      name: 'chaperone_pg_record_wait_seconds',
      help: 'Time a client message waited for the event log acknowledgement before forwarding',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
  };
}

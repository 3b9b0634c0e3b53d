import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface HttpMetrics {
  sessionsActive: Gauge;
  sessions: Counter<'result'>;
  /** Requests by connection kind and outcome (allow, deny, refused:<code>, upstream-error, ...). */
  requests: Counter<'kind' | 'result'>;
  refused: Counter<'code'>;
  /** Requests held for approval, by outcome (approved, reused, pending, denied, expired, unavailable, abandoned). */
  approvals: Counter<'outcome'>;
  /** JSON response bodies under JSON path rules: applied throughout, or not applied from some point (not JSON, too deep). */
  jsonBodies: Counter<'result'>;
  /** Values replaced by JSON path rules. */
  jsonPathMasked: Counter;
  recordWait: Histogram;
  upstreamLatency: Histogram;
}

export function createHttpMetrics(registry: Registry): HttpMetrics {
  return {
    sessionsActive: new Gauge({ name: 'chaperone_http_sessions_active', help: 'Open HTTP sessions (client connection + connection + identity)', registers: [registry] }),
    sessions: new Counter({ name: 'chaperone_http_sessions_total', help: 'HTTP sessions by how they ended', labelNames: ['result'], registers: [registry] }),
    requests: new Counter({ name: 'chaperone_http_requests_total', help: 'HTTP requests by connection kind and outcome', labelNames: ['kind', 'result'], registers: [registry] }),
    refused: new Counter({ name: 'chaperone_http_refused_total', help: 'Requests refused before any upstream contact, by reason', labelNames: ['code'], registers: [registry] }),
    approvals: new Counter({ name: 'chaperone_http_approvals_total', help: 'HTTP requests the policy sent to approval, by outcome', labelNames: ['outcome'], registers: [registry] }),
    jsonBodies: new Counter({ name: 'chaperone_http_json_masked_bodies_total', help: 'JSON response bodies under JSON path mask rules, by whether the rules applied to the whole body', labelNames: ['result'], registers: [registry] }),
    jsonPathMasked: new Counter({ name: 'chaperone_http_json_path_masked_total', help: 'Values replaced in JSON response bodies by JSON path mask rules', registers: [registry] }),
    recordWait: new Histogram({
      name: 'chaperone_http_record_wait_seconds',
      help: 'Time a request waited for the event log acknowledgement before it was forwarded',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    upstreamLatency: new Histogram({
      name: 'chaperone_http_upstream_seconds',
      help: 'Time from forwarding a request to the upstream response head',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers: [registry],
    }),
  };
}

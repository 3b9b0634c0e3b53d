/** Errors of the approvals package; `code` is stable for callers and logs. */
import { errorMessage } from '@chaperone/observability';

/** Temporal's frontend could not be reached or refused the namespace. */
export class TemporalUnavailableError extends Error {
  override name = 'TemporalUnavailableError';
  readonly code = 'TEMPORAL_UNAVAILABLE';
}

/** No approval workflow with that id is running (never started, decided, or expired). */
export class ApprovalNotFoundError extends Error {
  override name = 'ApprovalNotFoundError';
  readonly code = 'APPROVAL_NOT_FOUND';
}

/** The request is malformed (e.g. non-positive TTL, missing ids); fix the caller. */
export class InvalidApprovalRequestError extends Error {
  override name = 'InvalidApprovalRequestError';
  readonly code = 'INVALID_APPROVAL_REQUEST';
}

/** A Slack interactivity request that is not one Slack sends (answered 400). */
export class BadRequest extends Error {
  override name = 'BadRequest';
  readonly code = 'BAD_REQUEST';
}

/** The workflow code could not be found next to the worker (broken build or install). */
export class WorkflowsNotFoundError extends Error {
  override name = 'WorkflowsNotFoundError';
  readonly code = 'WORKFLOWS_NOT_FOUND';
}

/** Turns a connection failure into a message that says where and what to check. */
export function temporalUnavailable(address: string, namespace: string, err: unknown): TemporalUnavailableError {
  const detail = errorMessage(err);
  return new TemporalUnavailableError(
    `cannot reach Temporal at ${address} (namespace "${namespace}"): ${detail}. ` +
      'Is the Temporal server running? Locally `deploy/local/up --infra-only` starts it; otherwise check temporal.address and temporal.namespace in the configuration.',
    { cause: err },
  );
}

/** The server answers but does not know the namespace: a configuration (or setup) problem. */
export function namespaceNotFound(address: string, namespace: string, err: unknown): TemporalUnavailableError {
  return new TemporalUnavailableError(
    `Temporal at ${address} has no namespace "${namespace}". Fix temporal.namespace in the configuration, ` +
      `or create it: \`temporal operator namespace create --namespace ${namespace} --address ${address}\`.`,
    { cause: err },
  );
}

export type SlackRequestProblem = 'missing-headers' | 'stale-timestamp' | 'bad-signature' | 'replayed';

/** An interactivity request that is not provably from Slack, or was seen before; answered 401 and never acted on. */
export class SlackRequestRejectedError extends Error {
  override name = 'SlackRequestRejectedError';
  readonly code = 'SLACK_REQUEST_REJECTED';
  constructor(
    readonly problem: SlackRequestProblem,
    message: string,
  ) {
    super(message);
  }
}

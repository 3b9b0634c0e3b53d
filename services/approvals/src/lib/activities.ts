import { ApplicationFailure } from '@temporalio/activity';
import type { Logger } from '@chaperone/observability';
import type { PingInput, PingResult } from './types.js';

/** What activities need from the process; injected so tests can pass their own. */
export interface ActivityDeps {
  log: Logger;
  /** Node id of this worker, reported back by `ping`. */
  nodeId: string;
  /** @default () => new Date() */
  now?: () => Date;
}

const MAX_PING_MESSAGE = 1024;

/**
 * Builds the activity implementations bound to their dependencies (the Temporal
 * "activities-dependency-injection" pattern): the worker registers the returned object, and
 * workflows.ts proxies them by name through the {@link Activities} type.
 */
export function createActivities(deps: ActivityDeps) {
  const now = deps.now ?? (() => new Date());
  return {
    /** Answers with who ran it and when: proves a worker polls the queue and runs activities. */
    // eslint-disable-next-line @typescript-eslint/require-await -- activities are async by contract
    async ping(input: PingInput): Promise<PingResult> {
      if (typeof input?.message !== 'string' || input.message.length > MAX_PING_MESSAGE)
        // A malformed request will not get better on retry.
        throw ApplicationFailure.nonRetryable(`ping message must be a string of at most ${MAX_PING_MESSAGE} characters`, 'INVALID_PING');
      deps.log.debug({ message: input.message }, 'ping activity');
      return { message: input.message, nodeId: deps.nodeId, at: now().toISOString() };
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

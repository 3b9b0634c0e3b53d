/** Something the fleet, a fault scenario or the cluster benchmark cannot go on without. */
export class FleetError extends Error {
  override name = 'FleetError';
  constructor(
    readonly code: 'NO_STACK' | 'NO_COMPONENT' | 'DEPLOY_FAILED' | 'UNHEALTHY' | 'BAD_ARGS' | 'SETUP_FAILED' | 'FAULT_FAILED',
    message: string,
  ) {
    super(message);
  }
}

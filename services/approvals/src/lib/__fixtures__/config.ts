import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileOptions, defaultConfigPath, loadConfig, type Config } from '@chaperone/config';

/** The configuration deploy/local writes for the running local stack. */
const LOCAL_STACK_CONFIG = fileURLToPath(new URL('../../../../../deploy/local/.run/chaperone.yaml', import.meta.url));
/** Where deploy/local runs the Temporal dev server when no configuration is found. */
const LOCAL_STACK_TEMPORAL = '127.0.0.1:17233';

/**
 * Configuration for tests and the history recorder: the Temporal of $CHAPERONE_CONFIG, else of
 * the local stack (deploy/local/.run/chaperone.yaml), else 127.0.0.1:17233. The task queue is
 * the caller's (unique per run, so concurrent runs never take each other's tasks), the ops
 * server binds an ephemeral port, and Slack is off.
 */
export function temporalTestConfig(taskQueue: string): Config {
  const file = [defaultConfigPath(), LOCAL_STACK_CONFIG].find((f) => existsSync(f));
  const base = file
    ? loadConfig(file)
    : compileOptions(
        { identity: { signingKeyFile: 'unused' }, recording: { nodeKeyFile: 'unused' }, policy: { bundleFile: 'unused' }, temporal: { address: LOCAL_STACK_TEMPORAL } },
        process.cwd(),
      );
  // No Slack unless a test brings its own stand-in: the stack's config may point at one that is not running.
  return { ...base, nodeId: 'approvals-test', temporal: { ...base.temporal, taskQueue, http: { host: '127.0.0.1', port: 0 } }, approvals: { ...base.approvals, slack: undefined } };
}

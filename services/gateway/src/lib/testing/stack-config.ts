import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '@chaperone/config';

const STACK_CONFIG = fileURLToPath(new URL('../../../../../deploy/local/.run/chaperone.yaml', import.meta.url));

/**
 * For the gateway's tests against real parts: the configuration of the environment, else the
 * local stack's (deploy/local/up --infra-only is enough).
 */
export function stackConfig(): Config {
  try {
    return loadConfig(undefined, {});
  } catch (err) {
    if (existsSync(STACK_CONFIG)) return loadConfig(STACK_CONFIG);
    throw err;
  }
}

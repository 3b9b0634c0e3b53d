import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/**
 * The policy pack the CLI ships with: the `@chaperone/policies` package (its Rego sources,
 * `build.sh`, `test.sh` and, once built, `build/bundle.tar.gz`). Found by Node's module
 * resolution from `from`, so it is `policies/` in a checkout (the workspace link) and
 * `node_modules/@chaperone/policies` wherever the CLI is installed, never a path relative to
 * the CLI's own files.
 */
export function policyPackDir(from: string | URL = import.meta.url): string {
  return dirname(createRequire(from).resolve('@chaperone/policies/package.json'));
}

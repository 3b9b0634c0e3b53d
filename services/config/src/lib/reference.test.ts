import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configReference, REFERENCE_FILE } from './reference.js';

describe('REFERENCE.md', () => {
  it('is what the schema generates (run `npm run docs` in services/config after changing the schema)', () => {
    assert.equal(readFileSync(REFERENCE_FILE, 'utf8'), configReference(), 'services/config/REFERENCE.md is stale: run `npm run docs` in services/config');
  });

  it('lists every key, with required keys, defaults, variants and secrets', () => {
    const ref = configReference();
    assert.match(ref, /^\| `identity\.signingKeyFile` \| string \| yes \| {2}\| {2}\|$/m);
    assert.match(ref, /^\| `gateway\.drainTimeout` \| string \\\| number \| {2}\| `"30s"` \| ≥ 0 \|$/m);
    assert.match(ref, /^\| `connections\[\]\.http\.credentials\{type: bearer\}\.token` \| secret \| yes \|/m);
    assert.match(ref, /^\| `connections\[\]\.postgres\.password` \| secret \|/m);
  });
});

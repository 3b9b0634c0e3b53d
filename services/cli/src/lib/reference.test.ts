import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cliReference, REFERENCE_FILE } from './reference.js';

describe('REFERENCE.md', () => {
  it('is what --help of every command prints (run `npm run docs` in services/cli after changing a command)', async () => {
    assert.equal(readFileSync(REFERENCE_FILE, 'utf8'), await cliReference(), 'services/cli/REFERENCE.md is stale: run `npm run docs` in services/cli');
  });

  it('has a section for every command, nested ones included', async () => {
    const titles = [...(await cliReference()).matchAll(/^## (.*)$/gm)].map((m) => m[1]);
    for (const t of ['chaperone', 'chaperone gateway', 'chaperone sessions ls', 'chaperone mcp tools accept', 'chaperone policy eval']) assert.ok(titles.includes(t), t);
  });
});

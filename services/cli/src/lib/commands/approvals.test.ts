import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { register } from './approvals.js';

function program(): Command {
  const p = new Command('chaperone').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(p);
  return p;
}

describe('chaperone approvals', () => {
  it('deny: the help says --reason is required, and the parser requires it', async () => {
    const deny = program().commands.find((c) => c.name() === 'approvals')!.commands.find((c) => c.name() === 'deny')!;
    const help = deny.helpInformation();
    assert.match(help, /^Usage: chaperone approvals deny --reason <text> \[options\] <id>$/m);
    assert.match(help, /--reason <text>\s+required:/);
    await assert.rejects(program().parseAsync(['node', 'chaperone', 'approvals', 'deny', 'approval-3f2a9c01']), /required option '--reason <text>' not specified/);
  });
});

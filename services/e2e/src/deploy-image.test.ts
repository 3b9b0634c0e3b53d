/**
 * deploy/Containerfile, checked statically (no container engine runs here): multi-stage, pinned
 * base images, a non-root runtime with tini as PID 1 running the `chaperone` CLI, the OPA-built
 * policy bundle inside, no secrets, and every workspace's package.json copied before `npm ci`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@chaperone/loadtest';

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

/** Instructions with continuation lines joined and comments dropped; `stage` counts FROMs from 0. */
function parseContainerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  let pending = '';
  for (const line of text.split('\n')) {
    // Comment lines are dropped, also inside a continued instruction (as BuildKit does).
    if (/^\s*#/.test(line)) continue;
    pending += pending ? ` ${line.trim()}` : line.trim();
    if (pending.endsWith('\\')) {
      pending = pending.slice(0, -1).trimEnd();
      continue;
    }
    if (pending) {
      const [, op, args] = /^(\w+)\s+(.*)$/s.exec(pending) ?? [];
      if (!op) throw new Error(`cannot parse: ${pending}`);
      if (op.toUpperCase() === 'FROM') stage++;
      out.push({ op: op.toUpperCase(), args: args!, stage });
    }
    pending = '';
  }
  return out;
}

const file = join(repoRoot, 'deploy/Containerfile');
const ins = parseContainerfile(readFileSync(file, 'utf8'));
const froms = ins.filter((i) => i.op === 'FROM');
const last = froms.length - 1;
const runtime = ins.filter((i) => i.stage === last);
const args = new Map(ins.filter((i) => i.op === 'ARG').map((i) => [i.args.split('=')[0]!, i.args.split('=').slice(1).join('=')]));

describe('deploy/Containerfile', () => {
  it('has a build stage and a runtime stage, each base image pinned to an exact version', () => {
    assert.ok(froms.length >= 2, 'multi-stage');
    for (const f of froms) {
      const ref = f.args.split(/\s+/)[0]!;
      const image = ref.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? `<ARG ${name} without default>`);
      const tag = image.includes('@sha256:') ? 'digest' : (image.split('/').at(-1)!.split(':')[1] ?? '');
      assert.match(tag, /^(digest|\d+\.\d+\.\d+[\w.-]*)$/, `FROM ${ref} (${image}) is not pinned to an exact version`);
    }
  });

  it('runs as a non-root numeric user, with tini as PID 1 and the chaperone CLI as the entrypoint', () => {
    const user = runtime.filter((i) => i.op === 'USER').at(-1);
    assert.ok(user, 'the runtime stage sets USER');
    const uid = user.args.split(':')[0]!;
    assert.match(uid, /^\d+$/, 'numeric uid (runAsNonRoot can verify it)');
    assert.notEqual(Number(uid), 0);
    const entry = JSON.parse(runtime.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
    assert.equal(entry[0], '/usr/bin/tini');
    assert.equal(entry[1], '--');
    assert.ok(entry.includes('/opt/chaperone/services/cli/dist/main.js'));
    const apt = runtime.find((i) => i.op === 'RUN' && i.args.includes('apt-get install'))!;
    assert.match(apt.args, /tini=\$\{TINI_VERSION\}/, 'tini pinned');
  });

  it('ships the built services, production dependencies only, and the policy bundle built with OPA', () => {
    const copies = runtime.filter((i) => i.op === 'COPY').map((i) => i.args);
    assert.ok(copies.every((c) => c.startsWith('--from=build')), `runtime copies only from the build stage: ${copies.join(' | ')}`);
    assert.ok(copies.some((c) => c.endsWith('/opt/chaperone/policy/bundle.tar.gz')));
    const build = ins.filter((i) => i.op === 'RUN' && i.stage < last).map((i) => i.args).join('\n');
    assert.match(build, /npm ci --omit=dev/);
    assert.match(build, /nx run-many -t build/);
    assert.ok(ins.some((i) => i.op === 'COPY' && i.args.includes('--from=opa')), 'OPA comes from its image');
  });

  it('holds no secrets and downloads nothing outside the package managers', () => {
    for (const i of ins) {
      if (i.op === 'ENV' || i.op === 'ARG') assert.doesNotMatch(i.args, /(PASSWORD|SECRET|TOKEN|PRIVATE|API_KEY)\w*\s*=/i, `${i.op} ${i.args}`);
      if (i.op === 'COPY' || i.op === 'ADD') assert.doesNotMatch(i.args, /\.pem|\.key\b|secrets|\.run|\.env\b/, `${i.op} ${i.args}`);
      if (i.op === 'ADD') assert.fail(`ADD ${i.args}: use COPY`);
      if (i.op === 'RUN') assert.doesNotMatch(i.args, /\b(curl|wget)\b/, `RUN ${i.args}`);
    }
    const ignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8');
    for (const p of ['deploy/local/.run', '**/node_modules', '.git']) assert.ok(ignore.split('\n').includes(p), `.dockerignore lacks ${p}`);
  });

  it('copies every workspace package.json before npm ci (so the lock file resolves)', () => {
    const copied = new Set(ins.filter((i) => i.op === 'COPY' && i.args.includes('package.json')).map((i) => i.args.split(/\s+/)[0]));
    const workspaces = ['schemas', 'policies', 'loadtest', ...readdirSync(join(repoRoot, 'services')).map((d) => `services/${d}`)];
    for (const w of workspaces) if (existsSync(join(repoRoot, w, 'package.json'))) assert.ok(copied.has(`${w}/package.json`), `COPY ${w}/package.json is missing`);
  });
});

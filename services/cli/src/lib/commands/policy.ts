import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import type { Config } from '@chaperone/config';
import { initSqlParser, parseSql, PolicyEngine, type PolicyDecision, type PolicyInput } from '@chaperone/gateway';
import { configFrom, printJson, UserError, withConfig } from '../context.js';
import { policyPackDir } from '../policy-pack.js';
import { errorMessage } from '@chaperone/observability';

/** A script of the policy pack the CLI ships with (@chaperone/policies). */
function script(name: 'build.sh' | 'test.sh'): string {
  let dir: string;
  try {
    dir = policyPackDir();
  } catch (err) {
    throw new UserError(`cannot find the policy pack @chaperone/policies (installed with the CLI): ${errorMessage(err)}`);
  }
  const path = join(dir, name);
  if (!existsSync(path)) throw new UserError(`cannot find ${path}; reinstall the CLI with its policy pack @chaperone/policies`);
  return path;
}

/** Runs a policies/ script; stderr goes straight to the user, stdout is returned when captured. */
function runScript(path: string, args: string[], captureStdout: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path, ...args], { stdio: ['ignore', captureStdout ? 'pipe' : 'inherit', 'inherit'] });
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', (err) => reject(new UserError(`cannot run ${path}: ${err.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else if (code === 127) reject(new UserError('OPA is missing (see above); run deploy/local/install, or set OPA=/path/to/opa', 127));
      else reject(new UserError(`${path} failed with exit code ${code ?? 'signal'} (see above)`, code ?? 1));
    });
  });
}

function keyValue(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function readInput(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read input ${file}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UserError(`input ${file} is not JSON: ${errorMessage(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UserError(`input ${file} must be a JSON object (see policies/README.md)`);
  return value as Record<string, unknown>;
}

/** A PostgreSQL command given only as text gets parsed here, exactly as the gateway would. */
async function completeSql(input: Record<string, unknown>): Promise<void> {
  const command = input.command as Record<string, unknown> | undefined;
  if (command?.protocol !== 'postgres' || typeof command.text !== 'string' || command.sql !== undefined) return;
  await initSqlParser();
  const sql = parseSql(command.text);
  const types = sql.statements.map((s) => s.type);
  command.sql = sql;
  command.action ??= sql.error !== undefined ? 'UNPARSEABLE' : types.length === 0 ? 'EMPTY' : types.length === 1 ? types[0] : 'MULTI';
  command.targets ??= [...new Set(sql.statements.flatMap((s) => s.tables))];
}

interface EvalOptions {
  config?: string;
  input?: string;
  sql?: string;
  bundle?: string;
  connection?: string;
  label?: Record<string, string>;
  subject: string;
  groups?: string;
  json?: boolean;
}

function inputFromFlags(opts: EvalOptions, config: () => Config): Record<string, unknown> {
  let labels: Record<string, string> = {};
  if (opts.connection) {
    const conn = config().connections.find((c) => c.name === opts.connection);
    if (!conn) throw new UserError(`no connection named "${opts.connection}" in the configuration; known: ${config().connections.map((c) => c.name).join(', ') || '(none)'}`);
    labels = conn.labels;
  }
  return {
    identity: { subject: opts.subject, issuer: 'chaperone', groups: (opts.groups ?? '').split(',').filter((g) => g !== ''), claims: {} },
    connection: { name: opts.connection ?? 'cli', protocol: 'postgres', labels: { ...labels, ...opts.label } },
    session: { id: 'cli-eval', clientAddress: '127.0.0.1:0', node: 'cli' },
    command: { protocol: 'postgres', text: opts.sql },
  };
}

function printDecision(d: PolicyDecision): void {
  process.stdout.write(`${d.result.toUpperCase()}  (revision ${d.revision}, ${d.evalMicros} µs)\n`);
  for (const r of d.reasons) process.stdout.write(`  - ${r}\n`);
  if (d.approval) {
    const a = d.approval;
    process.stdout.write(`  approvers: ${a.approverGroups.join(', ')} (quorum ${a.quorum}); an approval stays valid ${Math.round(a.ttlMs / 1000)} s\n`);
  }
}

/** Registers `chaperone policy build|test|eval`. */
export function register(program: Command): void {
  const policy = program.command('policy').description('build, test and try the OPA policy pack that decides every command');

  policy
    .command('build')
    .description('compile the Rego policy pack to the Wasm bundle gateways load (policies/build.sh; needs OPA from deploy/local/install)')
    .option('-s, --src <dir>', 'policy pack directory (default: the pack installed with the CLI, @chaperone/policies: policies/ in a checkout)')
    .option('-o, --output <file>', 'bundle to write (default: build/bundle.tar.gz of the policy pack, policies/build/bundle.tar.gz in a checkout: what deploy/local configures as policy.bundleFile)')
    .option('--json', 'print {bundle, revision}')
    .addHelpText('after', '\nThe bundle is replaced atomically; running gateways pick it up within policy.reloadInterval if it passes their self-check.')
    .action(async (opts: { src?: string; output?: string; json?: boolean }) => {
      const args = [...(opts.src ? ['-s', opts.src] : []), ...(opts.output ? ['-o', opts.output] : [])];
      const out = await runScript(script('build.sh'), args, true);
      const m = /^(.*) \(revision (\S+)\)$/m.exec(out.trim());
      if (!m) throw new UserError(`policies/build.sh printed something unexpected: ${out.trim()}`);
      if (opts.json) printJson({ bundle: m[1], revision: m[2] });
      else process.stdout.write(`built ${m[1]} (revision ${m[2]})\n`);
    });

  policy
    .command('test')
    .description('check formatting and run the Rego unit tests (*_test.rego) with opa test')
    .option('-s, --src <dir>', 'policy pack directory (default: the pack installed with the CLI, @chaperone/policies: policies/ in a checkout)')
    .option('-r, --run <regex>', 'only run tests whose name matches')
    .action(async (opts: { src?: string; run?: string }) => {
      await runScript(script('test.sh'), [...(opts.src ? ['-s', opts.src] : []), ...(opts.run ? ['-r', opts.run] : [])], false);
    });

  withConfig(policy.command('eval'))
    .description('evaluate one policy input against a bundle and print the decision and its evaluation time')
    .option('-i, --input <file>', 'policy input JSON (contract in policies/README.md), "-" for stdin; a postgres command with only "text" is parsed here')
    .option('--sql <text>', 'instead of --input: evaluate this SQL as a postgres command')
    .option('--connection <name>', 'with --sql: take the connection\'s labels from the configuration')
    .option('-l, --label <key=value>', 'with --sql: connection label (repeatable), e.g. env=prod', keyValue)
    .option('--subject <subject>', 'with --sql: identity subject', 'cli:policy-eval')
    .option('-g, --groups <groups>', 'with --sql: comma-separated identity groups')
    .option('-b, --bundle <file>', 'bundle to load (default: policy.bundleFile from the configuration)')
    .option('--json', 'print the decision as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        "  chaperone policy eval --bundle policies/build/bundle.tar.gz --sql 'DROP TABLE orders' -l env=prod\n" +
        '  chaperone policy eval --input input.json --json',
    )
    .action(evaluate);
}

/** `chaperone policy eval`: one input (a file, or built from --sql and flags) against a bundle. */
async function evaluate(opts: EvalOptions): Promise<void> {
  if (!opts.input === !opts.sql) throw new UserError('give exactly one of --input <file> or --sql <text>');
  let config: Config | undefined;
  const getConfig = () => (config ??= configFrom(opts));
  const input = opts.input ? readInput(opts.input) : inputFromFlags(opts, getConfig);
  await completeSql(input);
  const bundle = opts.bundle ?? getConfig().policy.bundleFile;
  let engine: PolicyEngine;
  try {
    engine = await PolicyEngine.load(bundle);
  } catch (err) {
    throw new UserError(errorMessage(err));
  }
  const decision = engine.evaluate(input as unknown as PolicyInput);
  if (opts.json) printJson(decision);
  else printDecision(decision);
}

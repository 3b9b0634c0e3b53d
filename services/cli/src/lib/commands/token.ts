import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '@chaperone/config';
import { IdentityError, TokenIssuer, TokenVerifier, type AgentIdentity } from '@chaperone/identity';
import { configFrom, printJson, UserError, withConfig } from '../context.js';
import { errorMessage } from '@chaperone/observability';

function ttl(value: string): number {
  try {
    return parseDuration(value, '--ttl');
  } catch (err) {
    throw new InvalidArgumentError(errorMessage(err));
  }
}

function claim(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function groupList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((g) => g.trim()).filter((g) => g !== '')];
}

/** Identity errors are the user's to fix (wrong key, expired token): show the message only. */
function userFacing(err: unknown): unknown {
  return err instanceof IdentityError ? new UserError(err.message) : err;
}

const REISSUE = 'issue a new one with `chaperone token issue`';

function until(ms: number): string {
  const s = Math.round((ms - Date.now()) / 1000);
  if (s <= 0) return 'expired';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `in ${h ? `${h}h ` : ''}${h || m ? `${m}m ` : ''}${s % 60}s`;
}

function printIdentity(id: AgentIdentity): void {
  const rows: [string, string][] = [
    ['subject', id.subject],
    ['issuer', id.issuer],
    ['groups', id.groups.join(', ') || '(none)'],
    ['token id', id.tokenId],
    ['expires', `${new Date(id.expiresAt).toISOString()} (${until(id.expiresAt)})`],
    ['claims', Object.keys(id.claims).length ? JSON.stringify(id.claims) : '(none)'],
  ];
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(9)} ${v}\n`);
}

function readToken(arg: string): string {
  const token = (arg === '-' ? readFileSync(0, 'utf8') : arg).trim();
  if (!token) throw new UserError('no token given; pass it as the argument or "-" to read it from stdin');
  return token;
}

/** Registers `chaperone token issue` and `chaperone token inspect`. */
export function register(program: Command): void {
  const token = program
    .command('token')
    .description('issue and inspect short-lived agent identity tokens (Ed25519-signed JWTs)');

  withConfig(token.command('issue'))
    .description('issue a token for an agent or CI job, signed with identity.signingKeyFile; prints the JWT alone on stdout')
    .requiredOption('-s, --subject <subject>', 'who the token identifies, e.g. ci:deploy-bot or agent:claude')
    .option('-g, --groups <groups>', 'comma-separated groups the policy can use (repeatable), e.g. deployers,ci', groupList)
    .option('-t, --ttl <duration>', 'lifetime, e.g. 15m, 2h (default: identity.defaultTtl; at most identity.maxTtl)', ttl)
    .option('--claim <key=value>', 'extra string claim the policy sees in identity.claims (repeatable)', claim)
    .option('--json', 'print {token, subject, groups, tokenId, expiresAt (ISO 8601)} instead of the bare token')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  export PGPASSWORD=$(chaperone token issue --subject ci:deploy-bot --groups deployers --ttl 15m)\n' +
        '  chaperone token issue -s agent:claude --claim repo=acme/shop --json',
    )
    .action(async (opts: { config?: string; subject: string; groups?: string[]; ttl?: number; claim?: Record<string, string>; json?: boolean }) => {
      const config = configFrom(opts);
      try {
        const issuer = await TokenIssuer.fromConfig(config.identity);
        const issued = await issuer.issueDetailed({ subject: opts.subject, groups: opts.groups ?? [], ttlMs: opts.ttl, claims: opts.claim ?? {} });
        if (opts.json) printJson({ ...issued, expiresAt: new Date(issued.expiresAt).toISOString() });
        else process.stdout.write(`${issued.token}\n`);
      } catch (err) {
        throw userFacing(err);
      }
    });

  withConfig(token.command('inspect'))
    .description('verify a token against this configuration (key, issuer, audience, expiry) and print the identity it proves')
    .argument('<token>', 'the JWT, or "-" to read it from stdin')
    .option('--json', 'print the identity as JSON (expiresAt as ISO 8601)')
    .addHelpText(
      'after',
      '\nExits 1 with the reason (expired, wrong audience, bad signature, …) when the token is not valid; a token ' +
        'expired within identity.clockSkew is still printed (with --json too), then exits 1.',
    )
    .action(async (arg: string, opts: { config?: string; json?: boolean }) => {
      const config = configFrom(opts);
      try {
        const verifier = await TokenVerifier.fromConfig(config.identity);
        const id = await verifier.verify(readToken(arg));
        if (opts.json) printJson({ ...id, expiresAt: new Date(id.expiresAt).toISOString() });
        else printIdentity(id);
        // The verifier allows identity.clockSkew past `exp`; a person asking about the token is told it has expired.
        if (id.expiresAt <= Date.now()) throw new UserError(`token expired at ${new Date(id.expiresAt).toISOString()}; ${REISSUE}`);
      } catch (err) {
        throw userFacing(err);
      }
    });
}

import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { createApiClient } from '@chaperone/api/client';
import { printJson, UserError } from '../context.js';
import { withApi, withApiClient, type ApiOptions } from '../grpc-client.js';
import { removeLogin, writeLogin } from '../login/credentials.js';
import { browserLogin, deviceLogin, discover } from '../login/oidc.js';

function openBrowser(url: string): void {
  process.stderr.write(`Open this address to log in:\n  ${url}\n`);
  try {
    spawn('xdg-open', [url], { stdio: 'ignore', detached: true }).on('error', () => undefined).unref();
  } catch {
    // No browser here: the address above is enough.
  }
}

/** Registers `chaperone login`, `logout` and `whoami`. */
export function register(program: Command): void {
  program
    .command('login')
    .summary('log in as a person (SOC analyst, approver, admin) with the OpenID provider the API names')
    .description(
      'Logs in with OpenID Connect: the device authorization grant by default (a code to enter in any browser), or ' +
        '--browser for the authorization code flow with PKCE and a loopback redirect. The API tells where to log in; ' +
        'the tokens are kept 0600 in $XDG_CONFIG_HOME/chaperone/credentials.json (~/.config/chaperone) and refreshed ' +
        'when they expire. No server configuration is needed.',
    )
    .requiredOption('--api <host:port>', 'the Chaperone API (default: $CHAPERONE_API)', process.env.CHAPERONE_API)
    .option('--browser', 'log in through a browser on this machine (authorization code + PKCE)')
    .action(async (opts: { api: string; browser?: boolean }) => {
      const api = createApiClient(opts.api, { timeoutMs: 10_000 });
      let info;
      try {
        info = await api.loginInfo();
      } finally {
        api.close();
      }
      if (!info.issuer) throw new UserError(`the API at ${opts.api} has no login configured (config login: issuer, clientId)`);
      const provider = await discover(info.issuer);
      const tokens = opts.browser
        ? await browserLogin(provider, info.clientId, openBrowser)
        : await deviceLogin(provider, info.clientId, (uri, code, complete) =>
            process.stderr.write(`To log in, open ${complete ?? uri}${complete ? '' : ` and enter the code ${code}`}\n(code ${code}; waiting…)\n`),
          );
      const file = await writeLogin({ api: opts.api, issuer: info.issuer, clientId: info.clientId, tokenEndpoint: provider.token_endpoint, ...tokens });
      const me = await withApiClient({ api: opts.api }, (c) => c.whoami());
      process.stdout.write(`logged in as ${me.subject} (roles: ${me.roles.join(', ') || 'none'}); credentials in ${file}\n`);
    });

  program
    .command('logout')
    .description('Forget the stored login')
    .action(async () => {
      process.stdout.write((await removeLogin()) ? 'logged out\n' : 'not logged in\n');
    });

  withApi(program.command('whoami'))
    .description('Who the API says you are: subject, issuer, groups, roles and when the token expires')
    .option('--json', 'print as JSON')
    .action(async (opts: ApiOptions & { json?: boolean }) => {
      const me = await withApiClient(opts, (c) => c.whoami());
      if (opts.json) return printJson(me);
      process.stdout.write(
        `subject  ${me.subject}\nissuer   ${me.issuer}\ngroups   ${me.groups.join(', ') || '(none)'}\nroles    ${me.roles.join(', ') || '(none)'}\nexpires  ${new Date(me.expiresMicros / 1000).toISOString()}\n`,
      );
    });
}

// The local OpenID provider for human login (`chaperone login`) in tests: panva's oidc-provider
// (OpenID Certified), installed pinned under the cache by deploy/local/install and started by
// deploy/local/up as component `oidc`. Static test users with groups; the CLI's public client
// may use the device grant (RFC 8628) and the authorization code flow with PKCE and a loopback
// redirect. Its development login form accepts the users below with the password "chaperone".
// The console's web client logs people in with the authorization code flow + PKCE, back to the
// console's callback on the API's HTTPS port. With OIDC_GATEWAY_CLIENT_SECRET set, the
// confidential client chaperone-gateway may use the client credentials grant (scope mcp), and
// OIDC_CLIENT_CREDENTIALS_TTL (seconds, default 600) is the lifetime of those tokens.
// Usage: node server.mjs <oidc-provider module dir> <port> [<console port>]
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const [moduleDir, port, consolePort = '19443'] = process.argv.slice(2);
const { default: Provider } = await import(pathToFileURL(`${moduleDir}/node_modules/oidc-provider/lib/index.js`).href);

/** Test people: SOC analyst, approvers (dba), an admin, and someone with no role. */
const USERS = {
  sam: { groups: ['soc'] },
  alice: { groups: ['dba'] },
  bob: { groups: ['sre-oncall'] },
  adam: { groups: ['admins'] },
  mallory: { groups: ['developers'] },
};

const issuer = `http://127.0.0.1:${port}`;
// A confidential client for the OAuth client credentials grant (RFC 6749 §4.4): the gateway
// gets access tokens for an upstream (an MCP server) with it; its secret comes from the
// environment, and tests may shorten the tokens' lifetime to see them renewed.
const gatewaySecret = process.env.OIDC_GATEWAY_CLIENT_SECRET;
const gatewayClients = gatewaySecret
  ? [{ client_id: 'chaperone-gateway', client_secret: gatewaySecret, token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'mcp' }]
  : [];
const clientCredentialsTtl = Number(process.env.OIDC_CLIENT_CREDENTIALS_TTL ?? 600);
const provider = new Provider(issuer, {
  clients: [
    ...gatewayClients,
    {
      client_id: 'chaperone-cli',
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    },
    {
      client_id: 'chaperone-console',
      token_endpoint_auth_method: 'none',
      application_type: 'web',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [`https://127.0.0.1:${consolePort}/api/v1/login/oidc/callback`],
    },
  ],
  claims: { openid: ['sub'], profile: ['preferred_username', 'name'], groups: ['groups'] },
  scopes: ['openid', 'profile', 'groups', 'offline_access', 'mcp'],
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true }, deviceFlow: { enabled: true }, revocation: { enabled: true }, clientCredentials: { enabled: true }, introspection: { enabled: true } },
  pkce: { required: () => true },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  ttl: { IdToken: 600, AccessToken: 600, ClientCredentials: clientCredentialsTtl, DeviceCode: 300, Interaction: 600, Session: 3600, Grant: 3600, RefreshToken: 86400 },
  async loadExistingGrant(ctx) {
    // Test users consent once for everything the CLI asks: no consent screen to click through.
    const grantId = ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile groups offline_access');
    grant.addOIDCClaims(['preferred_username', 'groups']);
    await grant.save();
    return grant;
  },
  async findAccount(_ctx, id) {
    const user = USERS[id];
    if (!user) return undefined;
    return { accountId: id, claims: () => ({ sub: id, preferred_username: id, name: id, groups: user.groups }) };
  },
});
// Loopback redirects may use any port (RFC 8252 §7.3): oidc-provider allows that for native clients.
provider.proxy = false;
createServer(provider.callback()).listen(Number(port), '127.0.0.1', () => process.stdout.write(`oidc-provider listening on ${issuer}\n`));

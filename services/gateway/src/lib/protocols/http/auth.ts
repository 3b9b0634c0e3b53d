import { HttpProtocolError } from './errors.js';

export interface AgentCredentials {
  scheme: 'bearer' | 'basic';
  token: string;
  /** Basic only: the user name the client sent (git and registry clients need one). */
  username: string;
}

// RFC 9110 §11.2 token68, which is what a JWT is.
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_AUTHORIZATION = 16 * 1024;

/**
 * Reads the agent's token: `Authorization: Bearer <token>`, or Basic with the token as the
 * password (git, skopeo and docker only speak Basic to a server that asks for it). A Basic
 * credential with an empty password takes the user name as the token (`curl -u TOKEN:`).
 */
export function parseAgentAuthorization(value: string | undefined): AgentCredentials {
  if (value === undefined || value.trim() === '')
    throw new HttpProtocolError('MISSING_CREDENTIALS', 'authenticate with "Authorization: Bearer <token>" or Basic auth with the token as the password (chaperone token issue)');
  if (value.length > MAX_AUTHORIZATION) throw new HttpProtocolError('BAD_AUTHORIZATION', 'the Authorization header is too long');
  const m = /^\s*([A-Za-z]+)\s+(\S+)\s*$/.exec(value);
  if (!m) throw new HttpProtocolError('BAD_AUTHORIZATION', 'the Authorization header is not "<scheme> <credentials>"');
  const scheme = m[1]!.toLowerCase();
  const cred = m[2]!;
  if (scheme === 'bearer') {
    if (!TOKEN68.test(cred)) throw new HttpProtocolError('BAD_AUTHORIZATION', 'the bearer token has characters a token cannot have');
    return { scheme: 'bearer', token: cred, username: '' };
  }
  if (scheme === 'basic') {
    if (!/^[A-Za-z0-9+/]+=*$/.test(cred)) throw new HttpProtocolError('BAD_AUTHORIZATION', 'the Basic credentials are not base64');
    const decoded = Buffer.from(cred, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new HttpProtocolError('BAD_AUTHORIZATION', 'the Basic credentials have no ":" between user and password');
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const token = password !== '' ? password : username;
    if (token === '') throw new HttpProtocolError('MISSING_CREDENTIALS', 'Basic credentials without a token: put the token in the password');
    return { scheme: 'basic', token, username };
  }
  throw new HttpProtocolError('BAD_AUTHORIZATION', `unsupported Authorization scheme "${m[1]}"; use Bearer or Basic`);
}

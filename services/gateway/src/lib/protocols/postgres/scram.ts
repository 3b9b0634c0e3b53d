/**
 * Client side of SCRAM-SHA-256 as PostgreSQL speaks it, for logging in to upstream servers
 * with injected credentials, and the legacy MD5 password hash.
 *
 * - SCRAM: RFC 5802 (algorithm, message syntax) with SHA-256 per RFC 7677.
 * - No channel binding: the GS2 header is 'n,,' ("client does not support it"), so the
 *   channel-binding attribute is c=biws (base64 of 'n,,'). Use TLS to the upstream regardless.
 * - Like libpq, the username in client-first is empty ('n=,r=...'): PostgreSQL ignores it and
 *   takes the role from the StartupMessage, and an empty name avoids SASLname escaping.
 * @see https://www.rfc-editor.org/rfc/rfc5802
 * @see https://www.rfc-editor.org/rfc/rfc7677
 * @see https://www.postgresql.org/docs/current/sasl-authentication.html
 */
import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { PgProtocolError, malformed } from './errors.js';
import { saslprep } from './saslprep.js';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';

export interface ScramClientOptions {
  /** Client nonce; tests inject RFC vectors. @default 18 random bytes, base64 (as libpq) */
  nonce?: string;
  /** Put the username in client-first (RFC test vectors do). @default false (as libpq) */
  sendUsername?: boolean;
  /**
   * Refuse servers asking for more PBKDF2 iterations: each one costs CPU on the gateway, and
   * an upstream we do not control should not be able to stall it. PostgreSQL's default is 4096.
   * @default 1_000_000
   */
  maxIterations?: number;
}

interface ServerFirst {
  nonce: string;
  salt: Buffer;
  iterations: number;
}

const pbkdf2Async = promisify(pbkdf2);

export class ScramClient {
  private readonly clientNonce: string;
  private readonly clientFirstBare: string;
  private readonly maxIterations: number;
  private expectedServerSignature: Buffer | undefined;
  private state: 'initial' | 'first-sent' | 'final-sent' | 'done' = 'initial';

  constructor(
    user: string,
    private readonly password: string,
    opts: ScramClientOptions = {},
  ) {
    this.clientNonce = opts.nonce ?? randomBytes(18).toString('base64');
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(this.clientNonce)) throw new RangeError('nonce must be printable ASCII without commas');
    this.clientFirstBare = `n=${opts.sendUsername ? saslName(user) : ''},r=${this.clientNonce}`;
    this.maxIterations = opts.maxIterations ?? 1_000_000;
  }

  /** The SASLInitialResponse data for mechanism 'SCRAM-SHA-256'. */
  clientFirstMessage(): string {
    this.step('initial', 'first-sent');
    return `n,,${this.clientFirstBare}`;
  }

  /** Takes AuthenticationSASLContinue data, returns the SASLResponse data (client-final). */
  handleServerFirst(serverFirst: string): string {
    const sf = this.parseServerFirst(serverFirst);
    const salted = pbkdf2Sync(saslprep(this.password), sf.salt, sf.iterations, 32, 'sha256');
    return this.clientFinal(serverFirst, sf, salted);
  }

  /** As handleServerFirst, with PBKDF2 on the libuv pool so logins do not block the event loop. */
  async handleServerFirstAsync(serverFirst: string): Promise<string> {
    const sf = this.parseServerFirst(serverFirst);
    const salted = await pbkdf2Async(saslprep(this.password), sf.salt, sf.iterations, 32, 'sha256');
    return this.clientFinal(serverFirst, sf, salted);
  }

  /** Takes AuthenticationSASLFinal data; throws unless the server proved it knows the password. */
  verifyServerFinal(serverFinal: string): void {
    this.step('final-sent', 'done');
    const attrs = parseAttributes(serverFinal);
    const error = attrs.get('e');
    if (error !== undefined) throw new PgProtocolError('AUTH_FAILED', `SCRAM server error: ${error}`);
    const verifier = base64(attrs.get('v'), 'server-final verifier');
    const expected = this.expectedServerSignature ?? Buffer.alloc(0);
    // Constant-time comparison so a forged server-final cannot learn the signature byte by byte.
    if (verifier.length !== expected.length || !timingSafeEqual(verifier, expected)) {
      throw new PgProtocolError('AUTH_FAILED', 'SCRAM server signature mismatch: the server does not know the password');
    }
  }

  private parseServerFirst(serverFirst: string): ServerFirst {
    this.step('first-sent', 'final-sent');
    const attrs = parseAttributes(serverFirst);
    if (serverFirst.startsWith('m=')) throw malformed('SCRAM: unsupported mandatory extension');
    const nonce = attrs.get('r') ?? '';
    // RFC 5802 §5.1: the server nonce must extend ours, or this is a replayed/forged exchange.
    if (!nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) {
      throw new PgProtocolError('AUTH_FAILED', 'SCRAM: server nonce does not extend the client nonce');
    }
    const salt = base64(attrs.get('s'), 'salt');
    const iterations = Number(attrs.get('i'));
    if (!Number.isInteger(iterations) || iterations < 1 || !/^\d+$/.test(attrs.get('i') ?? '')) {
      throw malformed('SCRAM: bad iteration count');
    }
    if (iterations > this.maxIterations) {
      throw new PgProtocolError('AUTH_FAILED', `SCRAM: ${iterations} iterations exceed the limit of ${this.maxIterations}`);
    }
    return { nonce, salt, iterations };
  }

  /** RFC 5802 §3: proof = ClientKey XOR HMAC(H(ClientKey), AuthMessage). */
  private clientFinal(serverFirst: string, sf: ServerFirst, saltedPassword: Buffer): string {
    const withoutProof = `c=biws,r=${sf.nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientKey = hmac(saltedPassword, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = (clientKey[i] ?? 0) ^ (signature[i] ?? 0);
    this.expectedServerSignature = hmac(hmac(saltedPassword, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  private step(from: ScramClient['state'], to: ScramClient['state']): void {
    if (this.state !== from) throw new PgProtocolError('UNEXPECTED_MESSAGE', `SCRAM step out of order (state ${this.state})`);
    this.state = to;
  }
}

/**
 * PostgreSQL's MD5 password response: 'md5' + md5hex(md5hex(password + user) + salt).
 * MD5 is deprecated in PostgreSQL; supported only for legacy upstreams.
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP
 */
export function md5Password(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password, 'utf8').update(user, 'utf8').digest('hex');
  return 'md5' + createHash('md5').update(inner, 'utf8').update(salt).digest('hex');
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** RFC 5802 §5.1: saslname escapes ',' as '=2C' and '=' as '=3D'. */
function saslName(user: string): string {
  return user.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** 'k=v,k=v' → map; values may contain '=' (base64 padding). */
function parseAttributes(msg: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const part of msg.split(',')) {
    if (!/^[a-zA-Z]=/.test(part)) throw malformed(`SCRAM: malformed attribute ${JSON.stringify(part.slice(0, 20))}`);
    attrs.set(part[0] ?? '', part.slice(2));
  }
  return attrs;
}

function base64(value: string | undefined, what: string): Buffer {
  if (!value || !/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) throw malformed(`SCRAM: bad ${what}`);
  return Buffer.from(value, 'base64');
}

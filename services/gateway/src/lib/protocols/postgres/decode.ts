/**
 * Decoders for startup-phase and frontend (client → server) messages. Each takes the payload
 * (body after the length field) of one framed message from MessageReader, returns a typed
 * object whose Buffers are zero-copy slices of it, and throws PgProtocolError on bad content.
 * Backend decoders live in decode-backend.ts.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
import { Frontend, StartupCode } from './codes.js';
import { Cursor } from './cursor.js';
import { PgProtocolError, malformed } from './errors.js';
import type {
  BindMessage,
  ExecuteMessage,
  FrontendMessage,
  FunctionCallMessage,
  ParseMessage,
  SaslInitialResponse,
  StartupPacket,
  TargetMessage,
} from './messages.js';
import type { PgMessage } from './reader.js';

/** StartupMessage, SSLRequest, GSSENCRequest or CancelRequest (payload starts with the request code). */
export function decodeStartupPacket(payload: Buffer): StartupPacket {
  const c = new Cursor(payload, 'startup packet');
  const code = c.int32();
  switch (code) {
    case StartupCode.SSLRequest:
      c.end();
      return { kind: 'ssl' };
    case StartupCode.GSSENCRequest:
      c.end();
      return { kind: 'gssenc' };
    case StartupCode.CancelRequest: {
      const processId = c.int32();
      const secretKey = c.int32();
      c.end();
      return { kind: 'cancel', processId, secretKey };
    }
    default:
      // Only major version 3 exists today; a newer minor is answered by the server with
      // NegotiateProtocolVersion, so it is passed through for the proxy to decide.
      if (code >>> 16 !== 3) throw new PgProtocolError('BAD_STARTUP', `unsupported protocol ${code >>> 16}.${code & 0xffff}`);
      return { kind: 'startup', protocolVersion: code, params: startupParams(c) };
  }
}

/** name/value C-string pairs ended by an empty name. */
function startupParams(c: Cursor): Record<string, string> {
  const params = Object.create(null) as Record<string, string>;
  for (;;) {
    const name = c.cstring();
    if (name === '') break;
    // A repeated key (e.g. two 'user' values) could be read one way by us and another way by
    // the server; a legitimate client never sends one.
    if (name in params) throw malformed(`startup packet: duplicate parameter ${JSON.stringify(name)}`);
    params[name] = c.cstring();
  }
  c.end();
  return params;
}

export function decodeQuery(payload: Buffer): string {
  const c = new Cursor(payload, 'Query');
  const sql = c.cstring();
  c.end();
  return sql;
}

export function decodeParse(payload: Buffer): ParseMessage {
  const c = new Cursor(payload, 'Parse');
  const name = c.cstring();
  const sql = c.cstring();
  const n = c.count(c.int16(), 4);
  const paramTypes = new Array<number>(n);
  for (let i = 0; i < n; i++) paramTypes[i] = c.uint32();
  c.end();
  return { name, sql, paramTypes };
}

export function decodeBind(payload: Buffer): BindMessage {
  const c = new Cursor(payload, 'Bind');
  const portal = c.cstring();
  const statement = c.cstring();
  const paramFormats = c.int16s(c.int16());
  const params = nullableValues(c, c.int16());
  const resultFormats = c.int16s(c.int16());
  c.end();
  return { portal, statement, paramFormats, params, resultFormats };
}

/** `n` int32-length-prefixed values (-1 = NULL), as in Bind, DataRow and FunctionCall. */
export function nullableValues(c: Cursor, rawCount: number): (Buffer | null)[] {
  const n = c.count(rawCount, 4);
  const values = new Array<Buffer | null>(n);
  for (let i = 0; i < n; i++) values[i] = c.nullableBytes();
  return values;
}

export function decodeExecute(payload: Buffer): ExecuteMessage {
  const c = new Cursor(payload, 'Execute');
  const portal = c.cstring();
  const maxRows = c.int32();
  c.end();
  return { portal, maxRows };
}

/** Describe ('D') and Close ('C') share one layout. */
export function decodeTarget(payload: Buffer, what = 'Describe/Close'): TargetMessage {
  const c = new Cursor(payload, what);
  const kind = c.byte();
  if (kind !== 0x53 && kind !== 0x50) throw malformed(`${what}: target must be 'S' or 'P', got 0x${kind.toString(16)}`);
  const name = c.cstring();
  c.end();
  return { kind: kind === 0x53 ? 'S' : 'P', name };
}

export const decodeDescribe = (payload: Buffer): TargetMessage => decodeTarget(payload, 'Describe');
export const decodeClose = (payload: Buffer): TargetMessage => decodeTarget(payload, 'Close');

/** PasswordMessage in reply to cleartext or MD5 requests: the password (or 'md5...' hash). */
export function decodePassword(payload: Buffer): string {
  const c = new Cursor(payload, 'PasswordMessage');
  const password = c.cstring();
  c.end();
  return password;
}

/** The 'p' message in reply to AuthenticationSASL. */
export function decodeSaslInitialResponse(payload: Buffer): SaslInitialResponse {
  const c = new Cursor(payload, 'SASLInitialResponse');
  const mechanism = c.cstring();
  const data = c.nullableBytes();
  c.end();
  return { mechanism, data };
}

/** The 'p' message in reply to AuthenticationSASLContinue: raw mechanism data. */
export function decodeSaslResponse(payload: Buffer): Buffer {
  return payload;
}

export function decodeCopyFail(payload: Buffer): string {
  const c = new Cursor(payload, 'CopyFail');
  const message = c.cstring();
  c.end();
  return message;
}

export function decodeFunctionCall(payload: Buffer): FunctionCallMessage {
  const c = new Cursor(payload, 'FunctionCall');
  const oid = c.uint32();
  const argFormats = c.int16s(c.int16());
  const args = nullableValues(c, c.int16());
  const resultFormat = c.int16();
  c.end();
  return { oid, argFormats, args, resultFormat };
}

/** Sync, Flush, Terminate, CopyDone and the backend's bodiless messages carry nothing. */
export function decodeEmpty(payload: Buffer, what: string): void {
  if (payload.length !== 0) throw malformed(`${what}: expected an empty body, got ${payload.length} bytes`);
}

/** Decodes any client message by its type byte; code 0 is a startup-phase packet. */
export function decodeFrontend(msg: PgMessage): FrontendMessage {
  const p = msg.payload;
  switch (msg.code) {
    case 0: return { type: 'StartupPacket', packet: decodeStartupPacket(p) };
    case Frontend.Query: return { type: 'Query', sql: decodeQuery(p) };
    case Frontend.Parse: return { type: 'Parse', ...decodeParse(p) };
    case Frontend.Bind: return { type: 'Bind', ...decodeBind(p) };
    case Frontend.Execute: return { type: 'Execute', ...decodeExecute(p) };
    case Frontend.Describe: return { type: 'Describe', ...decodeDescribe(p) };
    case Frontend.Close: return { type: 'Close', ...decodeClose(p) };
    case Frontend.PasswordMessage: return { type: 'PasswordMessage', data: p };
    case Frontend.CopyData: return { type: 'CopyData', data: p };
    case Frontend.CopyFail: return { type: 'CopyFail', message: decodeCopyFail(p) };
    case Frontend.FunctionCall: return { type: 'FunctionCall', ...decodeFunctionCall(p) };
    case Frontend.CopyDone: return bodiless(p, 'CopyDone');
    case Frontend.Sync: return bodiless(p, 'Sync');
    case Frontend.Flush: return bodiless(p, 'Flush');
    case Frontend.Terminate: return bodiless(p, 'Terminate');
    default:
      throw new PgProtocolError('UNEXPECTED_MESSAGE', `unknown frontend message type 0x${msg.code.toString(16)}`);
  }
}

function bodiless<T extends string>(payload: Buffer, type: T): { type: T } {
  decodeEmpty(payload, type);
  return { type };
}

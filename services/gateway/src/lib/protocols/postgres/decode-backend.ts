/**
 * Decoders for backend (server → client) messages, same contract as decode.ts: pure functions
 * over a payload, zero-copy Buffer slices, PgProtocolError on bad content.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
import { AuthCode, Backend, type TransactionStatus } from './codes.js';
import { Cursor } from './cursor.js';
import { decodeEmpty, nullableValues } from './decode.js';
import { PgProtocolError, malformed } from './errors.js';
import type {
  AuthenticationRequest,
  BackendKeyData,
  BackendMessage,
  CopyResponse,
  ErrorFields,
  NegotiateProtocolVersion,
  Notification,
  RowField,
} from './messages.js';
import type { PgMessage } from './reader.js';

export function decodeAuthentication(payload: Buffer): AuthenticationRequest {
  const c = new Cursor(payload, 'Authentication');
  const code = c.int32();
  switch (code) {
    case AuthCode.Ok:
      c.end();
      return { type: 'ok' };
    case AuthCode.CleartextPassword:
      c.end();
      return { type: 'cleartext' };
    case AuthCode.MD5Password: {
      const salt = c.bytes(4);
      c.end();
      return { type: 'md5', salt };
    }
    case AuthCode.SASL:
      return { type: 'sasl', mechanisms: saslMechanisms(c) };
    case AuthCode.SASLContinue:
      return { type: 'sasl-continue', data: c.rest() };
    case AuthCode.SASLFinal:
      return { type: 'sasl-final', data: c.rest() };
    default:
      return { type: 'other', code, data: c.rest() };
  }
}

/** Mechanism names, each NUL-terminated, the list ended by an empty name. */
function saslMechanisms(c: Cursor): string[] {
  const mechanisms: string[] = [];
  for (let name = c.cstring(); name !== ''; name = c.cstring()) mechanisms.push(name);
  c.end();
  return mechanisms;
}

export function decodeParameterStatus(payload: Buffer): { name: string; value: string } {
  const c = new Cursor(payload, 'ParameterStatus');
  const name = c.cstring();
  const value = c.cstring();
  c.end();
  return { name, value };
}

export function decodeBackendKeyData(payload: Buffer): BackendKeyData {
  const c = new Cursor(payload, 'BackendKeyData');
  const processId = c.int32();
  const secretKey = c.int32();
  c.end();
  return { processId, secretKey };
}

export function decodeReadyForQuery(payload: Buffer): TransactionStatus {
  const c = new Cursor(payload, 'ReadyForQuery');
  const status = String.fromCharCode(c.byte());
  c.end();
  if (status !== 'I' && status !== 'T' && status !== 'E') throw malformed(`ReadyForQuery: bad status ${JSON.stringify(status)}`);
  return status;
}

/** Smallest field: empty name (1 byte NUL) + 18 bytes of fixed attributes. */
const MIN_FIELD_BYTES = 19;

export function decodeRowDescription(payload: Buffer): RowField[] {
  const c = new Cursor(payload, 'RowDescription');
  const n = c.count(c.int16(), MIN_FIELD_BYTES);
  const fields = new Array<RowField>(n);
  for (let i = 0; i < n; i++) {
    fields[i] = {
      name: c.cstring(),
      tableOid: c.uint32(),
      columnAttr: c.int16(),
      typeOid: c.uint32(),
      typeSize: c.int16(),
      typeModifier: c.int32(),
      format: c.int16(),
    };
  }
  c.end();
  return fields;
}

/** Column values as zero-copy slices; null for SQL NULL. */
export function decodeDataRow(payload: Buffer): (Buffer | null)[] {
  const c = new Cursor(payload, 'DataRow');
  const values = nullableValues(c, c.int16());
  c.end();
  return values;
}

export function decodeCommandComplete(payload: Buffer): string {
  const c = new Cursor(payload, 'CommandComplete');
  const tag = c.cstring();
  c.end();
  return tag;
}

/** ErrorResponse and NoticeResponse: (code byte, C string) pairs ended by a zero byte. */
export function decodeErrorFields(payload: Buffer, what = 'ErrorResponse'): ErrorFields {
  const c = new Cursor(payload, what);
  const fields = Object.create(null) as ErrorFields;
  for (let code = c.byte(); code !== 0; code = c.byte()) {
    fields[String.fromCharCode(code)] = c.cstring();
  }
  c.end();
  return fields;
}

export function decodeParameterDescription(payload: Buffer): number[] {
  const c = new Cursor(payload, 'ParameterDescription');
  const n = c.count(c.int16(), 4);
  const oids = new Array<number>(n);
  for (let i = 0; i < n; i++) oids[i] = c.uint32();
  c.end();
  return oids;
}

/** CopyInResponse, CopyOutResponse and CopyBothResponse share one layout. */
export function decodeCopyResponse(payload: Buffer, what = 'CopyResponse'): CopyResponse {
  const c = new Cursor(payload, what);
  const format = c.byte();
  const columnFormats = c.int16s(c.int16());
  c.end();
  return { format, columnFormats };
}

export function decodeNotificationResponse(payload: Buffer): Notification {
  const c = new Cursor(payload, 'NotificationResponse');
  const processId = c.int32();
  const channel = c.cstring();
  const body = c.cstring();
  c.end();
  return { processId, channel, payload: body };
}

export function decodeFunctionCallResponse(payload: Buffer): Buffer | null {
  const c = new Cursor(payload, 'FunctionCallResponse');
  const value = c.nullableBytes();
  c.end();
  return value;
}

export function decodeNegotiateProtocolVersion(payload: Buffer): NegotiateProtocolVersion {
  const c = new Cursor(payload, 'NegotiateProtocolVersion');
  const minorVersion = c.int32();
  const n = c.count(c.int32(), 1);
  const unrecognized = new Array<string>(n);
  for (let i = 0; i < n; i++) unrecognized[i] = c.cstring();
  c.end();
  return { minorVersion, unrecognized };
}

/** Decodes any server message by its type byte. */
export function decodeBackend(msg: PgMessage): BackendMessage {
  const p = msg.payload;
  switch (msg.code) {
    case Backend.Authentication: return { type: 'Authentication', request: decodeAuthentication(p) };
    case Backend.ParameterStatus: return { type: 'ParameterStatus', ...decodeParameterStatus(p) };
    case Backend.BackendKeyData: return { type: 'BackendKeyData', ...decodeBackendKeyData(p) };
    case Backend.ReadyForQuery: return { type: 'ReadyForQuery', status: decodeReadyForQuery(p) };
    case Backend.RowDescription: return { type: 'RowDescription', fields: decodeRowDescription(p) };
    case Backend.DataRow: return { type: 'DataRow', values: decodeDataRow(p) };
    case Backend.CommandComplete: return { type: 'CommandComplete', tag: decodeCommandComplete(p) };
    case Backend.ErrorResponse: return { type: 'ErrorResponse', fields: decodeErrorFields(p) };
    case Backend.NoticeResponse: return { type: 'NoticeResponse', fields: decodeErrorFields(p, 'NoticeResponse') };
    case Backend.ParameterDescription: return { type: 'ParameterDescription', paramTypes: decodeParameterDescription(p) };
    case Backend.CopyInResponse: return { type: 'CopyInResponse', ...decodeCopyResponse(p, 'CopyInResponse') };
    case Backend.CopyOutResponse: return { type: 'CopyOutResponse', ...decodeCopyResponse(p, 'CopyOutResponse') };
    case Backend.CopyBothResponse: return { type: 'CopyBothResponse', ...decodeCopyResponse(p, 'CopyBothResponse') };
    case Backend.NotificationResponse: return { type: 'NotificationResponse', ...decodeNotificationResponse(p) };
    case Backend.FunctionCallResponse: return { type: 'FunctionCallResponse', value: decodeFunctionCallResponse(p) };
    case Backend.NegotiateProtocolVersion: return { type: 'NegotiateProtocolVersion', ...decodeNegotiateProtocolVersion(p) };
    case Backend.CopyData: return { type: 'CopyData', data: p };
    default: return decodeBodiless(msg.code, p);
  }
}

const bodilessTypes = new Map<number, BackendMessage['type']>([
  [Backend.ParseComplete, 'ParseComplete'],
  [Backend.BindComplete, 'BindComplete'],
  [Backend.CloseComplete, 'CloseComplete'],
  [Backend.NoData, 'NoData'],
  [Backend.PortalSuspended, 'PortalSuspended'],
  [Backend.EmptyQueryResponse, 'EmptyQueryResponse'],
  [Backend.CopyDone, 'CopyDone'],
]);

function decodeBodiless(code: number, payload: Buffer): BackendMessage {
  const type = bodilessTypes.get(code);
  if (!type) throw new PgProtocolError('UNEXPECTED_MESSAGE', `unknown backend message type 0x${code.toString(16)}`);
  decodeEmpty(payload, type);
  return { type } as BackendMessage;
}

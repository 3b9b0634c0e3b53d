/**
 * Encoders for backend (server → client) messages: what the gateway writes to agents itself
 * (authentication, errors, masked rows), plus the rest so tests can round-trip everything.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
import { AuthCode, Backend, ErrorField, type TransactionStatus } from './codes.js';
import type { AuthenticationRequest, CopyResponse, ErrorFields, NegotiateProtocolVersion, Notification, PgNotice, RowField } from './messages.js';
import { malformed } from './errors.js';
import { Writer, emptyMessage } from './writer.js';

export function encodeAuthentication(req: AuthenticationRequest): Buffer {
  const w = new Writer(Backend.Authentication);
  switch (req.type) {
    case 'ok': return w.int32(AuthCode.Ok).frame();
    case 'cleartext': return w.int32(AuthCode.CleartextPassword).frame();
    case 'md5':
      if (req.salt.length !== 4) throw malformed('an MD5 salt is 4 bytes');
      return w.int32(AuthCode.MD5Password).bytes(req.salt).frame();
    case 'sasl':
      w.int32(AuthCode.SASL);
      for (const m of req.mechanisms) w.cstring(m);
      return w.byte(0).frame();
    case 'sasl-continue': return w.int32(AuthCode.SASLContinue).bytes(req.data).frame();
    case 'sasl-final': return w.int32(AuthCode.SASLFinal).bytes(req.data).frame();
    case 'other': return w.int32(req.code).bytes(req.data).frame();
  }
}

export function encodeParameterStatus(name: string, value: string): Buffer {
  return new Writer(Backend.ParameterStatus).cstring(name).cstring(value).frame();
}

export function encodeBackendKeyData(processId: number, secretKey: number): Buffer {
  return new Writer(Backend.BackendKeyData, 13).int32(processId).int32(secretKey).frame();
}

export function encodeReadyForQuery(status: TransactionStatus): Buffer {
  return new Writer(Backend.ReadyForQuery, 6).byte(status.charCodeAt(0)).frame();
}

/** Writes S and V (same severity), C, M, then D and H when present. */
export function encodeErrorResponse(notice: PgNotice): Buffer {
  return encodeErrorFields(Backend.ErrorResponse, noticeFields(notice));
}

export function encodeNoticeResponse(notice: PgNotice): Buffer {
  return encodeErrorFields(Backend.NoticeResponse, noticeFields(notice));
}

/** Re-encodes decoded fields verbatim, e.g. after masking values out of an upstream error's detail. */
export function encodeErrorResponseFields(fields: ErrorFields): Buffer {
  return encodeErrorFields(Backend.ErrorResponse, fields);
}

export function encodeNoticeResponseFields(fields: ErrorFields): Buffer {
  return encodeErrorFields(Backend.NoticeResponse, fields);
}

function noticeFields(n: PgNotice): ErrorFields {
  const fields: ErrorFields = {
    [ErrorField.Severity]: n.severity,
    [ErrorField.SeverityNonLocalized]: n.severity,
    [ErrorField.Code]: n.code,
    [ErrorField.Message]: n.message,
  };
  if (n.detail !== undefined) fields[ErrorField.Detail] = n.detail;
  if (n.hint !== undefined) fields[ErrorField.Hint] = n.hint;
  return fields;
}

function encodeErrorFields(code: number, fields: ErrorFields): Buffer {
  const w = new Writer(code, 128);
  for (const [key, value] of Object.entries(fields)) {
    if (key.length !== 1 || key === '\0' || key.charCodeAt(0) > 0x7f) throw malformed(`error field codes are one non-NUL ASCII character, got ${JSON.stringify(key)}`);
    w.byte(key.charCodeAt(0)).cstring(value);
  }
  return w.byte(0).frame();
}

/** Fields default to an unnamed-table text column (the way a computed column is described). */
export function encodeRowDescription(fields: readonly (Pick<RowField, 'name'> & Partial<RowField>)[]): Buffer {
  const w = new Writer(Backend.RowDescription, 7 + fields.length * 32).int16(fields.length);
  for (const f of fields) {
    w.cstring(f.name)
      .int32(f.tableOid ?? 0)
      .int16(f.columnAttr ?? 0)
      .int32(f.typeOid ?? 25) // text
      .int16(f.typeSize ?? -1)
      .int32(f.typeModifier ?? -1)
      .int16(f.format ?? 0);
  }
  return w.frame();
}

/**
 * A DataRow with exact lengths, e.g. a row rewritten by masking. Sized in one pass and written
 * in a second so that the hot path allocates exactly once. Strings are written as UTF-8.
 */
export function encodeDataRow(values: readonly (Buffer | string | null)[]): Buffer {
  if (values.length > 0x7fff) throw malformed(`a DataRow holds at most 32767 columns, got ${values.length}`);
  let size = 7;
  for (const v of values) size += 4 + (v === null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  if (size > 0x7fffffff) throw malformed(`DataRow of ${size} bytes is too large for the protocol`);
  const out = Buffer.allocUnsafe(size);
  out[0] = Backend.DataRow;
  out.writeInt32BE(size - 1, 1);
  let pos = out.writeInt16BE(values.length, 5);
  for (const v of values) {
    if (v === null) {
      pos = out.writeInt32BE(-1, pos);
    } else if (typeof v === 'string') {
      const len = out.write(v, pos + 4, 'utf8');
      pos = out.writeInt32BE(len, pos) + len;
    } else {
      pos = out.writeInt32BE(v.length, pos);
      pos += v.copy(out, pos);
    }
  }
  return out;
}

export function encodeCommandComplete(tag: string): Buffer {
  return new Writer(Backend.CommandComplete, 32).cstring(tag).frame();
}

export const encodeParseComplete = (): Buffer => emptyMessage(Backend.ParseComplete);
export const encodeBindComplete = (): Buffer => emptyMessage(Backend.BindComplete);
export const encodeCloseComplete = (): Buffer => emptyMessage(Backend.CloseComplete);
export const encodeNoData = (): Buffer => emptyMessage(Backend.NoData);
export const encodePortalSuspended = (): Buffer => emptyMessage(Backend.PortalSuspended);
export const encodeEmptyQueryResponse = (): Buffer => emptyMessage(Backend.EmptyQueryResponse);

export function encodeParameterDescription(paramTypes: readonly number[]): Buffer {
  const w = new Writer(Backend.ParameterDescription).int16(paramTypes.length);
  for (const oid of paramTypes) w.int32(oid);
  return w.frame();
}

export function encodeCopyResponse(kind: 'in' | 'out' | 'both', msg: CopyResponse): Buffer {
  const code = kind === 'in' ? Backend.CopyInResponse : kind === 'out' ? Backend.CopyOutResponse : Backend.CopyBothResponse;
  return new Writer(code).byte(msg.format).int16s(msg.columnFormats).frame();
}

export function encodeNotificationResponse(msg: Notification): Buffer {
  return new Writer(Backend.NotificationResponse).int32(msg.processId).cstring(msg.channel).cstring(msg.payload).frame();
}

export function encodeFunctionCallResponse(value: Buffer | null): Buffer {
  return new Writer(Backend.FunctionCallResponse).nullableBytes(value).frame();
}

/** Tells a client asking for a newer minor version (e.g. 3.2) that we speak 3.`minorVersion`. */
export function encodeNegotiateProtocolVersion(msg: NegotiateProtocolVersion): Buffer {
  const w = new Writer(Backend.NegotiateProtocolVersion).int32(msg.minorVersion).int32(msg.unrecognized.length);
  for (const option of msg.unrecognized) w.cstring(option);
  return w.frame();
}

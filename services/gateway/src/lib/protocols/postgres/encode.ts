/**
 * Encoders for startup-phase and frontend (client → server) messages. Each returns one whole
 * frame, header included. Strings are written as UTF-8; inputs the wire cannot carry (NUL in
 * a string, counts over int16) throw PgProtocolError('MALFORMED').
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
import { Frontend, StartupCode } from './codes.js';
import type { BindMessage, ExecuteMessage, FunctionCallMessage, ParseMessage, TargetMessage } from './messages.js';
import { malformed } from './errors.js';
import { Writer, emptyMessage } from './writer.js';

/** StartupMessage: protocol version then name/value pairs ended by an empty name. */
export function encodeStartupMessage(params: Record<string, string>, protocolVersion: number = StartupCode.Protocol30): Buffer {
  const w = new Writer(0, 128).int32(protocolVersion);
  for (const [name, value] of Object.entries(params)) {
    if (name === '') throw malformed('startup parameter names cannot be empty (an empty name ends the list)');
    w.cstring(name).cstring(value);
  }
  return w.byte(0).frame();
}

export function encodeSSLRequest(): Buffer {
  return new Writer(0, 8).int32(StartupCode.SSLRequest).frame();
}

export function encodeGSSENCRequest(): Buffer {
  return new Writer(0, 8).int32(StartupCode.GSSENCRequest).frame();
}

export function encodeCancelRequest(processId: number, secretKey: number): Buffer {
  return new Writer(0, 16).int32(StartupCode.CancelRequest).int32(processId).int32(secretKey).frame();
}

export function encodeQuery(sql: string): Buffer {
  return new Writer(Frontend.Query, Buffer.byteLength(sql) + 6).cstring(sql).frame();
}

export function encodeParse(msg: Partial<ParseMessage> & Pick<ParseMessage, 'sql'>): Buffer {
  const types = msg.paramTypes ?? [];
  const w = new Writer(Frontend.Parse).cstring(msg.name ?? '').cstring(msg.sql).int16(types.length);
  for (const oid of types) w.int32(oid);
  return w.frame();
}

export function encodeBind(msg: Partial<BindMessage>): Buffer {
  const params = msg.params ?? [];
  const w = new Writer(Frontend.Bind)
    .cstring(msg.portal ?? '')
    .cstring(msg.statement ?? '')
    .int16s(msg.paramFormats ?? [])
    .int16(params.length);
  for (const p of params) w.nullableBytes(p);
  return w.int16s(msg.resultFormats ?? []).frame();
}

export function encodeExecute(msg: Partial<ExecuteMessage> = {}): Buffer {
  return new Writer(Frontend.Execute, 16).cstring(msg.portal ?? '').int32(msg.maxRows ?? 0).frame();
}

export function encodeDescribe(msg: Pick<TargetMessage, 'kind'> & Partial<TargetMessage>): Buffer {
  return target(Frontend.Describe, msg);
}

export function encodeClose(msg: Pick<TargetMessage, 'kind'> & Partial<TargetMessage>): Buffer {
  return target(Frontend.Close, msg);
}

function target(code: number, msg: Pick<TargetMessage, 'kind'> & Partial<TargetMessage>): Buffer {
  return new Writer(code).byte(msg.kind.charCodeAt(0)).cstring(msg.name ?? '').frame();
}

export function encodeSync(): Buffer {
  return emptyMessage(Frontend.Sync);
}

export function encodeFlush(): Buffer {
  return emptyMessage(Frontend.Flush);
}

export function encodeTerminate(): Buffer {
  return emptyMessage(Frontend.Terminate);
}

/** CopyData has the same layout in both directions. */
export function encodeCopyData(data: Buffer): Buffer {
  return new Writer(Frontend.CopyData, data.length + 5).bytes(data).frame();
}

/** CopyDone has the same layout in both directions. */
export function encodeCopyDone(): Buffer {
  return emptyMessage(Frontend.CopyDone);
}

export function encodeCopyFail(message: string): Buffer {
  return new Writer(Frontend.CopyFail).cstring(message).frame();
}

export function encodeFunctionCall(msg: Pick<FunctionCallMessage, 'oid'> & Partial<FunctionCallMessage>): Buffer {
  const args = msg.args ?? [];
  const w = new Writer(Frontend.FunctionCall).int32(msg.oid).int16s(msg.argFormats ?? []).int16(args.length);
  for (const a of args) w.nullableBytes(a);
  return w.int16(msg.resultFormat ?? 0).frame();
}

/** Reply to a cleartext or MD5 request (for MD5, pass md5Password(...)). */
export function encodePasswordMessage(password: string): Buffer {
  return new Writer(Frontend.PasswordMessage).cstring(password).frame();
}

export function encodeSaslInitialResponse(mechanism: string, data: Buffer | string | null): Buffer {
  const w = new Writer(Frontend.PasswordMessage).cstring(mechanism);
  return w.nullableBytes(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).frame();
}

export function encodeSaslResponse(data: Buffer | string): Buffer {
  return new Writer(Frontend.PasswordMessage).bytes(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).frame();
}

/**
 * Typed shapes of decoded messages, shared by the decoders and encoders.
 * Field names follow the protocol documentation.
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 */
import type { TransactionStatus } from './codes.js';

/** Untyped startup-phase packets (the client's first message, and again after SSL/GSS refusal). */
export type StartupPacket =
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel'; processId: number; secretKey: number }
  /** params has a null prototype: keys come from the peer ('__proto__' is just a key). */
  | { kind: 'startup'; protocolVersion: number; params: Record<string, string> };

export interface ParseMessage {
  name: string;
  sql: string;
  /** Parameter type OIDs; 0 leaves the type for the server to infer. */
  paramTypes: number[];
}

export interface BindMessage {
  portal: string;
  statement: string;
  /** 0 entries: all text; 1 entry: applies to all; else one per parameter (0 text, 1 binary). */
  paramFormats: number[];
  params: (Buffer | null)[];
  resultFormats: number[];
}

export interface ExecuteMessage {
  portal: string;
  /** 0 means no limit. */
  maxRows: number;
}

/** Describe and Close target: a prepared Statement or a Portal. */
export interface TargetMessage {
  kind: 'S' | 'P';
  name: string;
}

export interface SaslInitialResponse {
  mechanism: string;
  /** null when the client sent length -1 (no initial response). */
  data: Buffer | null;
}

export interface FunctionCallMessage {
  oid: number;
  argFormats: number[];
  args: (Buffer | null)[];
  resultFormat: number;
}

export type FrontendMessage =
  | { type: 'StartupPacket'; packet: StartupPacket }
  | { type: 'Query'; sql: string }
  | ({ type: 'Parse' } & ParseMessage)
  | ({ type: 'Bind' } & BindMessage)
  | ({ type: 'Execute' } & ExecuteMessage)
  | ({ type: 'Describe' } & TargetMessage)
  | ({ type: 'Close' } & TargetMessage)
  /** Password, SASLInitialResponse, SASLResponse or GSSResponse: decode by auth state. */
  | { type: 'PasswordMessage'; data: Buffer }
  | { type: 'CopyData'; data: Buffer }
  | { type: 'CopyDone' }
  | { type: 'CopyFail'; message: string }
  | ({ type: 'FunctionCall' } & FunctionCallMessage)
  | { type: 'Sync' }
  | { type: 'Flush' }
  | { type: 'Terminate' };

export type AuthenticationRequest =
  | { type: 'ok' }
  | { type: 'cleartext' }
  | { type: 'md5'; salt: Buffer }
  | { type: 'sasl'; mechanisms: string[] }
  | { type: 'sasl-continue'; data: Buffer }
  | { type: 'sasl-final'; data: Buffer }
  /** Kerberos, GSS, SSPI and future codes, kept raw. */
  | { type: 'other'; code: number; data: Buffer };

export interface RowField {
  name: string;
  /** OID of the source table, 0 if the column is not a plain table column. */
  tableOid: number;
  /** Attribute number of the source column, 0 if none. */
  columnAttr: number;
  typeOid: number;
  /** pg_type.typlen: negative for variable-width types. */
  typeSize: number;
  typeModifier: number;
  /** 0 text, 1 binary (always 0 in a Describe response). */
  format: number;
}

export interface BackendKeyData {
  processId: number;
  secretKey: number;
}

export interface CopyResponse {
  /** 0 textual, 1 binary. */
  format: number;
  columnFormats: number[];
}

export interface Notification {
  processId: number;
  channel: string;
  payload: string;
}

export interface NegotiateProtocolVersion {
  /** Newest minor protocol version the server supports for the requested major version. */
  minorVersion: number;
  /** Protocol options ('_pq_.*') the server did not recognize. */
  unrecognized: string[];
}

/** ErrorResponse/NoticeResponse fields keyed by field code char (see ErrorField); null prototype. */
export type ErrorFields = Record<string, string>;

/** The usual fields of an ErrorResponse/NoticeResponse the gateway writes itself. */
export interface PgNotice {
  /** ERROR, FATAL, PANIC, WARNING, NOTICE, DEBUG, INFO or LOG; written as both S and V. */
  severity: string;
  /** SQLSTATE, e.g. '42501' insufficient_privilege. */
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

export type BackendMessage =
  | { type: 'Authentication'; request: AuthenticationRequest }
  | { type: 'ParameterStatus'; name: string; value: string }
  | ({ type: 'BackendKeyData' } & BackendKeyData)
  | { type: 'ReadyForQuery'; status: TransactionStatus }
  | { type: 'RowDescription'; fields: RowField[] }
  | { type: 'DataRow'; values: (Buffer | null)[] }
  | { type: 'CommandComplete'; tag: string }
  | { type: 'ErrorResponse'; fields: ErrorFields }
  | { type: 'NoticeResponse'; fields: ErrorFields }
  | { type: 'ParseComplete' }
  | { type: 'BindComplete' }
  | { type: 'CloseComplete' }
  | { type: 'NoData' }
  | { type: 'PortalSuspended' }
  | { type: 'EmptyQueryResponse' }
  | { type: 'ParameterDescription'; paramTypes: number[] }
  | ({ type: 'CopyInResponse' | 'CopyOutResponse' | 'CopyBothResponse' } & CopyResponse)
  | ({ type: 'NotificationResponse' } & Notification)
  | { type: 'FunctionCallResponse'; value: Buffer | null }
  | ({ type: 'NegotiateProtocolVersion' } & NegotiateProtocolVersion)
  | { type: 'CopyData'; data: Buffer }
  | { type: 'CopyDone' };

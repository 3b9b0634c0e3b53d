/**
 * Wire codes of the PostgreSQL frontend/backend protocol 3.0.
 *
 * Type bytes are plain `as const` objects rather than a `const enum` because the tables are
 * exported across files and `isolatedModules` cannot inline a `const enum` from another file.
 * Frontend and backend reuse several bytes with different meanings ('D', 'C', 'E', 'S', 'H'),
 * so each direction has its own table and names are looked up per direction.
 *
 * @see https://www.postgresql.org/docs/current/protocol-message-formats.html
 * @see https://www.postgresql.org/docs/current/protocol-flow.html
 */

/** Messages sent by the client (frontend) after the startup packet. */
export const Frontend = {
  Bind: 0x42, // 'B'
  Close: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyFail: 0x66, // 'f'
  Describe: 0x44, // 'D'
  Execute: 0x45, // 'E'
  Flush: 0x48, // 'H'
  FunctionCall: 0x46, // 'F'
  Parse: 0x50, // 'P'
  // 'p' is PasswordMessage, SASLInitialResponse, SASLResponse or GSSResponse: which one
  // depends on the authentication request the server sent last.
  PasswordMessage: 0x70, // 'p'
  Query: 0x51, // 'Q'
  Sync: 0x53, // 'S'
  Terminate: 0x58, // 'X'
} as const;

/** Messages sent by the server (backend). */
export const Backend = {
  Authentication: 0x52, // 'R'
  BackendKeyData: 0x4b, // 'K'
  BindComplete: 0x32, // '2'
  CloseComplete: 0x33, // '3'
  CommandComplete: 0x43, // 'C'
  CopyBothResponse: 0x57, // 'W'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyInResponse: 0x47, // 'G'
  CopyOutResponse: 0x48, // 'H'
  DataRow: 0x44, // 'D'
  EmptyQueryResponse: 0x49, // 'I'
  ErrorResponse: 0x45, // 'E'
  FunctionCallResponse: 0x56, // 'V'
  NegotiateProtocolVersion: 0x76, // 'v'
  NoData: 0x6e, // 'n'
  NoticeResponse: 0x4e, // 'N'
  NotificationResponse: 0x41, // 'A'
  ParameterDescription: 0x74, // 't'
  ParameterStatus: 0x53, // 'S'
  ParseComplete: 0x31, // '1'
  PortalSuspended: 0x73, // 's'
  ReadyForQuery: 0x5a, // 'Z'
  RowDescription: 0x54, // 'T'
} as const;

export type FrontendName = keyof typeof Frontend;
export type BackendName = keyof typeof Backend;

/**
 * The int32 after the length of an untyped startup-phase packet: a protocol version
 * (major << 16 | minor) or one of the special request codes (1234 << 16 | 5678..5680).
 */
export const StartupCode = {
  Protocol30: 196608, // 3 << 16 | 0
  CancelRequest: 80877102, // 1234 << 16 | 5678
  SSLRequest: 80877103, // 1234 << 16 | 5679
  GSSENCRequest: 80877104, // 1234 << 16 | 5680
} as const;

/** The int32 that starts every Authentication ('R') message. */
export const AuthCode = {
  Ok: 0,
  KerberosV5: 2,
  CleartextPassword: 3,
  MD5Password: 5,
  GSS: 7,
  GSSContinue: 8,
  SSPI: 9,
  SASL: 10,
  SASLContinue: 11,
  SASLFinal: 12,
} as const;

/**
 * Field codes of ErrorResponse / NoticeResponse.
 * @see https://www.postgresql.org/docs/current/protocol-error-fields.html
 */
export const ErrorField = {
  Severity: 'S', // localized
  SeverityNonLocalized: 'V', // never localized, for programs (ERROR, FATAL, PANIC, WARNING, NOTICE, ...)
  Code: 'C', // SQLSTATE
  Message: 'M',
  Detail: 'D',
  Hint: 'H',
  Position: 'P',
  InternalPosition: 'p',
  InternalQuery: 'q',
  Where: 'W',
  SchemaName: 's',
  TableName: 't',
  ColumnName: 'c',
  DataTypeName: 'd',
  ConstraintName: 'n',
  File: 'F',
  Line: 'L',
  Routine: 'R',
} as const;

/** Transaction status carried by ReadyForQuery: idle, in a transaction, in a failed transaction. */
export type TransactionStatus = 'I' | 'T' | 'E';

function invert(table: Record<string, number>): Map<number, string> {
  return new Map(Object.entries(table).map(([name, code]) => [code, name]));
}

const frontendNames = invert(Frontend);
const backendNames = invert(Backend);

/** Name of an untyped startup-phase packet from its first int32 (version or request code). */
export function startupPacketName(requestCode: number): string {
  switch (requestCode) {
    case StartupCode.SSLRequest:
      return 'SSLRequest';
    case StartupCode.GSSENCRequest:
      return 'GSSENCRequest';
    case StartupCode.CancelRequest:
      return 'CancelRequest';
    default:
      return 'StartupMessage';
  }
}

/**
 * Human-readable message name for recorded events, e.g. 'Query', 'DataRow'.
 * Client packets with code 0 are startup-phase packets; pass their payload to tell an
 * SSLRequest, GSSENCRequest or CancelRequest from a StartupMessage.
 * Unknown codes give 'Unknown(0xNN)' rather than throwing: the name is informational.
 */
export function messageName(direction: 'client' | 'server', code: number, payload?: Buffer): string {
  if (direction === 'client' && code === 0) {
    return payload && payload.length >= 4 ? startupPacketName(payload.readInt32BE(0)) : 'StartupMessage';
  }
  const name = (direction === 'client' ? frontendNames : backendNames).get(code);
  return name ?? `Unknown(0x${code.toString(16).padStart(2, '0')})`;
}

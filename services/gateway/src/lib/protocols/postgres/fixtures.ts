/**
 * Test and benchmark fixtures: one or more encoded frames per message type with the value the
 * decoders must produce. Expected values are written out by hand, not derived from the decoders.
 */
import type { BackendMessage, FrontendMessage } from './messages.js';
import * as fe from './encode.js';
import * as be from './encode-backend.js';

export interface Fixture<T> {
  frame: Buffer;
  expected: T;
}

/** Null-prototype record, as the decoders build them from peer-controlled keys. */
export function record(entries: Record<string, string>): Record<string, string> {
  return Object.assign(Object.create(null) as Record<string, string>, entries);
}

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

const startupParams = record({ user: 'alice', database: 'app', application_name: 'psql', options: '-c x=é' });

/** Untyped startup-phase packets (client side). SSL/GSSENC must each end their chunk. */
export const startupFixtures: Fixture<FrontendMessage>[] = [
  { frame: fe.encodeStartupMessage(startupParams), expected: { type: 'StartupPacket', packet: { kind: 'startup', protocolVersion: 196608, params: startupParams } } },
  { frame: fe.encodeStartupMessage(record({}), 196610), expected: { type: 'StartupPacket', packet: { kind: 'startup', protocolVersion: 196610, params: record({}) } } },
  { frame: fe.encodeCancelRequest(4242, -559038737), expected: { type: 'StartupPacket', packet: { kind: 'cancel', processId: 4242, secretKey: -559038737 } } },
  { frame: fe.encodeSSLRequest(), expected: { type: 'StartupPacket', packet: { kind: 'ssl' } } },
  { frame: fe.encodeGSSENCRequest(), expected: { type: 'StartupPacket', packet: { kind: 'gssenc' } } },
];

export const frontendFixtures: Fixture<FrontendMessage>[] = [
  { frame: fe.encodeQuery('SELECT 1'), expected: { type: 'Query', sql: 'SELECT 1' } },
  { frame: fe.encodeQuery("SELECT 'é' -- ✓"), expected: { type: 'Query', sql: "SELECT 'é' -- ✓" } },
  { frame: fe.encodeQuery(''), expected: { type: 'Query', sql: '' } },
  {
    frame: fe.encodeParse({ name: 's1', sql: 'SELECT $1::int, $2', paramTypes: [23, 0xffffffff] }),
    expected: { type: 'Parse', name: 's1', sql: 'SELECT $1::int, $2', paramTypes: [23, 0xffffffff] },
  },
  { frame: fe.encodeParse({ sql: 'SELECT 2' }), expected: { type: 'Parse', name: '', sql: 'SELECT 2', paramTypes: [] } },
  {
    frame: fe.encodeBind({ portal: 'p', statement: 's1', paramFormats: [0, 1], params: [b('1'), null, Buffer.alloc(0)], resultFormats: [1] }),
    expected: { type: 'Bind', portal: 'p', statement: 's1', paramFormats: [0, 1], params: [b('1'), null, Buffer.alloc(0)], resultFormats: [1] },
  },
  { frame: fe.encodeBind({}), expected: { type: 'Bind', portal: '', statement: '', paramFormats: [], params: [], resultFormats: [] } },
  { frame: fe.encodeExecute({ portal: 'p', maxRows: 10 }), expected: { type: 'Execute', portal: 'p', maxRows: 10 } },
  { frame: fe.encodeExecute(), expected: { type: 'Execute', portal: '', maxRows: 0 } },
  { frame: fe.encodeDescribe({ kind: 'S', name: 's1' }), expected: { type: 'Describe', kind: 'S', name: 's1' } },
  { frame: fe.encodeDescribe({ kind: 'P' }), expected: { type: 'Describe', kind: 'P', name: '' } },
  { frame: fe.encodeClose({ kind: 'P', name: 'p' }), expected: { type: 'Close', kind: 'P', name: 'p' } },
  { frame: fe.encodeClose({ kind: 'S', name: 's1' }), expected: { type: 'Close', kind: 'S', name: 's1' } },
  { frame: fe.encodePasswordMessage('secret'), expected: { type: 'PasswordMessage', data: b('secret\0') } },
  {
    frame: fe.encodeSaslInitialResponse('SCRAM-SHA-256', 'n,,n=,r=abc'),
    expected: { type: 'PasswordMessage', data: Buffer.concat([b('SCRAM-SHA-256\0'), Buffer.from([0, 0, 0, 11]), b('n,,n=,r=abc')]) },
  },
  { frame: fe.encodeSaslResponse('c=biws,r=abc,p=xyz'), expected: { type: 'PasswordMessage', data: b('c=biws,r=abc,p=xyz') } },
  { frame: fe.encodeCopyData(b('1\tone\n')), expected: { type: 'CopyData', data: b('1\tone\n') } },
  { frame: fe.encodeCopyDone(), expected: { type: 'CopyDone' } },
  { frame: fe.encodeCopyFail('client gave up'), expected: { type: 'CopyFail', message: 'client gave up' } },
  {
    frame: fe.encodeFunctionCall({ oid: 1598, argFormats: [1], args: [Buffer.from([0, 0, 0, 7]), null], resultFormat: 1 }),
    expected: { type: 'FunctionCall', oid: 1598, argFormats: [1], args: [Buffer.from([0, 0, 0, 7]), null], resultFormat: 1 },
  },
  { frame: fe.encodeSync(), expected: { type: 'Sync' } },
  { frame: fe.encodeFlush(), expected: { type: 'Flush' } },
  { frame: fe.encodeTerminate(), expected: { type: 'Terminate' } },
];

const errorFields = record({ S: 'ERROR', V: 'ERROR', C: '42501', M: 'permission denied for table t', D: 'detail', H: 'ask an admin' });
const rowFields = [
  { name: 'id', tableOid: 16384, columnAttr: 1, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 },
  { name: 'émail', tableOid: 0xfffffff0, columnAttr: 2, typeOid: 25, typeSize: -1, typeModifier: -1, format: 1 },
];

export const backendFixtures: Fixture<BackendMessage>[] = [
  { frame: be.encodeAuthentication({ type: 'ok' }), expected: { type: 'Authentication', request: { type: 'ok' } } },
  { frame: be.encodeAuthentication({ type: 'cleartext' }), expected: { type: 'Authentication', request: { type: 'cleartext' } } },
  { frame: be.encodeAuthentication({ type: 'md5', salt: Buffer.from([1, 2, 3, 4]) }), expected: { type: 'Authentication', request: { type: 'md5', salt: Buffer.from([1, 2, 3, 4]) } } },
  {
    frame: be.encodeAuthentication({ type: 'sasl', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] }),
    expected: { type: 'Authentication', request: { type: 'sasl', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] } },
  },
  { frame: be.encodeAuthentication({ type: 'sasl-continue', data: b('r=abc,s=c2FsdA==,i=4096') }), expected: { type: 'Authentication', request: { type: 'sasl-continue', data: b('r=abc,s=c2FsdA==,i=4096') } } },
  { frame: be.encodeAuthentication({ type: 'sasl-final', data: b('v=c2ln') }), expected: { type: 'Authentication', request: { type: 'sasl-final', data: b('v=c2ln') } } },
  { frame: be.encodeAuthentication({ type: 'other', code: 7, data: Buffer.alloc(0) }), expected: { type: 'Authentication', request: { type: 'other', code: 7, data: Buffer.alloc(0) } } },
  { frame: be.encodeParameterStatus('server_version', '15.8'), expected: { type: 'ParameterStatus', name: 'server_version', value: '15.8' } },
  { frame: be.encodeBackendKeyData(31337, -1), expected: { type: 'BackendKeyData', processId: 31337, secretKey: -1 } },
  { frame: be.encodeReadyForQuery('I'), expected: { type: 'ReadyForQuery', status: 'I' } },
  { frame: be.encodeReadyForQuery('T'), expected: { type: 'ReadyForQuery', status: 'T' } },
  { frame: be.encodeReadyForQuery('E'), expected: { type: 'ReadyForQuery', status: 'E' } },
  { frame: be.encodeRowDescription(rowFields), expected: { type: 'RowDescription', fields: rowFields } },
  {
    frame: be.encodeRowDescription([{ name: '?column?' }]),
    expected: { type: 'RowDescription', fields: [{ name: '?column?', tableOid: 0, columnAttr: 0, typeOid: 25, typeSize: -1, typeModifier: -1, format: 0 }] },
  },
  { frame: be.encodeDataRow([b('1'), null, '', 'ünï\0code']), expected: { type: 'DataRow', values: [b('1'), null, Buffer.alloc(0), b('ünï\0code')] } },
  { frame: be.encodeDataRow([]), expected: { type: 'DataRow', values: [] } },
  { frame: be.encodeCommandComplete('SELECT 1'), expected: { type: 'CommandComplete', tag: 'SELECT 1' } },
  {
    frame: be.encodeErrorResponse({ severity: 'ERROR', code: '42501', message: 'permission denied for table t', detail: 'detail', hint: 'ask an admin' }),
    expected: { type: 'ErrorResponse', fields: errorFields },
  },
  { frame: be.encodeErrorResponseFields(record({ S: 'FATAL', C: '28P01', M: 'bad', P: '12' })), expected: { type: 'ErrorResponse', fields: record({ S: 'FATAL', C: '28P01', M: 'bad', P: '12' }) } },
  {
    frame: be.encodeNoticeResponse({ severity: 'NOTICE', code: '00000', message: 'hello' }),
    expected: { type: 'NoticeResponse', fields: record({ S: 'NOTICE', V: 'NOTICE', C: '00000', M: 'hello' }) },
  },
  { frame: be.encodeParseComplete(), expected: { type: 'ParseComplete' } },
  { frame: be.encodeBindComplete(), expected: { type: 'BindComplete' } },
  { frame: be.encodeCloseComplete(), expected: { type: 'CloseComplete' } },
  { frame: be.encodeNoData(), expected: { type: 'NoData' } },
  { frame: be.encodePortalSuspended(), expected: { type: 'PortalSuspended' } },
  { frame: be.encodeEmptyQueryResponse(), expected: { type: 'EmptyQueryResponse' } },
  { frame: be.encodeParameterDescription([23, 25, 0xffffffff]), expected: { type: 'ParameterDescription', paramTypes: [23, 25, 0xffffffff] } },
  { frame: be.encodeCopyResponse('in', { format: 0, columnFormats: [0, 0] }), expected: { type: 'CopyInResponse', format: 0, columnFormats: [0, 0] } },
  { frame: be.encodeCopyResponse('out', { format: 1, columnFormats: [1] }), expected: { type: 'CopyOutResponse', format: 1, columnFormats: [1] } },
  { frame: be.encodeCopyResponse('both', { format: 0, columnFormats: [] }), expected: { type: 'CopyBothResponse', format: 0, columnFormats: [] } },
  { frame: fe.encodeCopyData(b('row\n')), expected: { type: 'CopyData', data: b('row\n') } },
  { frame: fe.encodeCopyDone(), expected: { type: 'CopyDone' } },
  {
    frame: be.encodeNotificationResponse({ processId: 77, channel: 'jobs', payload: '{"id":1}' }),
    expected: { type: 'NotificationResponse', processId: 77, channel: 'jobs', payload: '{"id":1}' },
  },
  { frame: be.encodeFunctionCallResponse(Buffer.from([0, 0, 0, 8])), expected: { type: 'FunctionCallResponse', value: Buffer.from([0, 0, 0, 8]) } },
  { frame: be.encodeFunctionCallResponse(null), expected: { type: 'FunctionCallResponse', value: null } },
  {
    frame: be.encodeNegotiateProtocolVersion({ minorVersion: 0, unrecognized: ['_pq_.compression'] }),
    expected: { type: 'NegotiateProtocolVersion', minorVersion: 0, unrecognized: ['_pq_.compression'] },
  },
];

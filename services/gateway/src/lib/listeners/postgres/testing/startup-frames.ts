import fc from 'fast-check';
import * as fe from '../../../protocols/postgres/encode.js';
import { StartupCode } from '../../../protocols/postgres/codes.js';
import { mutateRaw, mutationArb, noiseArb, noiseTextArb } from './mutations.js';

/**
 * One hostile connection in the startup phase. After the bytes are written the client
 * half-closes, so a gateway still waiting for the rest of a packet sees the end of the stream.
 */
export type StartupSpec =
  /** Written at once on the plain socket: random bytes, mutated packets, oversize lengths. */
  | { kind: 'plain'; bytes: Buffer; frames: number }
  /** SSLRequest, wait for 'S', then bytes that are not a TLS ClientHello. */
  | { kind: 'ssl-then'; after: Buffer; frames: number }
  /** GSSENCRequest, wait for 'N', then (mutated) packets in plain text. */
  | { kind: 'gss-then'; after: Buffer; frames: number }
  /** A real TLS handshake, then (mutated) StartupMessage and password inside it. */
  | { kind: 'tls-then'; after: Buffer; frames: number };

const text = noiseTextArb(20);

const version = fc.oneof(
  { weight: 6, arbitrary: fc.constant(StartupCode.Protocol30) },
  { weight: 1, arbitrary: fc.constantFrom(196610, 131072, StartupCode.SSLRequest, StartupCode.CancelRequest) },
  { weight: 1, arbitrary: fc.integer() },
);

/** StartupMessages aimed at the suite's connection, with random extra parameters. */
export const startupMessageArb = (subject: string): fc.Arbitrary<Buffer> =>
  fc
    .record({
      user: fc.oneof(fc.constant(subject), fc.constant(`${subject}@fake`), text),
      database: fc.oneof(fc.constant('fake'), text),
      extra: fc.array(fc.tuple(fc.oneof(fc.constantFrom('application_name', 'options', 'client_encoding', 'replication', '_pq_.x'), text), text), { maxLength: 4 }),
      version,
    })
    .map(({ user, database, extra, version: v }) => {
      const params: Record<string, string> = {};
      for (const [k, val] of extra) if (k !== '') params[k] = val;
      return fe.encodeStartupMessage({ ...params, user, database }, v >>> 0);
    });

const cancelArb = fc.tuple(fc.integer(), fc.integer()).map(([pid, key]) => fe.encodeCancelRequest(pid, key));
const passwordArb = fc.oneof(text.map((p) => fe.encodePasswordMessage(p)), fc.constant(fe.encodePasswordMessage('eyJhbGciOiJFZERTQSJ9.e30.AAAA')));

const packetArb = (subject: string) =>
  fc.oneof(
    { weight: 5, arbitrary: startupMessageArb(subject) },
    { weight: 2, arbitrary: cancelArb },
    { weight: 1, arbitrary: fc.constantFrom(fe.encodeSSLRequest(), fe.encodeGSSENCRequest()) },
  );

/** 1–3 packets, the whole run edited by 0–3 mutations. */
const mutatedPackets = (subject: string, first: fc.Arbitrary<Buffer> = packetArb(subject)) =>
  fc
    .tuple(first, fc.array(fc.oneof(packetArb(subject), passwordArb), { maxLength: 2 }), fc.array(mutationArb, { maxLength: 3 }))
    .map(([p, rest, ms]) => ({ bytes: mutateRaw(Buffer.concat([p, ...rest]), ms), frames: 1 + rest.length }));

const oversize = fc
  .tuple(fc.oneof(fc.constantFrom(10001, 65536, 0x7fffffff, -1, 0, 3), fc.integer({ min: 10001 })), noiseArb(64))
  .map(([len, body]) => {
    const b = Buffer.alloc(4 + body.length);
    b.writeInt32BE(len, 0);
    b.set(body, 4);
    return b;
  });

export const startupSpecArb = (subject: string): fc.Arbitrary<StartupSpec> =>
  fc.oneof(
    { weight: 3, arbitrary: noiseArb(300).map((bytes) => ({ kind: 'plain' as const, bytes, frames: 1 })) },
    { weight: 8, arbitrary: mutatedPackets(subject).map((p) => ({ kind: 'plain' as const, ...p })) },
    { weight: 2, arbitrary: oversize.map((bytes) => ({ kind: 'plain' as const, bytes, frames: 1 })) },
    // SSLRequest with more bytes in the same write (CVE-2021-23214: they must not reach the TLS layer).
    { weight: 1, arbitrary: noiseArb(80).map((b) => ({ kind: 'plain' as const, bytes: Buffer.concat([fe.encodeSSLRequest(), b, Buffer.from('x')]), frames: 2 })) },
    { weight: 2, arbitrary: noiseArb(200).map((b) => ({ kind: 'ssl-then' as const, after: Buffer.concat([b, Buffer.from('x')]), frames: 2 })) },
    { weight: 2, arbitrary: mutatedPackets(subject).map((p) => ({ kind: 'gss-then' as const, after: p.bytes, frames: p.frames + 1 })) },
    { weight: 1, arbitrary: mutatedPackets(subject, startupMessageArb(subject)).map((p) => ({ kind: 'tls-then' as const, after: p.bytes, frames: p.frames + 1 })) },
  );

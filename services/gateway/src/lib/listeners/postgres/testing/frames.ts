import fc from 'fast-check';
import * as fe from '../../../protocols/postgres/encode.js';
import * as be from '../../../protocols/postgres/encode-backend.js';
import { Frontend } from '../../../protocols/postgres/codes.js';
import { decodeFrontend } from '../../../protocols/postgres/decode.js';
import { decodeBackend } from '../../../protocols/postgres/decode-backend.js';
import type { PgMessage } from '../../../protocols/postgres/reader.js';
import { cutsArb, mutateBody, mutateRaw, mutationArb, noiseArb, noiseTextArb } from './mutations.js';

/** Statements real clients send, from trivial to the kinds the policy cares about. */
const SQL = [
  'SELECT 1',
  'select now()',
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
  'SELECT * FROM t WHERE id = $1',
  "INSERT INTO t (a, b) VALUES (1, 'x') RETURNING id",
  'UPDATE t SET a = a + 1',
  'DELETE FROM orders',
  'WITH gone AS (DELETE FROM t RETURNING *) SELECT count(*) FROM gone',
  'COPY t FROM STDIN',
  'COPY (SELECT 1) TO STDOUT',
  'LISTEN chan',
  "NOTIFY chan, 'payload'",
  'SELECT pg_sleep(0)',
  'CREATE TABLE t (a int primary key, b text)',
  'DROP TABLE IF EXISTS t CASCADE',
  'SET search_path = public, "$user"',
  'SELECT $1::int, $2',
  'DO $$ BEGIN PERFORM 1; END $$',
  'PREPARE p AS SELECT 1',
  'EXECUTE p',
  'DEALLOCATE ALL',
  "SELECT 'é✓' AS x, E'\\x41' AS y",
  'SELECT 1; SELECT 2; DELETE FROM t',
  '/* c */ SELECT 1 -- trailing',
  'GRANT ALL ON t TO PUBLIC',
  'SELECT * FROM pg_catalog.pg_tables',
  'TRUNCATE t',
  'ALTER SYSTEM SET fsync = off',
];

const noNul = (s: string) => s.replace(/\0/g, '');
const shortText = noiseTextArb(24);
const name = fc.oneof(fc.constant(''), fc.constantFrom('s1', 's2', 'p', 'pgbench_1'), shortText);
const bytes = noiseArb;

/** SQL text: real statements, edited ones, random text, deep nesting, multi-statement strings. */
export const sqlArb: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 4, arbitrary: fc.constantFrom(...SQL) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...SQL), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 6 }), noiseTextArb(6)), { minLength: 1, maxLength: 3 }))
        .map(([s, edits]) => edits.reduce((acc, [at, del, ins]) => acc.slice(0, at % (acc.length + 1)) + ins + acc.slice((at % (acc.length + 1)) + del), s)),
    },
    { weight: 2, arbitrary: noiseTextArb(120) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => `SELECT ${'('.repeat(n)}1${')'.repeat(n)}`) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...SQL), { minLength: 2, maxLength: 6 }).map((a) => a.join('; ')) },
  )
  .map(noNul);

const int16 = fc.integer({ min: -0x8000, max: 0x7fff });
const formats = fc.array(fc.oneof(fc.constantFrom(0, 1), int16), { maxLength: 4 });

/** Well-framed, well-formed frontend messages with random content. */
export const clientFrameArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 6, arbitrary: sqlArb.map((sql) => fe.encodeQuery(sql)) },
  { weight: 4, arbitrary: fc.record({ name, sql: sqlArb, paramTypes: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 6 }) }).map((p) => fe.encodeParse(p)) },
  {
    weight: 4,
    arbitrary: fc
      .record({ portal: name, statement: name, paramFormats: formats, params: fc.array(fc.option(bytes(64), { nil: null }), { maxLength: 8 }), resultFormats: formats })
      .map((b) => fe.encodeBind(b)),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('S' as const, 'P' as const), name }).map((d) => fe.encodeDescribe(d)) },
  { weight: 3, arbitrary: fc.record({ portal: name, maxRows: fc.integer() }).map((e) => fe.encodeExecute(e)) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('S' as const, 'P' as const), name }).map((c) => fe.encodeClose(c)) },
  { weight: 3, arbitrary: fc.constant(fe.encodeSync()) },
  { weight: 1, arbitrary: fc.constant(fe.encodeFlush()) },
  { weight: 1, arbitrary: bytes(200).map((d) => fe.encodeCopyData(d)) },
  { weight: 1, arbitrary: fc.constant(fe.encodeCopyDone()) },
  { weight: 1, arbitrary: shortText.map((m) => fe.encodeCopyFail(m)) },
  {
    weight: 1,
    arbitrary: fc
      .record({ oid: fc.integer({ min: 0, max: 0xffffffff }), argFormats: formats, args: fc.array(fc.option(bytes(16), { nil: null }), { maxLength: 4 }), resultFormat: fc.constantFrom(0, 1) })
      .map((f) => fe.encodeFunctionCall(f)),
  },
);

const KNOWN_FRONTEND = new Set<number>(Object.values(Frontend));

/** Frames that end a session one way or another: broken bodies, broken framing, odd types, Terminate. */
export const clientKillerArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(clientFrameArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([f, ms]) => mutateBody(f, ms)) },
  { weight: 3, arbitrary: fc.tuple(clientFrameArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([f, ms]) => mutateRaw(f, ms)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 255 }).filter((c) => !KNOWN_FRONTEND.has(c)), bytes(40))
      .map(([code, body]) => {
        const f = Buffer.alloc(5 + body.length);
        f[0] = code;
        f.writeInt32BE(f.length - 1, 1);
        body.copy(f, 5);
        return f;
      }),
  },
  { weight: 1, arbitrary: shortText.map((p) => fe.encodePasswordMessage(p)) },
  { weight: 1, arbitrary: fc.constant(fe.encodeTerminate()) },
);

/** A post-login client session: many random frames, then (mostly) a few that end it. */
export interface ClientSessionSpec {
  frames: Buffer[];
  /** How many frames at the end are mutated (the rest are random but well-formed). */
  mutated: number;
  /** Cut points of the whole batch into separate writes. */
  cuts: number[];
  /** The first frames go in the same write as the password message. */
  pipelineWithPassword: boolean;
  /** Leave without Terminate after the answer, or in the middle of the batch. */
  ending: 'terminate' | 'destroy' | 'vanish';
}

/**
 * Picks `1..maxFrames` frames from `pool` (generating every frame afresh costs ~75 µs each, too
 * much for 100k frames in the time budget; the pool comes from the same seed).
 */
const fromPool = (pool: Buffer[], maxFrames: number): fc.Arbitrary<Buffer[]> =>
  fc.integer({ min: 1, max: maxFrames }).chain((n) => fc.array(fc.nat(pool.length - 1), { minLength: n, maxLength: n })).map((ix) => ix.map((i) => pool[i]!));

export const clientSessionArb = (pool: Buffer[], maxFrames: number): fc.Arbitrary<ClientSessionSpec> =>
  fc
    .record({
      body: fromPool(pool, maxFrames),
      tail: fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 4, arbitrary: fc.array(clientKillerArb, { minLength: 1, maxLength: 3 }) }),
      cuts: cutsArb,
      pipelineWithPassword: fc.boolean(),
      ending: fc.constantFrom('terminate' as const, 'terminate' as const, 'destroy' as const, 'vanish' as const),
    })
    .map(({ body, tail, cuts, pipelineWithPassword, ending }) => ({ frames: [...body, ...tail], mutated: tail.length, cuts, pipelineWithPassword, ending }));

const severity = fc.constantFrom('ERROR', 'FATAL', 'PANIC', 'WARNING', 'NOTICE', 'DEBUG', 'INFO', 'LOG');
const notice = fc.record({ severity, code: noiseTextArb(5), message: shortText, detail: fc.option(shortText, { nil: undefined }) });
const rowField = fc.record({ name: shortText, tableOid: fc.integer({ min: 0, max: 0xffffffff }), columnAttr: int16, typeOid: fc.integer({ min: 0, max: 0xffffffff }), typeSize: int16, typeModifier: fc.integer(), format: fc.constantFrom(0, 1) });

/** Well-framed backend messages with random content, as an upstream might send after login. */
export const serverFrameArb: fc.Arbitrary<Buffer> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .array(fc.option(fc.oneof({ weight: 9, arbitrary: bytes(40) }, { weight: 1, arbitrary: bytes(4000) }), { nil: null }), { maxLength: 10 })
      .map((v) => be.encodeDataRow(v)),
  },
  { weight: 2, arbitrary: fc.array(rowField, { maxLength: 6 }).map((f) => be.encodeRowDescription(f)) },
  { weight: 2, arbitrary: shortText.map((t) => be.encodeCommandComplete(t)) },
  { weight: 2, arbitrary: fc.constantFrom('I' as const, 'T' as const, 'E' as const).map((s) => be.encodeReadyForQuery(s)) },
  { weight: 1, arbitrary: notice.map((n) => be.encodeErrorResponse(n)) },
  { weight: 1, arbitrary: notice.map((n) => be.encodeNoticeResponse(n)) },
  { weight: 1, arbitrary: fc.tuple(shortText, shortText).map(([k, v]) => be.encodeParameterStatus(k, v)) },
  { weight: 1, arbitrary: fc.record({ processId: fc.integer(), channel: shortText, payload: shortText }).map((n) => be.encodeNotificationResponse(n)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(be.encodeParseComplete(), be.encodeBindComplete(), be.encodeCloseComplete(), be.encodeNoData(), be.encodePortalSuspended(), be.encodeEmptyQueryResponse()),
  },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 6 }).map((t) => be.encodeParameterDescription(t)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('in' as const, 'out' as const, 'both' as const), fc.constantFrom(0, 1), fc.array(fc.constantFrom(0, 1), { maxLength: 4 }))
      .map(([k, format, columnFormats]) => be.encodeCopyResponse(k, { format, columnFormats })),
  },
  { weight: 1, arbitrary: bytes(300).map((d) => fe.encodeCopyData(d)) },
  { weight: 1, arbitrary: fc.option(bytes(20), { nil: null }).map((v) => be.encodeFunctionCallResponse(v)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer(), fc.integer()).map(([p, k]) => be.encodeBackendKeyData(p, k)) },
  { weight: 1, arbitrary: fc.constantFrom(be.encodeAuthentication({ type: 'ok' }), be.encodeAuthentication({ type: 'cleartext' })) },
);

/** Upstream frames that end a session: broken bodies (a bad ReadyForQuery status too) and broken framing. */
export const serverKillerArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(serverFrameArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([f, ms]) => mutateBody(f, ms)) },
  { weight: 2, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 2 }).map((ms) => mutateBody(be.encodeReadyForQuery('I'), ms)) },
  { weight: 3, arbitrary: fc.tuple(serverFrameArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 })).map(([f, ms]) => mutateRaw(f, ms)) },
);

export interface ServerSessionSpec {
  /** A mutated login exchange sent instead of the normal greeting (the session should not start). */
  login: Buffer[] | undefined;
  frames: Buffer[];
  mutated: number;
  cuts: number[];
  thenClose: boolean;
}

const loginFrame = fc.oneof(
  fc.constantFrom(
    be.encodeAuthentication({ type: 'ok' }),
    be.encodeAuthentication({ type: 'cleartext' }),
    be.encodeAuthentication({ type: 'md5', salt: Buffer.from([1, 2, 3, 4]) }),
    be.encodeAuthentication({ type: 'sasl', mechanisms: ['SCRAM-SHA-256'] }),
    be.encodeParameterStatus('server_version', '17.0'),
    be.encodeBackendKeyData(42, 43),
    be.encodeReadyForQuery('I'),
  ),
  fc.tuple(fc.constantFrom('sasl-continue' as const, 'sasl-final' as const), bytes(60)).map(([type, data]) => be.encodeAuthentication({ type, data })),
  fc.tuple(fc.integer(), bytes(20)).map(([code, data]) => be.encodeAuthentication({ type: 'other', code, data })),
  notice.map((n) => be.encodeErrorResponse(n)),
);

export const serverSessionArb = (pool: Buffer[], maxFrames: number): fc.Arbitrary<ServerSessionSpec> =>
  fc
    .record({
      login: fc.oneof(
        { weight: 6, arbitrary: fc.constant(undefined) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(fc.array(loginFrame, { minLength: 1, maxLength: 6 }), fc.array(mutationArb, { maxLength: 3 }))
            .map(([frames, ms]) => frames.map((f, i) => (i === frames.length - 1 ? mutateRaw(f, ms) : f))),
        },
      ),
      body: fromPool(pool, maxFrames),
      tail: fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 3, arbitrary: fc.array(serverKillerArb, { minLength: 1, maxLength: 3 }) }),
      cuts: cutsArb,
      thenClose: fc.boolean(),
    })
    .map(({ login, body, tail, cuts, thenClose }) => ({ login, frames: [...body, ...tail], mutated: tail.length, cuts, thenClose }));

/** Frames sessions draw from: generated ones, and generated ones whose bytes were then mutated. */
export interface FramePool {
  frames: Buffer[];
  /** The members of `frames` that are mutated. */
  mutated: Set<Buffer>;
}

function decodes(frame: Buffer, decode: (m: PgMessage) => unknown): boolean {
  try {
    decode({ code: frame[0] ?? 0, frame, payload: frame.subarray(5) });
    return true;
  } catch {
    return false;
  }
}

/**
 * A quarter generated frames, three quarters body mutations of generated frames that still
 * decode: those reach SQL parsing, policy, masking and recording instead of ending the session
 * at the first decoder (mutations that do not decode are the sessions' killer tails).
 */
function pool(arb: fc.Arbitrary<Buffer>, decode: (m: PgMessage) => unknown, seed: number, size: number): FramePool {
  const frames = fc.sample(arb, { seed, numRuns: Math.ceil(size / 4) });
  const mutated = new Set<Buffer>();
  // About 45% of body mutations leave a frame that differs and still decodes.
  for (const [f, ms] of fc.sample(fc.tuple(arb, fc.array(mutationArb, { minLength: 1, maxLength: 3 })), { seed: seed + 1, numRuns: Math.ceil(size * 2) })) {
    if (frames.length >= size) break;
    const m = mutateBody(f, ms);
    if (m.length < 5 || m.equals(f) || !decodes(m, decode)) continue;
    frames.push(m);
    mutated.add(m);
  }
  return { frames, mutated };
}

export const clientFramePool = (seed: number, size: number): FramePool => pool(clientFrameArb, decodeFrontend, seed, size);
export const serverFramePool = (seed: number, size: number): FramePool => pool(serverFrameArb, decodeBackend, seed, size);

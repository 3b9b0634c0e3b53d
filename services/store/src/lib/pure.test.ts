import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEventBody, decodeRecord, frameMessages } from '@chaperone/events';
import { fixtureSession } from '../testing.js';
import { parseRow } from './columns.js';
import { loadMigrations, splitStatements } from './migrate.js';
import { frameColumns, toEventRow } from './rows.js';
import { encodeTsv, unescapeTsv, splitTsvLine } from './tsv.js';
import { encodeRowBinary } from './rowbinary.js';
import { decodeRowBinary } from './rowbinary-read.js';
import { budgetEnd, fitting } from './pages.js';
import { EVENT_COLUMNS } from './rows.js';
import { str } from './sql.js';

describe('store helpers', () => {
  it('splits DDL at semicolons outside quotes and comments', () => {
    const sql = "-- a; comment\nCREATE TABLE a (x String COMMENT 'x; y') ENGINE = Memory;\n\nCREATE TABLE b (y UInt8) ENGINE = Memory -- trailing; too\n;";
    assert.deepEqual(splitStatements(sql), ["CREATE TABLE a (x String COMMENT 'x; y') ENGINE = Memory", 'CREATE TABLE b (y UInt8) ENGINE = Memory']);
  });

  it('ships migrations whose statements can all run again', () => {
    const ms = loadMigrations();
    assert.ok(ms.length >= 4);
    // CREATE … IF NOT EXISTS; ADD COLUMN (migrate() accepts an existing column); INSERT … SELECT
    // only into tables that collapse what is written twice; 004's swap: a comment set to what it
    // was, single RENAMEs (migrate() accepts one that already ran), DROP … IF EXISTS, a check
    // (all checked cut off at every statement by the migration conformance suite).
    for (const m of ms)
      for (const s of m.statements)
        assert.match(
          s,
          /^(CREATE (TABLE|MATERIALIZED VIEW|VIEW) IF NOT EXISTS \w+|ALTER TABLE \w+ ADD COLUMN \w+|INSERT INTO (commands_by_subject|commands_daily|events_004)\s+(\([\w\s,]+\)\s+)?SELECT|ALTER TABLE events COMMENT COLUMN seq 'per-session sequence number, from 0'$|RENAME TABLE \w+ TO \w+$|DROP TABLE IF EXISTS \w+$|SELECT throwIf\()/,
          s,
        );
  });

  it('fits events into a byte budget: within it, never empty', () => {
    assert.equal(fitting([3, 3, 3], 6), 2);
    assert.equal(fitting([3, 3, 3], 5), 1);
    assert.equal(fitting([10, 1], 5), 1, 'the first event, however big');
    assert.equal(fitting([1, 1], 100), 2);
    assert.equal(fitting([], 5), 0);
    assert.equal(budgetEnd([{ seq: 4, bytes: 3 }, { seq: 6, bytes: 3 }, { seq: 7, bytes: 3 }], 6), 7, 'ends after the last event that fits, past a gap');
    assert.equal(budgetEnd([], 6), undefined);
  });

  it('reads back in RowBinary what it writes, binary columns as the same bytes', () => {
    const f = fixtureSession();
    const rows = f.events.map((e) => toEventRow(e.event, e.body, e.hash));
    const back = decodeRowBinary(EVENT_COLUMNS, encodeRowBinary(EVENT_COLUMNS, rows), new Set(['payload', 'avro']));
    assert.deepEqual(back, rows);
    const cols = [{ name: 'n', type: 'UInt64' }, { name: 'e', type: 'Nullable(DateTime)' }, { name: 's', type: 'String' }] as const;
    assert.deepEqual(decodeRowBinary(cols, encodeRowBinary(cols, [{ n: 2 ** 40 + 5, e: null, s: 'é€' }, { n: 0, e: 7, s: 'x'.repeat(300) }])), [
      { n: 2 ** 40 + 5, e: null, s: 'é€' },
      { n: 0, e: 7, s: 'x'.repeat(300) },
    ]);
    assert.throws(() => decodeRowBinary(cols, encodeRowBinary(cols, [{ n: 1, e: null, s: 'abc' }]).subarray(0, 11)), /cut short/);
  });

  it('unescapes TabSeparated fields', () => {
    assert.equal(unescapeTsv('\\N'), null);
    assert.equal(unescapeTsv("a\\tb\\\\c\\'d\\ne"), "a\tb\\c'd\ne");
    assert.deepEqual(splitTsvLine('1\t\\N\tx'), ['1', null, 'x']);
  });

  it('encodes RowBinary', () => {
    const buf = encodeRowBinary(
      [
        { name: 's', type: 'String' },
        { name: 'n', type: 'UInt64' },
        { name: 'a', type: 'Array(String)' },
        { name: 'e', type: 'Nullable(DateTime)' },
      ],
      [{ s: Buffer.from([0xff]), n: 300, a: ['x'], e: null }],
    );
    assert.deepEqual([...buf], [1, 0xff, 44, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0x78, 1]);
  });

  it('encodes RowBinary 64-bit integers past 2^32, UTF-8 strings and long lengths as ClickHouse reads them', () => {
    const cols = [
      { name: 'n', type: 'UInt64' },
      { name: 's', type: 'String' },
      { name: 'b', type: 'String' },
    ] as const;
    const long = Buffer.alloc(300, 0x61);
    const buf = encodeRowBinary(cols, [{ n: 2 ** 40 + 5, s: 'é€', b: long }], 1);
    const expected = Buffer.alloc(8);
    expected.writeBigUInt64LE(2n ** 40n + 5n);
    assert.deepEqual(buf.subarray(0, 8), expected);
    assert.deepEqual([...buf.subarray(8, 14)], [5, 0xc3, 0xa9, 0xe2, 0x82, 0xac]);
    // 300 as a LEB128 varint: 0xac 0x02
    assert.deepEqual([...buf.subarray(14, 16)], [0xac, 0x02]);
    assert.ok(buf.subarray(16).equals(long));
    assert.throws(() => encodeRowBinary(cols, [{ n: -1, s: '', b: '' }]), /column n: expected an unsigned integer/);
  });

  it('encodes, writes as text and reads back Array(UInt64)', () => {
    const cols = [{ name: 'o', type: 'Array(UInt64)' }] as const;
    const buf = encodeRowBinary(cols, [{ o: [0, 2 ** 40] }, { o: [] }]);
    const big = Buffer.alloc(8);
    big.writeBigUInt64LE(2n ** 40n);
    assert.deepEqual(buf, Buffer.concat([Buffer.from([2]), Buffer.alloc(8), big, Buffer.from([0])]));
    assert.throws(() => encodeRowBinary(cols, [{ o: [1.5] }]), /column o: expected an unsigned integer/);
    assert.equal(encodeTsv(cols, [{ o: [0, 7] }, { o: [] }]).toString(), '[0,7]\n[]\n');
    assert.deepEqual(parseRow(cols, { o: ['0', '7'] }), { o: [0, 7] });
  });

  it('projects a frame\'s messages as frameMessages reads them: v2 lists, v1 one message at 0', () => {
    const frame = { messageType: 'RowDescription', bytes: Buffer.alloc(30) };
    for (const f of [
      { ...frame, messageTypes: ['RowDescription', 'DataRow', 'ReadyForQuery'], offsets: [0, 12, 24] },
      { ...frame, messageTypes: [], offsets: [] },
      { ...frame, messageTypes: ['RowDescription', 'DataRow'], offsets: [0] },
    ]) {
      const messages = frameMessages(f);
      assert.deepEqual(frameColumns(f), { types: messages.map((m) => m.type), offsets: messages.map((m) => m.start) });
    }
  });

  it('builds fixture records a consumer decodes to the recorded events, v1 ones as v1 Avro', () => {
    const f = fixtureSession({ v1Queries: 1 });
    const decoded = f.messages.flatMap((m) => decodeRecord(m));
    assert.deepEqual(decoded.map((d) => d.body), f.events.map((e) => e.body));
    // Publishes as a gateway makes them: v1 events one per record, then batches of a few.
    assert.deepEqual(f.messages.map((m) => decodeRecord(m).length), [1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1, 1]);
    const result = f.events.at(-2)!;
    assert.ok(result.event.body.type === 'Frame');
    assert.deepEqual(result.event.body.messageTypes, ['ErrorResponse', 'ReadyForQuery']);
    const v1 = f.events[1]!;
    assert.ok(v1.event.body.type === 'Frame');
    assert.deepEqual(decodeEventBody(v1.body).body, v1.event.body);
    assert.deepEqual(toEventRow(v1.event, v1.body, v1.hash).message_types, ['Query']);
  });

  it('quotes string literals', () => {
    assert.equal(str("it's a \\ test"), "'it\\'s a \\\\ test'");
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadMigrations, splitStatements } from './migrate.js';
import { unescapeTsv, splitTsvLine } from './tsv.js';
import { encodeRowBinary } from './rowbinary.js';
import { str } from './sql.js';

describe('store helpers', () => {
  it('splits DDL at semicolons outside quotes and comments', () => {
    const sql = "-- a; comment\nCREATE TABLE a (x String COMMENT 'x; y') ENGINE = Memory;\n\nCREATE TABLE b (y UInt8) ENGINE = Memory -- trailing; too\n;";
    assert.deepEqual(splitStatements(sql), ["CREATE TABLE a (x String COMMENT 'x; y') ENGINE = Memory", 'CREATE TABLE b (y UInt8) ENGINE = Memory']);
  });

  it('ships migrations whose statements can all run again', () => {
    const ms = loadMigrations();
    assert.ok(ms.length >= 2);
    // CREATE … IF NOT EXISTS; ADD COLUMN (migrate() accepts an existing column); INSERT … SELECT
    // only into tables that collapse what is written twice (checked by the conformance suite).
    for (const m of ms)
      for (const s of m.statements)
        assert.match(s, /^(CREATE (TABLE|MATERIALIZED VIEW|VIEW) IF NOT EXISTS \w+|ALTER TABLE \w+ ADD COLUMN \w+|INSERT INTO (commands_by_subject|commands_daily)\s+SELECT)/, s);
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

  it('quotes string literals', () => {
    assert.equal(str("it's a \\ test"), "'it\\'s a \\\\ test'");
  });
});

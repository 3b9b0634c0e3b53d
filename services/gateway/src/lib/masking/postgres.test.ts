import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeDataRow,
  decodeErrorFields,
  encodeCopyData,
  encodeCopyResponse,
  encodeDataRow,
  encodeErrorResponse,
  encodeNoticeResponse,
  encodeRowDescription,
  MessageReader,
  PgProtocolError,
  type PgMessage,
  type RowField,
} from '../protocols/postgres/index.js';
import { Masker, PgResultMasker } from './index.js';

const msg = (frame: Buffer): PgMessage => new MessageReader({ maxMessageBytes: 1 << 20 }).push(frame).messages[0]!;
const described = (masker: Masker, fields: (Pick<RowField, 'name'> & Partial<RowField>)[]) => {
  const pg = new PgResultMasker(masker);
  pg.mask(msg(encodeRowDescription(fields)));
  return pg;
};
const values = (frame: Buffer) => decodeDataRow(msg(frame).payload).map((v) => (v === null ? null : v.toString('utf8')));

const AWS = 'AKIAIOSFODNN7EXAMPLE';

describe('PgResultMasker', () => {
  it('rewrites a DataRow with exact lengths, keeping NULLs and multibyte text', () => {
    const pg = described(new Masker(), [{ name: 'id' }, { name: 'note' }, { name: 'missing' }, { name: 'key' }, { name: 'city' }]);
    const row = encodeDataRow(['7', 'Grüße, écrivez à zoë@example.com — 東京', null, `id ${AWS} end`, 'Zürich']);
    const r = pg.mask(msg(row));
    assert.notEqual(r.frame, row);
    assert.deepEqual(values(r.frame), ['7', 'Grüße, écrivez à [MASKED:email] — 東京', null, 'id [MASKED:aws-access-key-id] end', 'Zürich']);
    assert.equal(r.frame.readInt32BE(1), r.frame.length - 1, 'the message length is exact');
    assert.deepEqual(r.notes, [
      { detector: 'email', location: 'note', count: 1 },
      { detector: 'aws-access-key-id', location: 'key', count: 1 },
    ]);
  });

  it('returns the very same frame when nothing matches', () => {
    const pg = described(new Masker(), [{ name: 'id' }, { name: 'name' }]);
    const row = msg(encodeDataRow(['1', 'Ada Lovelace']));
    const r = pg.mask(row);
    assert.equal(r.frame, row.frame);
    assert.deepEqual(r.notes, []);
    const empty = msg(encodeDataRow([]));
    assert.equal(pg.mask(empty).frame, empty.frame);
  });

  it('masks whole columns named by the rules, case-insensitively, and counts them', () => {
    const pg = described(new Masker({ columns: ['SSN', 'value'] }), [{ name: 'name' }, { name: 'ssn' }, { name: 'value' }]);
    const r = pg.mask(msg(encodeDataRow(['Ada', '078-05-1120', null])));
    assert.deepEqual(values(r.frame), ['Ada', '[MASKED:column]', null]);
    assert.deepEqual(r.notes, [{ detector: 'column', location: 'ssn', count: 1 }]);
  });

  it('leaves binary values of non-text types alone but masks binary text', () => {
    const pg = described(new Masker(), [
      { name: 'n', typeOid: 20, format: 1 }, // int8, binary
      { name: 'blob', typeOid: 17, format: 1 }, // bytea, binary
      { name: 't', typeOid: 25, format: 1 }, // text, binary = UTF-8
    ]);
    const blob = Buffer.from(`raw ${AWS}`);
    const r = pg.mask(msg(encodeDataRow([Buffer.from([0, 0, 0, 0, 0, 0, 0, 42]), blob, `x ${AWS}`])));
    const [n, b, t] = decodeDataRow(msg(r.frame).payload);
    assert.deepEqual(n, Buffer.from([0, 0, 0, 0, 0, 0, 0, 42]));
    assert.deepEqual(b, blob);
    assert.equal(t!.toString(), 'x [MASKED:aws-access-key-id]');
  });

  it('names columns by position when no RowDescription came first', () => {
    const r = new PgResultMasker(new Masker()).mask(msg(encodeDataRow(['ok', 'mail bob@example.com'])));
    assert.deepEqual(r.notes, [{ detector: 'email', location: 'column 2', count: 1 }]);
  });

  it('masks the texts of errors and notices, leaving codes alone', () => {
    const pg = new PgResultMasker(new Masker());
    const err = encodeErrorResponse({ severity: 'ERROR', code: '23505', message: 'duplicate key value violates unique constraint "customers_email_key"', detail: 'Key (email)=(ada@example.com) already exists.' });
    const r = pg.mask(msg(err));
    const fields = decodeErrorFields(msg(r.frame).payload);
    assert.equal(fields.D, 'Key (email)=([MASKED:email]) already exists.');
    assert.equal(fields.C, '23505');
    assert.deepEqual(r.notes, [{ detector: 'email', location: 'error.detail', count: 1 }]);
    const notice = encodeNoticeResponse({ severity: 'NOTICE', code: '00000', message: `rotated ${AWS}` });
    const n = pg.mask(msg(notice));
    assert.equal(n.frame[0], 0x4e);
    assert.equal(decodeErrorFields(msg(n.frame).payload, 'NoticeResponse').M, 'rotated [MASKED:aws-access-key-id]');
    const plain = msg(encodeErrorResponse({ severity: 'ERROR', code: '42P01', message: 'relation "nope" does not exist' }));
    assert.equal(pg.mask(plain).frame, plain.frame);
  });

  it('masks text COPY OUT rows, not binary ones', () => {
    const pg = new PgResultMasker(new Masker());
    pg.mask(msg(encodeCopyResponse('out', { format: 0, columnFormats: [0, 0] })));
    const r = pg.mask(msg(encodeCopyData(Buffer.from(`1\t${AWS}\n`))));
    assert.equal(msg(r.frame).payload.toString(), '1\t[MASKED:aws-access-key-id]\n');
    assert.deepEqual(r.notes, [{ detector: 'aws-access-key-id', location: 'copy', count: 1 }]);
    pg.mask(msg(encodeCopyResponse('out', { format: 1, columnFormats: [1, 1] })));
    const bin = msg(encodeCopyData(Buffer.from(`PGCOPY\n\xff\r\n\0${AWS}`, 'latin1')));
    assert.equal(pg.mask(bin).frame, bin.frame);
  });

  it('follows rule changes and refuses malformed rows with the codec error', () => {
    const pg = described(new Masker(), [{ name: 'email' }]);
    const row = encodeDataRow(['bob@example.com']);
    assert.deepEqual(values(pg.mask(msg(row)).frame), ['[MASKED:email]']);
    pg.setMasker(new Masker({ detectors: [] }));
    const m = msg(row);
    assert.equal(pg.mask(m).frame, m.frame);
    const bad = Buffer.from(row);
    bad.writeInt32BE(99, 7); // value length beyond the message
    assert.throws(() => pg.mask(msg(bad)), PgProtocolError);
  });
});

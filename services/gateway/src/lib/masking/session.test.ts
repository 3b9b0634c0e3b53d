import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeDataRow, encodeReadyForQuery, encodeRowDescription, MessageReader, type PgMessage } from '../protocols/postgres/index.js';
import { effectiveRules, maskerFor, PgSessionMasking, SECRET_DETECTOR_IDS } from './index.js';

const msg = (frame: Buffer): PgMessage => new MessageReader({ maxMessageBytes: 1 << 20 }).push(frame).messages[0]!;
const text = (m: { frame: Buffer }) => m.frame.subarray(11).toString();

describe('PgSessionMasking', () => {
  it('always adds every secret detector; PII as the policy says, all when it says nothing', () => {
    const none = effectiveRules({ detectors: [], columns: ['ssn'] });
    assert.deepEqual(none.detectors, [...SECRET_DETECTOR_IDS].sort());
    assert.deepEqual(none.columns, ['ssn']);
    assert.ok(effectiveRules(undefined).detectors!.includes('email'));
    assert.ok(effectiveRules({ detectors: ['iban'] }).detectors!.includes('iban'));
    assert.equal(maskerFor(none), maskerFor(effectiveRules({ columns: ['ssn'], detectors: [] })), 'maskers are shared');
  });

  it('masks each execution with its rules, and with the union while results are outstanding', () => {
    const s = new PgSessionMasking();
    const row = () => msg(encodeDataRow(['ada@example.com AKIAIOSFODNN7EXAMPLE']));
    const desc = msg(encodeRowDescription([{ name: 'v' }]));
    const rfq = msg(encodeReadyForQuery('I'));

    s.onExecution(effectiveRules({ detectors: [] })); // secrets only
    s.mask(desc);
    assert.equal(text(s.mask(row())), 'ada@example.com [MASKED:aws-access-key-id]');
    s.mask(rfq);

    s.onExecution(effectiveRules({ detectors: ['email'] }));
    s.mask(rfq);
    s.onExecution(effectiveRules({ detectors: [] })); // after ReadyForQuery: replaces
    assert.equal(text(s.mask(row())), 'ada@example.com [MASKED:aws-access-key-id]');

    s.onExecution(effectiveRules({ detectors: ['email'] })); // pipelined: both outstanding
    assert.equal(text(s.mask(row())), '[MASKED:email] [MASKED:aws-access-key-id]');
    s.mask(rfq);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { jsonBatchCuts, jsonBatchParts, pieceId } from './batch.js';

const pieces = (body: Buffer): Buffer[] => {
  let at = 0;
  return jsonBatchCuts(body).map((end) => body.subarray(at, (at = end)));
};

describe('mcp JSON-RPC batch pieces', () => {
  it('cuts a batch into one piece per message, the pieces together the whole body', () => {
    const body = Buffer.from(' [ {"id":1,"s":"a,]}[\\"x"} ,\n{"id":"b","r":[1,{"c":[2]}]},{"id":null} ]\n');
    const ps = pieces(body);
    assert.deepEqual(ps.map(pieceId), [1, 'b', null]);
    assert.ok(Buffer.concat(ps).equals(body));
    assert.deepEqual(pieces(Buffer.from('{"id":7}')).map(pieceId), [7], 'one message is one piece');
    assert.deepEqual(pieces(Buffer.from('[{"id":7}]')).map(pieceId), [7]);
    assert.equal(pieceId(Buffer.from('[{"no":1},')), undefined);
  });

  it('finds every message of any batch (fast-check)', () => {
    const message = fc.record({ jsonrpc: fc.constant('2.0'), id: fc.oneof(fc.integer(), fc.string(), fc.constant(null)), result: fc.jsonValue() });
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 6 }), fc.boolean(), (batch, pretty) => {
        const body = Buffer.from(pretty ? JSON.stringify(batch, null, 2) : JSON.stringify(batch));
        const ps = pieces(body);
        assert.equal(ps.length, batch.length);
        assert.ok(Buffer.concat(ps).equals(body));
        assert.deepEqual(ps.map(pieceId), batch.map((m) => m.id));
      }),
    );
  });

  it('gives the answer whole at its end, one part per element with the command of its id', () => {
    const t = jsonBatchParts((id) => (id === 'a' ? 7 : id === 'b' ? 8 : 0));
    const body = '[{"id":"b","result":1},{"id":"a","result":2},{"id":"c"}]';
    assert.equal(t.push(Buffer.from(body.slice(0, 10))).length, 0);
    assert.equal(t.push(Buffer.from(body.slice(10))).length, 0);
    assert.equal(t.end().toString(), body);
    assert.deepEqual(t.takeParts!().map((p) => p.commandId), [8, 7, 0]);
    assert.deepEqual(t.takeParts!(), [], 'taken once');
  });
});

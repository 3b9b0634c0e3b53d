import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { frameMessageCommands, frameMessages } from '@chaperone/events';
import { FrameBuilder, joinBuffers } from './frames.js';

describe('joinBuffers', () => {
  it('equals Buffer.concat, sharing memory when the parts lie back to back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.array(fc.nat(200), { maxLength: 8 }), fc.boolean(), (bytes, cuts, copy) => {
        const chunk = Buffer.from(bytes);
        const at = [...new Set(cuts.map((c) => Math.min(c, chunk.length)))].sort((a, b) => a - b);
        const parts: Buffer[] = [];
        let prev = 0;
        for (const c of [...at, chunk.length]) {
          parts.push(copy ? Buffer.from(chunk.subarray(prev, c)) : chunk.subarray(prev, c));
          prev = c;
        }
        assert.deepEqual(joinBuffers(parts), Buffer.concat(parts));
      }),
    );
    const chunk = Buffer.from('abcdef');
    const joined = joinBuffers([chunk.subarray(0, 2), chunk.subarray(2, 6)]);
    const gapped = joinBuffers([chunk.subarray(0, 2), chunk.subarray(3, 6)]);
    chunk[0] = 0x41;
    assert.equal(joined.toString(), 'Abcdef', 'no copy for slices of one chunk');
    assert.equal(gapped.toString(), 'abdef', 'a gap means a copy');
  });
});

describe('FrameBuilder', () => {
  it('makes one Frame of the messages of one write, with their types and offsets, and sums mask notes', () => {
    const b = new FrameBuilder('SERVER_TO_CLIENT');
    assert.equal(b.take(), undefined);
    b.add('DataRow', Buffer.from('D1'), [{ detector: 'email', location: 'email', count: 1 }]);
    b.add('DataRow', Buffer.from('D22'), [{ detector: 'email', location: 'email', count: 2 }, { detector: 'iban', location: 'iban', count: 1 }]);
    b.add('ReadyForQuery', Buffer.from('Z'));
    assert.equal(b.messages, 3);
    const { bytes, frame } = b.take()!;
    assert.equal(bytes.toString(), 'D1D22Z');
    assert.equal(frame.bytes, bytes);
    assert.equal(frame.messageType, 'DataRow');
    assert.deepEqual(frame.messageTypes, ['DataRow', 'DataRow', 'ReadyForQuery']);
    assert.deepEqual(frame.offsets, [0, 2, 5]);
    assert.deepEqual(frame.masks, [{ detector: 'email', location: 'email', count: 3 }, { detector: 'iban', location: 'iban', count: 1 }]);
    assert.deepEqual(frameMessages(frame).map((m) => bytes.subarray(m.start, m.end).toString()), ['D1', 'D22', 'Z']);
    assert.equal(b.messages, 0, 'take() starts a new frame');
    b.add('CommandComplete', Buffer.from('C'));
    const last = b.take()!.frame;
    assert.deepEqual(last.offsets, [0]);
    assert.equal(last.commandIds, undefined, 'a frame of no command carries no runs');
  });

  it('carries the command of each message as runs: an entry where the command changes', () => {
    const b = new FrameBuilder('SERVER_TO_CLIENT');
    b.add('ParseComplete', Buffer.from('1'), undefined, 0);
    for (let i = 0; i < 3; i++) b.add('DataRow', Buffer.from('D'), undefined, 4);
    b.add('CommandComplete', Buffer.from('C'), undefined, 4);
    b.add('DataRow', Buffer.from('D'), undefined, 5);
    b.add('ReadyForQuery', Buffer.from('Z'), undefined, 5);
    const { frame } = b.take()!;
    assert.deepEqual(frame.commandIds, [0, 4, 5]);
    assert.deepEqual(frame.commandStarts, [0, 1, 5]);
    assert.deepEqual(frameMessageCommands(frame), [0, 4, 4, 4, 4, 5, 5]);
    b.add('NoticeResponse', Buffer.from('N'));
    assert.equal(b.take()!.frame.commandIds, undefined, 'the runs start again with each frame');
    b.add('DataRow', Buffer.from('D'), undefined, 6);
    assert.deepEqual(b.take()!.frame.commandIds, [6]);
  });

  it('names every command of a message that carries several: empty runs after it, the message under the first', () => {
    const b = new FrameBuilder('CLIENT_TO_SERVER');
    b.add('Query', Buffer.from('Q1'), undefined, 3, 5);
    b.add('Query', Buffer.from('Q2'), undefined, 6);
    b.add('Query', Buffer.from('Q3'), undefined, 7, 8);
    b.add('Sync', Buffer.from('S'));
    const { frame } = b.take()!;
    assert.deepEqual(frame.commandIds, [3, 4, 5, 6, 7, 8, 0]);
    assert.deepEqual(frame.commandStarts, [0, 1, 1, 1, 2, 3, 3]);
    assert.deepEqual(frameMessageCommands(frame), [3, 6, 7, 0]);
    b.add('Query', Buffer.from('Q'), undefined, 9, 8);
    assert.deepEqual(b.take()!.frame.commandIds, [9], 'a range that ends before it starts is the one command');
    b.add('Query', Buffer.from('Q'), undefined, 0, 4);
    assert.equal(b.take()!.frame.commandIds, undefined, 'no command, whatever the range');
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { SPDY3_DICTIONARY } from './dictionary.js';
import { SpdyProtocolError } from './errors.js';
import { controlFrame, dataFrame, SpdyWriter } from './fixtures.js';
import { SPDY_FLAG_FIN, SpdyFrameReader, type SpdyFrame } from './frame.js';
import { encodeNameValueBlock, parseNameValueBlock, SpdyHeaderDecoder } from './header-block.js';
import { SpdyStreamTable, spdyMessageType } from './streams.js';

const summary = (f: SpdyFrame): string => `${f.typeName}:${f.streamId}:${f.flags}:${f.raw.length}`;

describe('SPDY/3.1 codec', () => {
  const w = new SpdyWriter();
  after(() => w.close());

  it('has the 1423-byte SPDY/3 dictionary (the Adler-32 peers name)', () => {
    assert.equal(SPDY3_DICTIONARY.length, 1423);
    assert.equal(createHash('sha256').update(SPDY3_DICTIONARY).digest('hex'), '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02');
  });

  it('splits a kubectl exec conversation at every byte offset into the same frames', async () => {
    const wire = Buffer.concat([
      await w.synStream(1, [['streamtype', ['error']]]),
      await w.synStream(3, [['streamtype', ['stdout']]]),
      w.settings([[7, 65536]]),
      w.ping(1),
      dataFrame(3, 0, 'hello\n'),
      dataFrame(3, SPDY_FLAG_FIN, ''),
      w.windowUpdate(3, 6),
      w.rstStream(1),
      w.goAway(3),
    ]);
    const whole = new SpdyFrameReader(1 << 20).push(wire);
    assert.equal(whole.error, undefined);
    const expected = whole.frames.map(summary);
    assert.deepEqual(expected.map((s) => s.split(':')[0]), ['syn_stream', 'syn_stream', 'settings', 'ping', 'data', 'data', 'window_update', 'rst_stream', 'goaway']);
    assert.deepEqual(whole.frames.map((f) => f.streamId), [1, 3, 0, 0, 3, 3, 3, 1, 0]);
    for (let i = 0; i <= wire.length; i++) {
      const r = new SpdyFrameReader(1 << 20);
      const a = r.push(wire.subarray(0, i));
      const b = r.push(wire.subarray(i));
      assert.equal(a.error ?? b.error, undefined);
      assert.deepEqual([...a.frames, ...b.frames].map(summary), expected, `split at ${i}`);
      assert.equal(r.bufferedBytes, 0);
    }
    assert.ok(Buffer.concat(whole.frames.map((f) => f.raw)).equals(wire), 'frames are the wire bytes, nothing more or less');
  });

  it('refuses what SPDY/3.1 does not allow, as a value', () => {
    const bad: [string, Buffer, RegExp][] = [
      ['SPDY/2 control frame', controlFrame(1, 0, Buffer.alloc(12), 2), /version 2/],
      ['RST_STREAM of 4 bytes', controlFrame(3, 0, Buffer.alloc(4)), /must be 8/],
      ['SYN_STREAM without its fields', controlFrame(1, 0, Buffer.alloc(6)), /at least 10/],
      ['SETTINGS with a wrong count', controlFrame(4, 0, Buffer.from([0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1])), /entry count/],
      ['SYN_STREAM on stream 0', controlFrame(1, 0, Buffer.alloc(12)), /stream 0/],
      ['data on stream 0', dataFrame(0, 0, 'x'), /stream 0/],
      ['data frame beyond the limit', Buffer.from([0, 0, 0, 1, 0, 0x10, 0, 0]), /exceeds the limit/],
      ['control frame beyond its limit', Buffer.from([0x80, 3, 0, 1, 0, 0x01, 0, 0]), /control frame of 65536 bytes/],
    ];
    for (const [name, bytes, re] of bad) {
      const r = new SpdyFrameReader(1024);
      const out = r.push(bytes);
      assert.ok(out.error instanceof SpdyProtocolError, name);
      assert.match(out.error.message, re, name);
      assert.equal(r.bufferedBytes, 0, `${name}: nothing is kept after an error`);
    }
    const unknown = new SpdyFrameReader(1024).push(controlFrame(10, 0, Buffer.alloc(3)));
    assert.equal(unknown.frames[0]!.typeName, 'control-10', 'unknown control types pass (receivers ignore them)');
  });

  it('inflates header blocks in order with one context per direction', async () => {
    const writer = new SpdyWriter();
    const d = new SpdyHeaderDecoder();
    for (const type of ['error', 'stdin', 'stdout', 'stderr', 'resize']) {
      const f = new SpdyFrameReader(1 << 20).push(await writer.synStream(1, [['streamtype', [type]], ['x-multi', ['a', 'b']]])).frames[0]!;
      assert.deepEqual(await d.decode(f.headerBlock!), [['streamtype', [type]], ['x-multi', ['a', 'b']]]);
    }
    writer.close();
    d.close();
  });

  it('refuses header blocks that do not inflate, inflate too far, or do not parse', async () => {
    assert.match(String(await new SpdyHeaderDecoder().decode(Buffer.from('not zlib at all'))), /does not inflate/);
    const bomb = new SpdyWriter();
    const big = new SpdyFrameReader(1 << 20).push(await bomb.synStream(1, [['x', ['a'.repeat(200_000)]]])).frames[0]!;
    assert.match(String(await new SpdyHeaderDecoder({ maxBlockBytes: 10_000 }).decode(big.headerBlock!)), /more than 10000 bytes/);
    bomb.close();
    const d = new SpdyHeaderDecoder();
    assert.match(String(await d.decode(Buffer.alloc(0))), /shorter than its pair count/);
    assert.match(String(await d.decode(Buffer.from('x'))), /broken/, 'a broken context stays broken');
    assert.ok(parseNameValueBlock(encodeNameValueBlock([['Upper', ['x']]]), 10) instanceof SpdyProtocolError);
    assert.ok(parseNameValueBlock(encodeNameValueBlock([['a', ['x']], ['a', ['y']]]), 10) instanceof SpdyProtocolError);
    assert.ok(parseNameValueBlock(encodeNameValueBlock([['a', ['x']], ['b', ['y']]]), 1) instanceof SpdyProtocolError);
    assert.ok(parseNameValueBlock(Buffer.concat([encodeNameValueBlock([['a', ['x']]]), Buffer.from([0])]), 10) instanceof SpdyProtocolError);
    assert.ok(parseNameValueBlock(Buffer.from([0, 0, 0, 1, 0, 0, 0, 9, 0x61]), 10) instanceof SpdyProtocolError);
  });

  it('names each frame by its stream and channel, and forgets closed streams', async () => {
    const t = new SpdyStreamTable(2);
    const frames = new SpdyFrameReader(1 << 20).push(
      Buffer.concat([await w.synStream(5, [['streamtype', ['stdout']]]), dataFrame(5, 0, 'x'), dataFrame(5, SPDY_FLAG_FIN, ''), w.ping(2)]),
    ).frames;
    const syn = frames[0]!;
    assert.equal(spdyMessageType(syn, (t.observe('client', syn, [['streamtype', ['stdout']]]) as { channel: string }).channel), 'spdy.frame.syn_stream;stream=5;channel=stdout');
    assert.equal(spdyMessageType(frames[1]!, (t.observe('server', frames[1]!, undefined) as { channel: string }).channel), 'spdy.frame.data;stream=5;channel=stdout');
    assert.equal(t.size, 1);
    t.observe('server', frames[2]!, undefined);
    assert.equal(t.size, 1, 'half closed');
    t.observe('client', { ...frames[2]!, streamId: 5 }, undefined);
    assert.equal(t.size, 0, 'closed both ways');
    assert.equal(spdyMessageType(frames[3]!, undefined), 'spdy.frame.ping');
    t.observe('client', syn, [['streamtype', ['NOT A TOKEN;x=1']]]);
    assert.equal((t.observe('server', frames[1]!, undefined) as { channel: string | undefined }).channel, undefined, 'odd channel names are not recorded');
    assert.ok(t.observe('client', syn, []) instanceof SpdyProtocolError, 'a stream opened twice');
    t.observe('client', { ...syn, streamId: 7 }, []);
    assert.ok(t.observe('client', { ...syn, streamId: 9 }, []) instanceof SpdyProtocolError, 'more open streams than the limit');
    t.observe('client', { ...syn, control: true, type: 3, typeName: 'rst_stream', streamId: 7 }, undefined);
    assert.equal(t.size, 1, 'RST_STREAM closes');
  });
});

/**
 * Exec output masking in tunnels: a secret on any output channel is masked whatever frames it is
 * cut into (WebSocket binary and base64 channel protocols, SPDY data frames), the output equals
 * one pass of the masker over the whole stream, and client frames are recorded without their XOR key.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Masker } from '../../masking/index.js';
import { maskingCorpus } from '../../masking/corpus.js';
import { encodeWsFrame, WsFrameReader, wsPayload } from '../../protocols/http/index.js';
import { dataFrame } from '../../protocols/spdy/fixtures.js';
import { SPDY_FLAG_FIN, SpdyFrameReader } from '../../protocols/spdy/index.js';
import type { TunnelUnit } from './spdy.js';
import { TunnelMasker } from './tunnel-masking.js';

const masker = new Masker();
const MAX = 1 << 20;
const corpus = maskingCorpus({ perRule: 1 });
const secrets = corpus.map((c) => c.secret);
/** Exec output: lines of words and secrets, as a command would print them. */
const output = fc
  .array(fc.tuple(fc.constantFrom('ok', 'token:', 'user=alice', 'DONE', 'é東'), fc.nat(corpus.length - 1)), { minLength: 1, maxLength: 8 })
  .map((xs) => xs.map(([w, i]) => `${w} ${corpus[i]!.value}\n`).join(''));
const cutsOf = (len: number) => fc.array(fc.nat(len), { maxLength: 6 }).map((cs) => [...new Set(cs)].sort((a, b) => a - b));

function pieces(buf: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, buf.length]) {
    if (c > at) out.push(buf.subarray(at, c));
    at = Math.max(at, c);
  }
  return out;
}

const wsUnit = (raw: Buffer): TunnelUnit => {
  const f = new WsFrameReader(MAX).push(raw).frames[0]!;
  return { bytes: raw, type: 'ws.frame.binary', ws: f };
};
const spdyUnit = (raw: Buffer, channel: string): TunnelUnit => {
  const f = new SpdyFrameReader(MAX).push(raw).frames[0]!;
  return { bytes: raw, type: `spdy.frame.data;stream=${f.streamId};channel=${channel}`, spdy: { frame: f, channel } };
};

/** What the client reads on a channel, from the frames relayed to it. */
function wsChannel(units: TunnelUnit[], channel: number, base64 = false): string {
  const r = new WsFrameReader(MAX);
  const frames = units.flatMap((u) => r.push(u.bytes).frames).filter((f) => f.opcode === 1 || f.opcode === 2);
  return frames
    .map((f) => wsPayload(f))
    .filter((p) => (base64 ? p[0]! - 0x30 : p[0]) === channel)
    .map((p) => (base64 ? Buffer.from(p.subarray(1).toString(), 'base64') : p.subarray(1)).toString())
    .join('');
}

describe('exec output masking in tunnels', () => {
  it('masks a secret split across WebSocket frames on stdout and stderr, as one pass over each stream would', () => {
    fc.assert(
      fc.property(output, fc.integer({ min: 0, max: 1000 }), (text, seed) => {
        const buf = Buffer.from(text);
        const cuts = fc.sample(cutsOf(buf.length), { seed, numRuns: 1 })[0]!;
        const tm = new TunnelMasker(masker, 'binary', MAX);
        const relayed: TunnelUnit[] = [];
        for (const p of pieces(buf, cuts)) {
          for (const ch of [1, 2]) relayed.push(...(tm.server([wsUnit(encodeWsFrame(0x82, Buffer.concat([Buffer.from([ch]), p])))]) as TunnelUnit[]));
        }
        relayed.push(...(tm.server([wsUnit(encodeWsFrame(0x82, Buffer.from('\x03{"status":"Success"}')))]) as TunnelUnit[]));
        const whole = masker.maskBytes(buf).out.toString();
        for (const ch of [1, 2]) {
          const seen = wsChannel(relayed, ch);
          assert.equal(seen, whole);
          for (const s of secrets) assert.ok(!seen.includes(s), `${s} reached the client on channel ${ch}`);
        }
        assert.equal(wsChannel(relayed, 3), '{"status":"Success"}');
        assert.ok(whole === text || relayed.some((u) => (u.masks ?? []).length > 0), 'the recording says what was masked');
        assert.ok(relayed.every((u) => /^ws\.frame\.binary;channel=(stdout|stderr|error)$/.test(u.type)), relayed.map((u) => u.type).join());
      }),
      { numRuns: 150 },
    );
  });

  it('masks a secret split across SPDY data frames; the channel\'s FIN flushes what is held', () => {
    fc.assert(
      fc.property(output, fc.integer({ min: 0, max: 1000 }), (text, seed) => {
        const buf = Buffer.from(text);
        const cuts = fc.sample(cutsOf(buf.length), { seed, numRuns: 1 })[0]!;
        const tm = new TunnelMasker(masker, undefined, MAX);
        const relayed: TunnelUnit[] = [];
        for (const p of pieces(buf, cuts)) relayed.push(...(tm.server([spdyUnit(dataFrame(3, 0, p), 'stdout')]) as TunnelUnit[]));
        relayed.push(...(tm.server([spdyUnit(dataFrame(3, SPDY_FLAG_FIN, ''), 'stdout')]) as TunnelUnit[]));
        const frames = relayed.flatMap((u) => new SpdyFrameReader(MAX).push(u.bytes).frames);
        assert.equal(Buffer.concat(frames.map((f) => f.raw.subarray(8))).toString(), masker.maskBytes(buf).out.toString());
        assert.equal(frames.at(-1)!.flags & SPDY_FLAG_FIN, SPDY_FLAG_FIN, 'the last frame still ends the stream');
        assert.equal(frames.filter((f) => f.flags & SPDY_FLAG_FIN).length, 1);
      }),
      { numRuns: 150 },
    );
  });

  it('flushes held output when asked (the upstream went quiet), and on the final Status', () => {
    const tm = new TunnelMasker(masker, 'binary', MAX);
    assert.deepEqual(tm.server([wsUnit(encodeWsFrame(0x82, Buffer.from('\x01$ ')))]), []);
    assert.ok(tm.holding);
    assert.equal(wsChannel(tm.flush(), 1), '$ ');
    assert.ok(!tm.holding);
    const secret = secrets[0]!;
    tm.server([wsUnit(encodeWsFrame(0x82, Buffer.from(`\x02${secret.slice(0, 5)}`)))]);
    const out = tm.server([wsUnit(encodeWsFrame(0x82, Buffer.from(`\x02${secret.slice(5)}\n`))), wsUnit(encodeWsFrame(0x82, Buffer.from('\x03{}')))]) as TunnelUnit[];
    assert.ok(!wsChannel(out, 2).includes(secret));
    assert.match(wsChannel(out, 2), /\[MASKED:/);
  });

  it('masks the base64 channel protocol and relays fragmented messages whole', () => {
    const tm = new TunnelMasker(masker, 'base64', MAX);
    const secret = secrets[1]!;
    const payload = Buffer.from(`1${Buffer.from(`key ${secret}\n`).toString('base64')}`);
    const out = tm.server([wsUnit(encodeWsFrame(0x01, payload.subarray(0, 7))), wsUnit(encodeWsFrame(0x80, payload.subarray(7))), wsUnit(encodeWsFrame(0x88, Buffer.from([3, 232])))]) as TunnelUnit[];
    const seen = wsChannel(out, 1, true);
    assert.match(seen, /^key \[MASKED:[\w-]+\]\n$/);
    assert.deepEqual(out.at(-1)!.bytes, encodeWsFrame(0x88, Buffer.from([3, 232])), 'the close frame passes as it came');
  });

  it('records client frames without their XOR key, named by channel', () => {
    const tm = new TunnelMasker(masker, 'binary', MAX);
    const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
    const clear = Buffer.from('\x00ls -l\n');
    const masked = Buffer.from(clear.map((b, i) => b ^ key[i & 3]!));
    const raw = Buffer.concat([Buffer.from([0x82, 0x80 | clear.length]), key, masked]);
    const [u] = tm.client([wsUnit(raw)]);
    assert.equal(u!.bytes, raw, 'forwarded as it came');
    assert.deepEqual(u!.recorded, encodeWsFrame(0x82, clear));
    assert.equal(u!.type, 'ws.frame.binary;channel=stdin');
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deepEqual as looseDeepEqual } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { avroDir } from '@chaperone/schemas';
import { decodeEvent, decodeEventBody, decodeRecord, encodeEvent, encodeEventBody, encodeRecord, frameMessageCommands, frameMessages, singleFrame, splitSingleObject } from './codec.js';
import type { Frame } from './types.js';
import { rabinFingerprint as fp } from './fingerprint.js';
import { SessionChain, ZERO_HASH, chainHash, signSeal, verifySeal } from './chain.js';
import { rabinFingerprint } from './fingerprint.js';
import { EventDecodeError } from './errors.js';

describe('events codec', () => {
  it('computes the CRC-64-AVRO fingerprint of the spec examples', () => {
    // Known values: fingerprint of "int" and "string" parsing canonical forms (Avro Java test vectors).
    assert.equal(rabinFingerprint('"int"').readBigInt64LE(), 8247732601305521295n);
    assert.equal(rabinFingerprint('"string"').readBigInt64LE(), -8142146995180207161n);
  });

  it('round-trips every event type through single-object encoding', () => {
    const chain = new SessionChain('s-1', 'gw-1');
    const bodies = [
      { type: 'SessionStarted', identity: { subject: 'agent:x', issuer: 'chaperone', groups: ['agents'], tokenId: 't', claimsJson: '{}' }, connection: 'demo', protocol: 'postgres', clientAddress: '127.0.0.1:5555', tls: true, attributesJson: '{}' },
      { type: 'Frame', direction: 'CLIENT_TO_SERVER', messageType: 'Query', bytes: Buffer.from('Q\0\0\0\rselect 1\0'), redacted: false, masks: [{ detector: 'email', location: 'col:email', count: 2 }], messageTypes: ['Query'], offsets: [0] },
      { type: 'Command', commandId: 1, protocol: 'postgres', action: 'SELECT', targets: ['t'], text: 'select 1', textSha256: 'ab', detailsJson: '{}', params: [null, 'x'] },
      { type: 'Decision', commandId: 1, result: 'DENY', reasons: ['no'], policyRevision: 'r1', evalMicros: 12, outputJson: '{}' },
      { type: 'ApprovalRequested', commandId: 1, approvalId: 'a', bindingSha256: 'b', approverGroups: ['g'], quorum: 1, ttlMs: 1000 },
      { type: 'ApprovalResolved', commandId: 1, approvalId: 'a', outcome: 'APPROVED', approvers: ['u'], reason: '' },
      { type: 'SessionEnded', reason: 'client-terminate', error: '', counters: { framesIn: 1, framesOut: 2, bytesIn: 3, bytesOut: 4, commands: 1, denied: 0 }, finalHash: ZERO_HASH, signature: Buffer.alloc(64), sealedBy: 'gw-1', complete: true },
    ] as const;
    for (const b of bodies) {
      const { event, body, hash } = chain.append({ ...b } as never);
      const msg = encodeEvent(event);
      assert.deepEqual(splitSingleObject(msg).body, body);
      const back = decodeEvent(msg).event;
      // avsc decodes records as instances of generated classes; compare the fields.
      looseDeepEqual(back, event);
      assert.deepEqual(chainHash(event.prevHash, body), hash);
    }
    assert.equal(chain.seq, bodies.length);
  });

  it('rejects bad magic and unknown fingerprints with typed errors', () => {
    assert.throws(() => decodeEvent(Buffer.from('hello world!')), (e: unknown) => e instanceof EventDecodeError && e.code === 'BAD_MAGIC');
    const bad = Buffer.concat([Buffer.from([0xc3, 0x01]), Buffer.alloc(8, 7), Buffer.from([0])]);
    assert.throws(() => decodeEvent(bad), (e: unknown) => e instanceof EventDecodeError && e.code === 'UNKNOWN_SCHEMA');
  });

  it('signs and verifies seals', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const h = chainHash(ZERO_HASH, Buffer.from('x'));
    const sig = signSeal(privateKey, 's', 3, h);
    assert.ok(verifySeal(publicKey, 's', 3, h, sig));
    assert.ok(!verifySeal(publicKey, 's', 4, h, sig));
    assert.ok(!verifySeal(publicKey, 's', 3, ZERO_HASH, sig));
  });

  it('carries a publish as one record: consecutive events of one session, each with the Avro its hash covers', () => {
    const chain = new SessionChain('s-2', 'gw-1');
    const two = Buffer.concat([Buffer.from('T\0\0\0\x06\0\0'), Buffer.from('C\0\0\0\x0bSELECT 1\0')]);
    const events = [
      chain.append({ type: 'Frame', direction: 'SERVER_TO_CLIENT', messageType: 'RowDescription', bytes: two, redacted: false, masks: [], messageTypes: ['RowDescription', 'CommandComplete'], offsets: [0, 7] }),
      chain.append(singleFrame('CLIENT_TO_SERVER', 'http.request.head', Buffer.alloc(300, 'h'))),
      chain.append({ type: 'Decision', commandId: 1, result: 'ALLOW', reasons: [], policyRevision: 'r', evalMicros: 3, outputJson: '{}' }),
    ];
    const record = encodeRecord(events.map((e) => e.body));
    const back = decodeRecord(record);
    assert.equal(back.length, 3);
    back.forEach((b, i) => {
      assert.deepEqual(b.body, events[i]!.body);
      looseDeepEqual(b.event, events[i]!.event);
    });
    const f = back[0]!.event.body;
    assert.ok(f.type === 'Frame');
    assert.deepEqual(frameMessages(f), [{ type: 'RowDescription', start: 0, end: 7 }, { type: 'CommandComplete', start: 7, end: two.length }]);
    assert.deepEqual(decodeRecord(encodeRecord([])), []);
    // A record as written before batches: one event.
    assert.equal(decodeRecord(encodeEvent(events[2]!.event)).length, 1);
    assert.throws(() => decodeRecord(Buffer.concat([record.subarray(0, 20)])), (e: unknown) => e instanceof EventDecodeError && e.code === 'MALFORMED');
  });

  it('reads v2 events (no command attribution) as stored before v3, and v3 frames with their command runs', () => {
    const v2 = avro.Type.forSchema(JSON.parse(readFileSync(join(avroDir, 'history', 'session-event.v2.avsc'), 'utf8')) as avro.Schema, { wrapUnions: 'auto' });
    const fields = { direction: 'SERVER_TO_CLIENT', messageType: 'DataRow', bytes: Buffer.from('D\0\0\0\x06\0\0Z\0\0\0\x05I'), redacted: false, masks: [], messageTypes: ['DataRow', 'ReadyForQuery'], offsets: [0, 7] };
    const old = { sessionId: 's-4', seq: 2, tsMicros: 1, nodeId: 'gw-1', prevHash: ZERO_HASH, body: { 'dev.chaperone.events.v1.Frame': fields } };
    const body = v2.toBuffer(old);
    const single = Buffer.concat([Buffer.from([0xc3, 1]), fp(JSON.stringify(v2.schema())), body]);
    for (const e of [decodeEvent(single).event, decodeRecord(single)[0]!.event, decodeEventBody(body)]) {
      assert.ok(e.body.type === 'Frame');
      assert.equal(e.body.commandIds, undefined);
      assert.deepEqual(frameMessageCommands(e.body), [0, 0]);
    }
    const v3: Frame = { type: 'Frame', ...fields, direction: 'SERVER_TO_CLIENT', commandIds: [3, 4], commandStarts: [0, 1] };
    const back = decodeEventBody(encodeEventBody({ ...old, body: v3 })).body;
    assert.deepEqual(back, v3);
    assert.ok(back.type === 'Frame');
    assert.deepEqual(frameMessageCommands(back), [3, 4]);
    assert.throws(() => v2.fromBuffer(encodeEventBody({ ...old, body: v3 })), 'a v3 frame is never taken for a v2 one');
    assert.deepEqual(singleFrame('SERVER_TO_CLIENT', 'http.response.head', Buffer.from('x'), { commandId: 7 }).commandIds, [7]);
  });

  it('reads v1 events (one message per Frame) as stored before v2, by fingerprint and from bare Avro', () => {
    const v1 = avro.Type.forSchema(JSON.parse(readFileSync(join(avroDir, 'history', 'session-event.v1.avsc'), 'utf8')) as avro.Schema, { wrapUnions: 'auto' });
    const old = { sessionId: 's-3', seq: 4, tsMicros: 1, nodeId: 'gw-1', prevHash: ZERO_HASH, body: { 'dev.chaperone.events.v1.Frame': { direction: 'SERVER_TO_CLIENT', messageType: 'DataRow', bytes: Buffer.from('D\0\0\0\x06\0\0'), redacted: false, masks: [] } } };
    const body = v1.toBuffer(old);
    const single = Buffer.concat([Buffer.from([0xc3, 1]), fp(JSON.stringify(v1.schema())), body]);
    for (const e of [decodeEvent(single).event, decodeRecord(single)[0]!.event, decodeEventBody(body)]) {
      assert.ok(e.body.type === 'Frame');
      assert.deepEqual(e.body.messageTypes, []);
      assert.deepEqual(frameMessages(e.body), [{ type: 'DataRow', start: 0, end: 7 }]);
    }
    // The converse: a v2 Frame is never taken for a v1 one (bytes would be left over).
    const v2 = encodeEventBody({ ...old, body: singleFrame('SERVER_TO_CLIENT', 'DataRow', Buffer.from('D')) });
    assert.deepEqual(decodeEventBody(v2).body, { ...singleFrame('SERVER_TO_CLIENT', 'DataRow', Buffer.from('D')) });
    assert.throws(() => v1.fromBuffer(v2));
  });
});

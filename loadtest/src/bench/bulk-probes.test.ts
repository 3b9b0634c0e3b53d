import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { LiveTranscript, type ReplayEvent } from '@chaperone/api/client';
import { SessionChain, messagesFrame, singleFrame, type ChainedEvent, type EventBody } from '@chaperone/events';
import { pgCommandComplete, pgDataRow, pgQuery, pgReadyForQuery, pgRowDescription } from '@chaperone/store/testing';
import { FirstRowWatch, RssSampler, gatewayMetrics, growthOf, residentBytes } from './bulk-probes.js';
import { statementEvents } from './statement-events.js';

describe('gateway resident memory', () => {
  it("reads process_resident_memory_bytes, with our services' chaperone_ prefix or without", () => {
    const text = ['# HELP chaperone_process_resident_memory_bytes Resident memory size in bytes.', '# TYPE chaperone_process_resident_memory_bytes gauge', 'chaperone_process_resident_memory_bytes 123891712'].join('\n');
    assert.equal(residentBytes(text), 123_891_712);
    assert.equal(residentBytes('process_resident_memory_bytes{node="gw-1"} 1.5e+08\n'), 150_000_000);
    assert.equal(residentBytes('chaperone_process_virtual_memory_bytes 1\nchaperone_process_heap_bytes 2\n'), undefined);
  });

  it('grows by the highest sample over the one before, never below zero; nothing without a before', () => {
    assert.deepEqual(growthOf('gateway-1', 100, [90, 180, 120]), { node: 'gateway-1', beforeBytes: 100, maxBytes: 180, growthBytes: 80, samples: 3 });
    assert.equal(growthOf('gateway-1', 100, [90])?.growthBytes, 0);
    assert.equal(growthOf('gateway-1', undefined, [90]), undefined);
  });

  it("names the nodes' /metrics from stack.json's GATEWAY_HTTP_ADDRESSES", () => {
    assert.deepEqual(gatewayMetrics('127.0.0.1:19101, 127.0.0.1:19102'), [
      { node: 'gateway-1', url: 'http://127.0.0.1:19101/metrics' },
      { node: 'gateway-2', url: 'http://127.0.0.1:19102/metrics' },
    ]);
    assert.deepEqual(gatewayMetrics(undefined), []);
  });

  it('samples real /metrics endpoints during a run and leaves out a node that never answers', async () => {
    const rss = [100, 150, 400, 120];
    let served = 0;
    const server = createServer((_req, res) => res.end(`chaperone_process_resident_memory_bytes ${rss[Math.min(served++, rss.length - 1)]}\n`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const sampler = new RssSampler([{ node: 'gateway-1', url: `http://127.0.0.1:${port}/metrics` }, { node: 'gateway-2', url: 'http://127.0.0.1:9/metrics' }], 20);
      await sampler.start();
      while (served < rss.length) await new Promise((r) => setTimeout(r, 10));
      const [one, ...others] = await sampler.stop();
      assert.deepEqual(others, []);
      assert.equal(one!.node, 'gateway-1');
      assert.equal(one!.beforeBytes, 100);
      assert.equal(one!.maxBytes, 400);
      assert.equal(one!.growthBytes, 300);
    } finally {
      server.close();
    }
  });
});

/** What the API streams for a chained event. */
function replayEvent(e: ChainedEvent): ReplayEvent {
  const body: EventBody = e.event.body;
  const frame = body.type === 'Frame' ? body : undefined;
  return {
    sessionId: e.event.sessionId, seq: e.event.seq, tsMicros: e.event.tsMicros, nodeId: e.event.nodeId, type: body.type,
    direction: frame?.direction ?? '', messageType: frame?.messageType ?? '', commandId: 'commandId' in body ? body.commandId : 0,
    payload: frame?.bytes ?? Buffer.alloc(0), redacted: false, avro: e.body, hash: e.hash.toString('hex'), prevHash: e.event.prevHash.toString('hex'),
  };
}

/** The replay transcript of a session whose statement returns `rows`: one frame per message (v1), or the result in one v2 frame. */
function transcript(rows: string[][], v2 = false): string {
  const chain = new SessionChain('s-1', 'gw-1');
  const events: ChainedEvent[] = [
    chain.append({
      type: 'SessionStarted', connection: 'sandbox', protocol: 'postgres', clientAddress: '127.0.0.1:1', tls: true,
      identity: { subject: 'agent:x', issuer: 'chaperone', groups: [], tokenId: 't', claimsJson: '{}' }, attributesJson: '{}',
    }),
    ...statementEvents(chain, 'SELECT 1 -- no rows\n-------', 1),
    chain.append(singleFrame('SERVER_TO_CLIENT', 'CommandComplete', pgCommandComplete('SELECT 0'))),
    chain.append(singleFrame('CLIENT_TO_SERVER', 'Query', pgQuery("SELECT repeat('x',1000)"))),
    ...statementEvents(chain, "SELECT repeat('x',1000) FROM generate_series(1,3)", 2).slice(1),
  ];
  const result: [string, Buffer][] = [
    ['RowDescription', pgRowDescription(['repeat'])],
    ...rows.map((r): [string, Buffer] => ['DataRow', pgDataRow(r)]),
    ['CommandComplete', pgCommandComplete(`SELECT ${rows.length}`)],
    ['ReadyForQuery', pgReadyForQuery()],
  ];
  if (v2) events.push(chain.append(messagesFrame('SERVER_TO_CLIENT', result)));
  else for (const [type, bytes] of result) events.push(chain.append(singleFrame('SERVER_TO_CLIENT', type, bytes)));
  const live = new LiveTranscript();
  return events.map((e) => live.push(replayEvent(e))).join('') + live.end();
}

describe('FirstRowWatch', () => {
  for (const v2 of [false, true]) {
    it(`finds the first result row in what \`chaperone replay\` prints (${v2 ? 'v2' : 'v1'} frames), in chunks split anywhere, and not before it`, () => {
      const text = transcript([['x'.repeat(1000)], ['y']], v2);
      const row = text.split('\n').findIndex((l) => /^\s+x{10}/.test(l));
      assert.ok(row > 0, text);
      const complete = text.split('\n').slice(0, row + 1).join('\n').length + 1;
      for (let cut = 0; cut <= text.length; cut += 7) {
        const w = new FirstRowWatch();
        const first = w.push(text.slice(0, cut));
        assert.equal(first, cut >= complete, `cut at ${cut}`);
        assert.equal(w.push(text.slice(cut)), true);
      }
    });
  }

  it('sees no row in a result without rows, nor in a dashed SQL comment line', () => {
    const w = new FirstRowWatch();
    assert.equal(w.push(transcript([])), false);
    assert.equal(w.found, false);
  });
});

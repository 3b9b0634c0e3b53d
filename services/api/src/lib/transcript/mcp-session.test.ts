import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EventBody } from '@chaperone/events';
import { recordScript, type ScriptStep } from '../testing.js';
import { LiveTranscript } from './live.js';
import { interleaveMcpReplays, mcpSessionsQuery, mergeMcpTranscripts, type TimedText } from './mcp-session.js';
import { buildTranscript } from './transcript.js';

const T0 = Date.UTC(2026, 0, 15, 12) * 1000;
const ms = (n: number) => T0 + n * 1_000_000;
const started: EventBody = {
  type: 'SessionStarted', connection: 'mcp-everything', protocol: 'mcp', clientAddress: '127.0.0.1:50000', tls: true, attributesJson: '{}',
  identity: { subject: 'agent:mcp', issuer: 'chaperone', groups: ['agents'], tokenId: '', claimsJson: '{}' },
};
const head = (s: string) => Buffer.from(`${s}\r\nContent-Type: application/json\r\n\r\n`);
/** One echo call of MCP session `sess-1` at second `at`, answered a quarter second later. */
function echo(commandId: number, at: number, message: string): ScriptStep[] {
  const details = { server: 'mcp-everything', direction: 'client', method: 'tools/call', id: commandId, tool: 'echo', arguments: { message }, argsSha256: 'a'.repeat(64), mcpSessionId: 'sess-1' };
  return [
    { at: ms(at), client: [{ type: 'http.request.head', bytes: head('POST /mcp-everything/ HTTP/1.1'), events: [
      { type: 'Command', commandId, protocol: 'mcp', action: 'tools/call', targets: [], text: `tools/call echo sha256:${'a'.repeat(64)}`, textSha256: '', detailsJson: JSON.stringify(details), params: [] },
      { type: 'Decision', commandId, result: 'ALLOW', reasons: [], policyRevision: 'rev-1', evalMicros: 5, outputJson: '{}' },
    ] }] },
    { at: ms(at) + 250_000, server: [{ type: 'http.response.head', bytes: head('HTTP/1.1 200 OK') }, { type: 'http.response.body', bytes: Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: commandId, result: { content: [{ type: 'text', text: `Echo: ${message}` }] } })) }] },
  ];
}

// The same MCP session through two gateway nodes: calls at 1 s and 3 s on node 1, 2 s on node 2.
const one = recordScript([{ at: ms(0), event: started }, ...echo(1, 1, 'first'), ...echo(2, 3, 'third')], 'v2', 'gs-one');
const two = recordScript([{ at: ms(1.5), event: started }, ...echo(1, 2, 'second')], 'v2', 'gs-two').map((e) => ({ ...e, nodeId: 'gw-test-2' }));

describe('one MCP session across gateway nodes', () => {
  it('interleaves the gateway sessions in time order, naming the node that served each part', () => {
    const parts = [one, two].map((events) => {
      const live = new LiveTranscript();
      const texts: TimedText[] = events.map((e) => ({ tsMicros: e.tsMicros, sessionId: e.sessionId, nodeId: e.nodeId, text: live.push(e) })).filter((t) => t.text);
      return [...texts, { ...texts.at(-1)!, text: live.end() }];
    });
    const text = interleaveMcpReplays('sess-1', parts);
    assert.match(text, /^MCP session sess-1: 2 gateway sessions on gw-test-1, gw-test-2, in time order\n/);
    const order = [...text.matchAll(/result (\d): Echo: (\w+)|── served by node (\S+), gateway session (\S+) ──/g)].map((m) => m[2] ?? `${m[3]} ${m[4]}`);
    assert.deepEqual(order, ['gw-test-1 gs-one', 'first', 'gw-test-2 gs-two', 'second', 'gw-test-1 gs-one', 'third']);
  });

  it('merges the transcripts for JSON: commands in time order with their session and node', () => {
    const m = mergeMcpTranscripts('sess-1', [buildTranscript(two), buildTranscript(one)]);
    assert.deepEqual(m.sessions.map((t) => t.sessionId), ['gs-one', 'gs-two']);
    assert.deepEqual(m.commands.map((c) => [c.nodeId, c.sessionId, c.commandId]), [['gw-test-1', 'gs-one', 1], ['gw-test-2', 'gs-two', 1], ['gw-test-1', 'gs-one', 2]]);
  });

  it('finds the gateway sessions by Mcp-Session-Id with the id quoted, and refuses what no header can hold', () => {
    assert.match(mcpSessionsQuery('4f0c-1'), /visitParamExtractString\(details, 'mcpSessionId'\) = '4f0c-1'\) ORDER BY started_micros/);
    assert.match(mcpSessionsQuery("a'b\\c"), /= 'a\\'b\\\\c'\)/);
    assert.throws(() => mcpSessionsQuery('has space'), /not an Mcp-Session-Id/);
    assert.throws(() => mcpSessionsQuery(''), /not an Mcp-Session-Id/);
  });
});

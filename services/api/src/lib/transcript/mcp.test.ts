import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EventBody } from '@chaperone/events';
import { recordScript, type ScriptStep } from '../testing.js';
import { LiveTranscript } from './live.js';

const T0 = Date.UTC(2026, 0, 15, 12) * 1000;
const ms = (n: number) => T0 + n * 1000;
const started: EventBody = {
  type: 'SessionStarted', connection: 'mcp', protocol: 'mcp', clientAddress: '127.0.0.1:50000', tls: true, attributesJson: '{}',
  identity: { subject: 'agent:mcp', issuer: 'chaperone', groups: ['agents'], tokenId: '', claimsJson: '{}' },
};
const command = (commandId: number, action: string, text: string, details: unknown): EventBody => ({
  type: 'Command', commandId, protocol: 'mcp', action, targets: [], text, textSha256: '', detailsJson: JSON.stringify(details), params: [],
});
const decision = (commandId: number, result: 'ALLOW' | 'DENY' | 'APPROVAL', reasons: string[] = []): EventBody => ({ type: 'Decision', commandId, result, reasons, policyRevision: 'rev-1', evalMicros: 5, outputJson: '{}' });
const head = (s: string, type: string) => Buffer.from(`${s}\r\nContent-Type: ${type}\r\n\r\n`);
const sse = (...msgs: unknown[]) => Buffer.from(msgs.map((m) => `event: message\ndata: ${JSON.stringify(m)}\n\n`).join(''));

function replay(steps: ScriptStep[]): string {
  const live = new LiveTranscript();
  return recordScript(steps, 'v2').map((e) => live.push(e)).join('') + live.end();
}

describe('replay of MCP sessions', () => {
  it('shows calls with tool and arguments, decisions, approvals, results as recorded, and the server requests the gateway refused', () => {
    const call = { server: 'mcp', direction: 'client', method: 'tools/call', id: 7, tool: 'delete_record', arguments: { id: 'r-1' }, argsSha256: 'a'.repeat(64), mcpSessionId: 'sess-1' };
    const text = replay([
      { at: ms(0), event: started },
      { at: ms(1), client: [{ type: 'http.request.head', bytes: head('POST /mcp/ HTTP/1.1', 'application/json'), events: [
        command(1, 'tools/call', `tools/call delete_record sha256:${'a'.repeat(64)}`, call),
        decision(1, 'APPROVAL', ['destructive (policy: mcp-destructive-tool)']),
        { type: 'ApprovalRequested', commandId: 1, approvalId: 'ap-1', bindingSha256: '', approverGroups: ['dba'], quorum: 1, ttlMs: 0 },
        { type: 'ApprovalResolved', commandId: 1, approvalId: 'ap-1', outcome: 'APPROVED', approvers: ['user:alice (cli)'], reason: '' },
      ] }] },
      { at: ms(2), server: [{ type: 'http.response.head', bytes: head('HTTP/1.1 200 OK', 'text/event-stream') }, { type: 'http.response.body', bytes: sse(
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progress: 1 } },
        { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'deleted r-1, token [MASKED:github-pat]' }] } },
      ) }] },
      { at: ms(3), server: [{ type: 'http.response.head', bytes: head('HTTP/1.1 200 OK', 'text/event-stream') }], client: [{ type: 'http.request.head', bytes: head('GET /mcp/ HTTP/1.1', 'text/event-stream'), events: [
        command(2, 'sampling/createMessage', 'server sampling/createMessage sha256:b', { server: 'mcp', direction: 'server', method: 'sampling/createMessage', id: 's1', tool: null, arguments: { maxTokens: 5 }, mcpSessionId: 'sess-1' }),
        decision(2, 'DENY', ['no sampling on prod (policy: mcp-server-request)']),
      ] }] },
      { at: ms(4), client: [{ type: 'mcp.gateway.answer', bytes: Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 's1', error: { code: -32001, message: 'chaperone: denied by policy: no sampling on prod' } })) }] },
    ]);
    assert.match(text, /#1 tools\/call\n {2}tools\/call delete_record sha256:a{64}\n {2}to mcp {2}tool delete_record {2}id 7 {2}Mcp-Session-Id sess-1\n {2}arguments \{"id":"r-1"\}\n {2}→ APPROVAL: destructive/);
    assert.match(text, /approval ap-1: APPROVED by user:alice \(cli\)/);
    assert.match(text, /response body \(JSON-RPC\):\n {4}notification notifications\/progress \{"progress":1\}\n {4}result 7: deleted r-1, token \[MASKED:github-pat\]/);
    assert.match(text, /#2 sampling\/createMessage\n.*\n {2}from the server mcp {2}method sampling\/createMessage {2}id s1 {2}Mcp-Session-Id sess-1\n {2}arguments \{"maxTokens":5\}\n {2}→ DENY: no sampling on prod/);
    assert.match(text, /⇢ the gateway answered the server in the agent's place: error s1: -32001 chaperone: denied by policy: no sampling on prod/);
  });
});

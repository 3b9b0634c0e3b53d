import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EventBody } from '@chaperone/events';
import { recordScript, type ScriptStep } from '../testing.js';
import { LiveTranscript } from './live.js';

const T0 = Date.UTC(2026, 0, 15, 12) * 1000;
const ms = (n: number) => T0 + n * 1000;
const started: EventBody = {
  type: 'SessionStarted', connection: 'demo-http', protocol: 'http', clientAddress: '127.0.0.1:50000', tls: true, attributesJson: '{}',
  identity: { subject: 'agent:http', issuer: 'chaperone', groups: ['agents'], tokenId: '', claimsJson: '{}' },
};
const command = (commandId: number, protocol: string, action: string, text: string, details: unknown): EventBody => ({
  type: 'Command', commandId, protocol, action, targets: [], text, textSha256: '', detailsJson: JSON.stringify(details), params: [],
});
const decision = (commandId: number, result: 'ALLOW' | 'APPROVAL'): EventBody => ({ type: 'Decision', commandId, result, reasons: [], policyRevision: 'rev-1', evalMicros: 5, outputJson: '{}' });
const head = (s: string) => Buffer.from(`${s}\r\nContent-Type: application/json\r\n\r\n`);
/** A WebSocket frame as recorded: the client's without its key. */
const ws = (payload: Buffer, opcode = 2) => Buffer.concat([Buffer.from([0x80 | opcode, payload.length]), payload]);
const spdyData = (stream: number, data: string) => {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(stream, 0);
  h.writeUInt32BE(Buffer.byteLength(data), 4);
  return Buffer.concat([h, Buffer.from(data)]);
};

function replay(steps: ScriptStep[]): string {
  const live = new LiveTranscript();
  return recordScript(steps, 'v2').map((e) => live.push(e)).join('') + live.end();
}

describe('replay of HTTP, git and exec sessions', () => {
  it('shows git ref updates, the decision, statuses and bodies (text in full, binary as size + sha256)', () => {
    const text = replay([
      { at: ms(0), event: started },
      {
        at: ms(1),
        client: [
          { type: 'http.request.head', bytes: head('POST /git/demo.git/git-receive-pack HTTP/1.1'), events: [
            command(1, 'git', 'git.push', 'POST /git/demo.git/git-receive-pack\naaa bbb refs/heads/main', { updates: [{ ref: 'refs/heads/main', old: 'a'.repeat(40), new: 'b'.repeat(40), type: 'update', force: true, delete: false }] }),
            decision(1, 'ALLOW'),
          ] },
          { type: 'http.request.body.end', bytes: Buffer.from(JSON.stringify({ store: 'digest', bytes: 5120, storedBytes: 0, sha256: 'f'.repeat(64) })) },
        ],
      },
      { at: ms(2), server: [{ type: 'http.response.head', bytes: head('HTTP/1.1 200 OK') }, { type: 'http.response.body', bytes: Buffer.from('{"ok":') }] },
      { at: ms(3), server: [{ type: 'http.response.body', bytes: Buffer.from('true}') }] },
      { at: ms(4), server: [{ type: 'http.response.body', bytes: Buffer.from([0, 1, 2, 255]) }] },
    ]);
    assert.match(text, /#1 git\.push\n {2}POST \/git\/demo\.git\/git-receive-pack\n {2}aaa bbb refs\/heads\/main\n {2}ref refs\/heads\/main {2}aaaaaaaaaaaa\.\.bbbbbbbbbbbb {2}FORCE PUSH\n {2}→ ALLOW/);
    assert.match(text, /request body: 5120 bytes, sha256 f{64} \(not stored\)/);
    assert.match(text, /← 200 OK\n {2}response body: \(15 bytes binary, sha256 [0-9a-f]{64}\)/);
  });

  it('reads a push report (git pkt-lines, side-band) as its lines', () => {
    const pkt = (data: Buffer | string) => Buffer.concat([Buffer.from((Buffer.byteLength(data) + 4).toString(16).padStart(4, '0')), Buffer.from(data)]);
    const report = Buffer.concat([pkt('unpack ok\n'), pkt('ng refs/heads/main denied by policy\n'), Buffer.from('0000')]);
    const body = Buffer.concat([pkt(Buffer.concat([Buffer.from([1]), report])), pkt('\x02Resolving deltas\n'), Buffer.from('0000')]);
    const text = replay([
      { at: ms(0), event: started },
      { at: ms(1), client: [{ type: 'http.request.head', bytes: head('POST /git/demo.git/git-receive-pack HTTP/1.1'), events: [command(1, 'git', 'git.push', 'POST /git/demo.git/git-receive-pack', { updates: [] }), decision(1, 'ALLOW')] }] },
      { at: ms(2), server: [{ type: 'http.response.head', bytes: head('HTTP/1.1 200 OK') }, { type: 'http.response.body', bytes: body }] },
    ]);
    assert.match(text, /response body \(git pkt-lines\):\n {4}unpack ok\n {4}ng refs\/heads\/main denied by policy\n {4}remote: Resolving deltas\n/);
  });

  it('shows a JSON body in full, and the outcome of a held request that nobody answered', () => {
    const text = replay([
      { at: ms(0), event: started },
      { at: ms(1), client: [{ type: 'http.request.head', bytes: head('DELETE /api/items/1 HTTP/1.1'), events: [
        command(1, 'http', 'http.delete', 'DELETE /api/items/1', {}), decision(1, 'APPROVAL'),
        { type: 'ApprovalRequested', commandId: 1, approvalId: 'ap-1', bindingSha256: '', approverGroups: ['approvers'], quorum: 1, ttlMs: 0 },
      ] }] },
      { at: ms(26), server: [{ type: 'http.response.head', bytes: head('HTTP/1.1 403 Forbidden') }, { type: 'http.response.body', bytes: Buffer.from('{"error":"held for approval ap-1"}\n') }] },
    ]);
    assert.match(text, /approval ap-1: not answered while the request was held \(timed out\)[^\n]*\n {2}← 403 Forbidden\n {2}response body:\n {4}\{"error":"held for approval ap-1"\}/);
  });

  it('shows an exec session by channel: typed input, stdout and stderr, over WebSocket and SPDY', () => {
    const text = replay([
      { at: ms(0), event: started },
      { at: ms(1), client: [{ type: 'http.request.head', bytes: head('GET /k8s/api/v1/namespaces/demo/pods/p/exec?command=sh HTTP/1.1'), events: [
        command(1, 'k8s', 'k8s.exec', 'GET /k8s/api/v1/namespaces/demo/pods/p/exec?command=sh', { verb: 'get', group: '', version: 'v1', resource: 'pods', subresource: 'exec', namespace: 'demo', name: 'p', command: ['sh'] }),
        decision(1, 'ALLOW'),
      ] }] },
      { at: ms(2), server: [{ type: 'http.response.head', bytes: Buffer.from('HTTP/1.1 101 Switching Protocols\r\n\r\n') }] },
      { at: ms(3), client: [{ type: 'ws.frame.binary;channel=stdin', bytes: ws(Buffer.from('\x00echo hi\n')) }] },
      { at: ms(4), server: [{ type: 'ws.frame.binary;channel=stdout', bytes: ws(Buffer.from('\x01hi\n')) }] },
      { at: ms(5), server: [{ type: 'ws.frame.binary;channel=stderr', bytes: ws(Buffer.from('\x02oops\n')) }] },
      { at: ms(6), server: [{ type: 'spdy.frame.data;stream=3;channel=stdout', bytes: spdyData(3, 'from spdy\n') }] },
    ]);
    assert.match(text, /verb get {2}resource v1\/pods\/exec {2}namespace demo {2}name p\n {2}command \["sh"\]/);
    assert.match(text, /← 101 Switching Protocols\n {2}stdin {2}│ echo hi\n {2}stdout │ hi\n {2}stderr │ oops\n {2}stdout │ from spdy/);
  });
});

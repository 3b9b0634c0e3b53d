import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { EventBody } from '@chaperone/events';
import { recordScript, type ScriptStep } from './testing.js';
import { ExchangeBuilder } from './web-exchanges.js';

const T0 = Date.UTC(2026, 0, 15, 12) * 1000;
const ms = (n: number) => T0 + n * 1000;
const started: EventBody = {
  type: 'SessionStarted', connection: 'c', protocol: 'http', clientAddress: '127.0.0.1:50000', tls: true, attributesJson: '{}',
  identity: { subject: 'agent:x', issuer: 'chaperone', groups: ['agents'], tokenId: '', claimsJson: '{}' },
};
const command = (commandId: number, protocol: string, action: string, text: string, details: unknown): EventBody => ({
  type: 'Command', commandId, protocol, action, targets: [], text, textSha256: '', detailsJson: JSON.stringify(details), params: [],
});
const decision = (commandId: number, result: 'ALLOW' | 'APPROVAL' | 'DENY', reasons: string[] = []): EventBody => ({
  type: 'Decision', commandId, result, reasons, policyRevision: 'rev-1', evalMicros: 5, outputJson: '{}',
});
const head = (s: string) => Buffer.from(`${s}\r\nContent-Type: application/json\r\n\r\n`);
const ws = (payload: Buffer, opcode = 2) => Buffer.concat([Buffer.from([0x80 | opcode, payload.length]), payload]);

function exchanges(steps: ScriptStep[]) {
  const b = new ExchangeBuilder();
  for (const e of recordScript(steps, 'v2')) b.push(e);
  return b.result();
}

describe('exchanges for the console', () => {
  it('a git push: ref updates (force push), decision, status and the JSON and binary bodies', () => {
    const bin = Buffer.from([0, 1, 2, 255]);
    const { exchanges: [x], sessionId } = exchanges([
      { at: ms(0), event: started },
      { at: ms(1), client: [{ type: 'http.request.head', bytes: head('POST /git/demo.git/git-receive-pack HTTP/1.1'), events: [
        command(1, 'git', 'git.push', 'POST /git/demo.git/git-receive-pack', { updates: [{ ref: 'refs/heads/main', old: 'a'.repeat(40), new: 'b'.repeat(40), type: 'update', force: true }] }),
        decision(1, 'ALLOW'),
      ] }, { type: 'http.request.body', bytes: bin }] },
      { at: ms(2), server: [{ type: 'http.response.head', bytes: head('HTTP/1.1 200 OK') }, { type: 'http.response.body', bytes: Buffer.from('{"ok":') }] },
      { at: ms(3), server: [{ type: 'http.response.body', bytes: Buffer.from('true}') }] },
    ]);
    assert.equal(sessionId, 'script-v2');
    assert.ok(x);
    assert.equal(x.action, 'git.push');
    assert.deepEqual(x.fields, ['ref refs/heads/main  aaaaaaaaaaaa..bbbbbbbbbbbb  FORCE PUSH']);
    assert.equal(x.decision?.result, 'ALLOW');
    assert.deepEqual(x.status, { code: 200, line: '200 OK', tsMicros: ms(2) });
    assert.deepEqual(x.request, { kind: 'binary', bytes: 4, shownBytes: 0, sha256: createHash('sha256').update(bin).digest('hex') });
    assert.equal(x.response?.kind, 'json');
    assert.equal(x.response?.text, '{\n  "ok": true\n}');
  });

  it('a held request: its approval outcome, and a registry tag overwrite and Kubernetes fields', () => {
    const { exchanges: xs } = exchanges([
      { at: ms(0), event: started },
      { at: ms(1), client: [{ type: 'http.request.head', bytes: head('PUT /v2/app/manifests/v1 HTTP/1.1'), events: [
        command(1, 'oci', 'oci.manifest.push', 'PUT /v2/app/manifests/v1', { op: 'manifest.push', repository: 'app', tag: 'v1', digest: 'sha256:new', overwrite: true, previousDigest: 'sha256:old' }),
        decision(1, 'APPROVAL', ['tag overwrite']),
        { type: 'ApprovalRequested', commandId: 1, approvalId: 'ap-1', bindingSha256: '', approverGroups: ['approvers'], quorum: 1, ttlMs: 0 },
        { type: 'ApprovalResolved', commandId: 1, approvalId: 'ap-1', outcome: 'DENIED', approvers: ['user:alice'], reason: 'no' },
      ] }] },
      { at: ms(2), server: [{ type: 'http.response.head', bytes: head('HTTP/1.1 403 Forbidden') }] },
      { at: ms(3), client: [{ type: 'http.request.head', bytes: head('DELETE /k8s/api/v1/namespaces/demo/pods/p HTTP/1.1'), events: [
        command(2, 'k8s', 'k8s.delete', 'DELETE /k8s/api/v1/namespaces/demo/pods/p', { verb: 'delete', group: '', version: 'v1', resource: 'pods', namespace: 'demo', name: 'p' }),
      ] }] },
    ]);
    assert.equal(xs.length, 2);
    assert.deepEqual(xs[0]!.approval, { approvalId: 'ap-1', outcome: 'DENIED', approvers: ['user:alice'], reason: 'no' });
    assert.match(xs[0]!.fields[0]!, /tag v1 {2}digest sha256:new {2}OVERWRITES tag \(was sha256:old\)/);
    assert.equal(xs[0]!.status?.code, 403);
    assert.deepEqual(xs[1]!.fields, ['verb delete  resource v1/pods  namespace demo  name p']);
    assert.equal(xs[1]!.status, undefined);
  });

  it('an exec tunnel: every chunk with its channel and time, bytes as they were', () => {
    const { exchanges: [x] } = exchanges([
      { at: ms(0), event: started },
      { at: ms(1), client: [{ type: 'http.request.head', bytes: head('GET /k8s/api/v1/namespaces/demo/pods/p/exec?command=sh HTTP/1.1'), events: [
        command(1, 'k8s', 'k8s.exec', 'GET /k8s/api/v1/namespaces/demo/pods/p/exec?command=sh', { verb: 'get', resource: 'pods', subresource: 'exec', command: ['sh'] }),
      ] }] },
      { at: ms(2), server: [{ type: 'http.response.head', bytes: Buffer.from('HTTP/1.1 101 Switching Protocols\r\n\r\n') }] },
      { at: ms(3), client: [{ type: 'ws.frame.binary;channel=stdin', bytes: ws(Buffer.from('\x00echo hi\n')) }] },
      { at: ms(4), server: [{ type: 'ws.frame.binary;channel=stdout', bytes: ws(Buffer.from('\x01hi\x1b[31m!\n')) }] },
      { at: ms(5), server: [{ type: 'ws.frame.binary;channel=stderr', bytes: ws(Buffer.from('\x02oops\n')) }] },
    ]);
    assert.equal(x?.status?.code, 101);
    assert.deepEqual(
      x?.tunnel.map((c) => [c.tsMicros, c.channel, Buffer.from(c.data, 'base64').toString()]),
      [[ms(3), 'stdin', 'echo hi\n'], [ms(4), 'stdout', 'hi\x1b[31m!\n'], [ms(5), 'stderr', 'oops\n']],
    );
  });
});

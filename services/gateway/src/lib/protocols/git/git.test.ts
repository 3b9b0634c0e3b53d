import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FetchResponseReader, ancestryRequest, describeUpdates, walkPack } from './ancestry.js';
import { GitFixture, ZERO } from './fixtures.js';
import { PackCommitScanner, applyDelta } from './pack.js';
import { FLUSH_PKT, PktLineReader, pktLine, pktText, type PktLine } from './pktline.js';
import { ReceivePackParser } from './receive-pack.js';
import { encodeRejection } from './report.js';
import { parseGitPath } from './url.js';

function readAll(chunks: Buffer[]): PktLine[] {
  const r = new PktLineReader();
  const out: PktLine[] = [];
  for (const c of chunks) {
    const { lines, error } = r.push(c);
    assert.equal(error, undefined);
    out.push(...lines);
  }
  return out;
}

const norm = (lines: PktLine[]): string[] => lines.map((l) => (l.kind === 'data' ? `d:${l.payload.toString('hex')}` : l.kind));

describe('pkt-lines', () => {
  const fixture = Buffer.concat([pktLine('hello\n'), FLUSH_PKT, Buffer.from('0001'), pktLine(Buffer.alloc(300, 1)), Buffer.from('0002'), pktLine('')]);

  it('splits at every byte offset to the same lines', () => {
    const whole = norm(readAll([fixture]));
    assert.deepEqual(whole, ['d:68656c6c6f0a', 'flush', 'delim', `d:${'01'.repeat(300)}`, 'response-end', 'd:']);
    for (let i = 1; i < fixture.length; i++) assert.deepEqual(norm(readAll([fixture.subarray(0, i), fixture.subarray(i)])), whole, `split at ${i}`);
    assert.deepEqual(norm(readAll([...fixture].map((b) => Buffer.from([b])))), whole, 'byte by byte');
  });

  it('refuses non-hex lengths, the reserved 0003 and lines over 65520 bytes', () => {
    assert.equal(new PktLineReader().push(Buffer.from('zz01')).error?.code, 'BAD_PKT_LINE');
    assert.equal(new PktLineReader().push(Buffer.from('0003')).error?.code, 'BAD_PKT_LINE');
    assert.equal(new PktLineReader().push(Buffer.from('fff1')).error?.code, 'TOO_LARGE');
  });

  it('stops at the first flush when asked and hands back the rest', () => {
    const r = new PktLineReader({ stopAfterFlush: true });
    const { lines } = r.push(Buffer.concat([pktLine('a'), FLUSH_PKT, Buffer.from('PACKrest')]));
    assert.equal(lines.length, 2);
    assert.equal(r.remainder().toString(), 'PACKrest');
  });
});

describe('receive-pack requests from real git', () => {
  const g = new GitFixture();
  let c1: string, c2: string, c3: string, amended: string;
  before(() => {
    c1 = g.commit();
    c2 = g.commit();
    c3 = g.commit();
    g.git('reset', '-q', '--hard', c2);
    amended = g.commit('rewritten', 'other\n');
  });
  after(() => g.remove());

  function parse(body: Buffer, split?: number): ReturnType<ReceivePackParser['end']> {
    const p = new ReceivePackParser();
    if (split === undefined) p.push(body);
    else {
      p.push(body.subarray(0, split));
      p.push(body.subarray(split));
    }
    return p.end();
  }

  it('finds the ref updates and the pushed commits; a fast-forward is proven by the pack', () => {
    const body = g.pushBody([[c1, c3, 'refs/heads/main']], g.pack(c3, [c1]));
    const req = parse(body);
    assert.equal(req.error, undefined);
    assert.deepEqual(req.updates, [{ oldId: c1, newId: c3, ref: 'refs/heads/main' }]);
    assert.ok(req.capabilities.includes('side-band-64k'));
    assert.ok(req.pack!.commits.has(c3) && req.pack!.commits.has(c2));
    assert.equal(req.pack!.complete, true);
    assert.deepEqual(walkPack(req.updates[0]!, req.pack), { fastForward: true, boundary: [] });
    const { details } = describeUpdates(req);
    assert.equal(details[0]!.force, false);
    assert.equal(details[0]!.name, 'main');
    assert.equal(details[0]!.refKind, 'branch');
  });

  it('leaves a rewrite open with the commits where the walk left the pack', () => {
    const req = parse(g.pushBody([[c3, amended, 'refs/heads/main']], g.pack(amended, [c3])));
    const w = walkPack(req.updates[0]!, req.pack);
    assert.deepEqual(w, { fastForward: null, boundary: [c2] });
    assert.deepEqual(describeUpdates(req).unresolved, [{ index: 0, boundary: [c2] }]);
  });

  it('classifies creations and deletions; a delete-only push carries no pack', () => {
    const del = parse(g.pushBody([[c3, ZERO, 'refs/heads/old']], undefined));
    assert.equal(del.error, undefined);
    assert.equal(del.pack, undefined);
    const d0 = describeUpdates(del).details[0]!;
    assert.equal(d0.type, 'delete');
    assert.equal(d0.delete, true);
    const create = parse(g.pushBody([[ZERO, c1, 'refs/tags/v1']], g.pack(c1, [])));
    const d1 = describeUpdates(create).details[0]!;
    assert.equal(d1.type, 'create');
    assert.equal(d1.refKind, 'tag');
    assert.equal(d1.force, false);
  });

  it('parses identically when split at every byte offset', () => {
    const body = g.pushBody([[c1, c3, 'refs/heads/main'], [ZERO, c2, 'refs/heads/topic']], g.pack(c3, [c1]));
    const want = parse(body);
    const ids = [...want.pack!.commits.keys()].sort();
    for (let i = 1; i < body.length; i++) {
      const got = parse(body, i);
      assert.deepEqual(got.updates, want.updates, `split at ${i}`);
      assert.deepEqual([...got.pack!.commits.keys()].sort(), ids, `split at ${i}`);
      assert.equal(got.pack!.complete, true);
    }
  });

  it('resolves commits stored as deltas of other commits', () => {
    const d = new GitFixture();
    try {
      const long = 'x'.repeat(2000);
      let tip = '';
      for (let i = 0; i < 12; i++) tip = d.commit(`${long}\nchange ${i}`, `same\n`);
      const pack = d.gitBytes(['pack-objects', '--stdout', '--revs', '--delta-base-offset', '-q', '--window=50'], `${tip}\n`);
      const verify = d.gitBytes(['index-pack', '--stdin', '-v'], pack).toString();
      void verify;
      const s = new PackCommitScanner({ maxScanBytes: 1 << 24, maxCommits: 1000 });
      s.push(pack);
      const scan = s.end();
      assert.equal(scan.error, undefined);
      assert.equal(scan.commits.size, 12);
      assert.ok(scan.commits.has(tip));
    } finally {
      d.remove();
    }
  });

  it('answers the ancestry question from a real v2 fetch response', () => {
    const yes = new FetchResponseReader(1 << 24);
    yes.push(g.uploadPackV2(ancestryRequest(c3, c1, false)));
    assert.equal(yes.isAncestor(c3, c1), true);
    const no = new FetchResponseReader(1 << 24);
    no.push(g.uploadPackV2(ancestryRequest(c2, c3, false)));
    assert.equal(no.isAncestor(c2, c3), false);
  });

  it('refuses malformed command lists', () => {
    const bad = (line: string): string | undefined => parse(Buffer.concat([pktLine(line), FLUSH_PKT])).error?.code;
    assert.equal(bad('not a command'), 'BAD_COMMAND');
    assert.equal(bad(`${c1} ${c2} ../../etc/passwd`), 'BAD_COMMAND');
    assert.equal(bad(`${c1} ${c2.slice(0, 39)} refs/heads/x`), 'BAD_COMMAND');
    assert.equal(bad(`push-cert\0caps`), 'BAD_COMMAND');
    assert.equal(parse(pktLine(`${c1} ${c2} refs/heads/x`)).error?.code, 'BAD_COMMAND', 'body ended inside the command list');
  });
});

describe('git helpers', () => {
  it('applies copy and insert delta instructions', () => {
    const base = Buffer.from('hello brave new world');
    // src size 21, dst size 11: copy offset 0 len 6 ("hello "), insert "there"
    const delta = Buffer.from([21, 11, 0x90, 6, 5, ...Buffer.from('there')]);
    assert.equal(applyDelta(base, delta).toString(), 'hello there');
    assert.throws(() => applyDelta(base, Buffer.from([20, 1, 1, 65])), /base of 20/);
    assert.throws(() => applyDelta(base, Buffer.from([21, 5, 0x91, 30, 5])), /out of range/);
  });

  it('classifies smart-HTTP URLs', () => {
    assert.deepEqual(parseGitPath('GET', ['team', 'app.git', 'info', 'refs'], { service: ['git-receive-pack'] }), { repo: 'team/app.git', op: 'advertise', service: 'receive-pack' });
    assert.deepEqual(parseGitPath('POST', ['app.git', 'git-upload-pack'], {}), { repo: 'app.git', op: 'rpc', service: 'upload-pack' });
    assert.deepEqual(parseGitPath('GET', ['app.git', 'objects', 'ab', 'cdef'], {}), { repo: 'app.git', op: 'dumb', service: undefined });
    assert.equal(parseGitPath('GET', ['api', 'v1'], {}), undefined);
  });

  it('encodes a rejection git prints per ref, inside side-band when negotiated', () => {
    const plain = encodeRejection(['refs/heads/main'], 'chaperone: denied', ['report-status']);
    const lines = readAll([plain]).filter((l) => l.kind === 'data').map((l) => pktText((l as { payload: Buffer }).payload));
    assert.deepEqual(lines, ['unpack ok', 'ng refs/heads/main chaperone: denied']);
    const banded = encodeRejection(['refs/heads/main'], 'chaperone: denied', ['side-band-64k']);
    const outer = readAll([banded]).filter((l): l is { kind: 'data'; payload: Buffer } => l.kind === 'data');
    assert.equal(outer[0]!.payload[0], 2);
    const inner = Buffer.concat(outer.filter((l) => l.payload[0] === 1).map((l) => l.payload.subarray(1)));
    assert.deepEqual(norm(readAll([inner])).length, 3);
  });
});

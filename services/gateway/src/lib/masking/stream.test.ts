import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Masker, StreamMasker } from './index.js';

const masker = new Masker();

/** Streams `input` in the given chunks; returns the output and the most bytes ever held. */
function stream(input: Buffer, cuts: number[], opts?: { maxTokenBytes?: number }): { out: Buffer; held: number; notes: number } {
  const s = new StreamMasker(masker, opts);
  const parts: Buffer[] = [];
  let held = 0;
  let notes = 0;
  let pos = 0;
  for (const cut of [...cuts, input.length]) {
    const r = s.push(input.subarray(pos, cut));
    parts.push(r.out);
    notes += r.notes.length;
    held = Math.max(held, s.buffered);
    pos = cut;
  }
  const last = s.end();
  parts.push(last.out);
  notes += last.notes.length;
  return { out: Buffer.concat(parts), held, notes };
}

const SECRETS = [
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  ['ghp_', 'R2c9V8q3XbL0mN5pK7wT1yZ4aD6fH8jS2uE0'].join(''),
  'grace.hopper42@example.com',
  's3cr3t-Pa55w0rd',
  '4111 1111 1111 1111',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ',
  ['eyJhbGciOiJIUzI1NiJ9', '.eyJzdWIiOiIxMjM0NTY3ODkwIn0', '.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'].join(''),
];

const FIXTURE = Buffer.from(
  [
    'GET /config -> 200 OK; Grüße aus Zürich ✓',
    `aws: access_key_id=${SECRETS[0]} secret=${SECRETS[1]}`,
    `token ${SECRETS[2]} owner ${SECRETS[3]}`,
    `DATABASE_URL=postgres://app:${SECRETS[4]}@db.internal:5432/app`,
    `card ${SECRETS[5]} exp 12/29`,
    `-----BEGIN OPENSSH PRIVATE KEY-----\n${SECRETS[6]}\n-----END OPENSSH PRIVATE KEY-----`,
    `Authorization: Bearer ${SECRETS[7]}`,
    'done.',
  ].join('\n'),
);

/** Secrets that need no context, as they would sit inside a JSON string, and what must not leak. */
const IN_JSON = [
  { text: SECRETS[0]!, leak: SECRETS[0]! },
  { text: SECRETS[1]!, leak: SECRETS[1]! },
  { text: SECRETS[2]!, leak: SECRETS[2]! },
  { text: SECRETS[3]!, leak: SECRETS[3]! },
  { text: SECRETS[5]!, leak: SECRETS[5]! },
  { text: SECRETS[7]!, leak: SECRETS[7]! },
  { text: `postgres://app:${SECRETS[4]}@db:5432/app`, leak: SECRETS[4]! },
  { text: `-----BEGIN PRIVATE KEY-----\\nMC4CAQAwBQYDK2VwBCIEIB1gdOVRo0pW2a5sSTr0TVuDBHzUdEY4yLuq\\n-----END PRIVATE KEY-----`, leak: 'MC4CAQAwBQYDK2VwBCIEIB1gdOVRo0pW2a5sSTr0TVuDBHzUdEY4yLuq' },
];

describe('StreamMasker', () => {
  it('masks the same whatever the chunking: every split offset, and three-way splits', () => {
    const whole = masker.maskBytes(FIXTURE).out;
    for (const s of SECRETS) assert.ok(!whole.includes(s), s);
    // A small hold window (the fixture's longest match is under 200 bytes) makes cuts happen
    // inside the fixture, so every split position exercises the hold-back logic.
    const opts = { maxTokenBytes: 256 };
    for (let cut = 0; cut <= FIXTURE.length; cut++) {
      assert.deepEqual(stream(FIXTURE, [cut], opts).out, whole, `split at ${cut}`);
    }
    const big = Buffer.concat([FIXTURE, Buffer.from('\n'), FIXTURE, Buffer.from('\n'), FIXTURE]);
    const bigWhole = masker.maskBytes(big).out;
    for (let a = 0; a < big.length; a += 37) {
      for (let b = a; b <= big.length; b += 101) assert.deepEqual(stream(big, [a, b], opts).out, bigWhole, `split at ${a}, ${b}`);
    }
    // One byte at a time, default window.
    assert.deepEqual(stream(FIXTURE, Array.from({ length: FIXTURE.length }, (_, i) => i)).out, whole);
  });

  it('masks a 10 MB JSON response with secrets straddling every 64 KiB chunk boundary', () => {
    const CHUNK = 64 * 1024;
    const records: string[] = [];
    let size = 1;
    let next = CHUNK;
    for (let i = 0; size < 10 * 1024 * 1024; i++) {
      let note = `order ${i} shipped to customer ${i % 977} after payment cleared`;
      // Place the i-th secret across the next chunk boundary.
      const prefix = `{"id":${i},"note":"`;
      if (size + prefix.length + note.length + 40 > next) {
        const secret = IN_JSON[i % IN_JSON.length]!.text;
        const pad = Math.max(0, next - size - prefix.length - Math.floor(secret.length / 2));
        note = `${'x'.repeat(pad)} ${secret} ${note}`;
        next += CHUNK;
      }
      const rec = `${prefix}${note}","at":"2024-03-01T12:34:56Z"}`;
      records.push(rec);
      size += rec.length + 1;
    }
    const body = Buffer.from(`[${records.join(',')}]`);
    assert.ok(body.length >= 10 * 1024 * 1024);
    const cuts: number[] = [];
    for (let c = CHUNK; c < body.length; c += CHUNK) cuts.push(c);
    let straddling = 0;
    for (const c of cuts) if (IN_JSON.some(({ text }) => body.subarray(Math.max(0, c - text.length), c + text.length).includes(text))) straddling++;
    assert.ok(straddling >= cuts.length * 0.9, `secrets straddle ${straddling} of ${cuts.length} boundaries`);

    const r = stream(body, cuts);
    for (const { leak } of IN_JSON) {
      assert.ok(body.includes(leak));
      assert.ok(!r.out.includes(leak), `${leak} leaked`);
    }
    assert.deepEqual(r.out, masker.maskBytes(body).out);
    assert.ok(r.held <= CHUNK + 16 * 1024, `held ${r.held} bytes`);
    assert.ok(r.notes >= cuts.length);
    const parsed = JSON.parse(r.out.toString('utf8')) as { note: string }[];
    assert.equal(parsed.length, records.length);
  });

  it('gives note offsets in the masked output stream', () => {
    const input = Buffer.from(`${'a '.repeat(6000)}mail ada@example.com`);
    const s = new StreamMasker(masker);
    const first = s.push(input.subarray(0, 9000));
    const second = s.push(input.subarray(9000));
    const rest = s.end();
    const out = Buffer.concat([first.out, second.out, rest.out]);
    const note = [...first.notes, ...second.notes, ...rest.notes][0]!;
    const [, a, b] = /^bytes (\d+)-(\d+)$/.exec(note.location)!;
    assert.equal(out.subarray(Number(a), Number(b)).toString(), '[MASKED:email]');
    assert.throws(() => s.push(Buffer.from('x')));
  });
});

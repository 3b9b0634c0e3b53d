import { gunzipSync } from 'node:zlib';

/**
 * Minimal reader for the gzipped ustar archives `opa build` writes (Go archive/tar): regular
 * files only, with PAX `path` and GNU long-name records honoured. Format: POSIX.1-2001 ustar,
 * https://pubs.opengroup.org/onlinepubs/9699919799/utilities/pax.html#tag_20_92_13_06
 */
const BLOCK = 512;

function field(h: Buffer, start: number, len: number): string {
  const raw = h.subarray(start, start + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? len : nul).toString('utf8');
}

function octal(h: Buffer, start: number, len: number, what: string): number {
  const text = field(h, start, len).trim();
  if (!/^[0-7]*$/.test(text)) throw new Error(`bad ${what} field in tar header`);
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = octal(h, 148, 8, 'checksum');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum === stored;
}

/** Normalises an entry name to the bundle's absolute form: `./policy.wasm` → `/policy.wasm`. */
function normalise(name: string): string {
  return `/${name.replace(/^(\.\/|\/)+/, '')}`;
}

function paxPath(body: Buffer): string | undefined {
  // Records are "<len> <key>=<value>\n".
  let off = 0;
  let path: string | undefined;
  while (off < body.length) {
    const space = body.indexOf(0x20, off);
    if (space === -1) break;
    const len = Number(body.subarray(off, space).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0) break;
    const rec = body.subarray(space + 1, off + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (rec.slice(0, eq) === 'path') path = rec.slice(eq + 1);
    off += len;
  }
  return path;
}

/** Reads every regular file of a .tar.gz into memory, keyed by normalised absolute path. */
export function readTarGz(gz: Buffer, maxBytes: number): Map<string, Buffer> {
  const tar = gunzipSync(gz, { maxOutputLength: maxBytes });
  const files = new Map<string, Buffer>();
  let off = 0;
  let nextName: string | undefined;
  while (off + BLOCK <= tar.length) {
    const h = tar.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break; // end-of-archive marker
    if (!checksumOk(h)) throw new Error(`tar header checksum mismatch at offset ${off}`);
    const size = octal(h, 124, 12, 'size');
    const type = String.fromCharCode(h[156]!);
    const start = off + BLOCK;
    if (start + size > tar.length) throw new Error(`tar entry at offset ${off} is truncated`);
    const body = tar.subarray(start, start + size);
    off = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      nextName = paxPath(body) ?? nextName;
      continue;
    }
    if (type === 'L') {
      nextName = field(body, 0, body.length);
      continue;
    }
    if (type === 'g') continue;
    const prefix = field(h, 345, 155);
    const name = nextName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    nextName = undefined;
    if (type === '0' || type === '\0') files.set(normalise(name), Buffer.from(body));
  }
  return files;
}

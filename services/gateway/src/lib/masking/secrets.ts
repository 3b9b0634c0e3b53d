/**
 * Secret detectors that are not single tokens: private key blocks, passwords in URLs, secret
 * assignments. A gateway needs one cheap pass over every response, so detection is
 * anchor-driven: long tokens, '-----BEGIN', '@' and assignment operators are found with
 * memchr-speed scans and only those spots are checked with the (compiled once) patterns.
 * Token rules (secretlint's recommended preset and ours) are in tokens.ts; the preset's
 * patterns that are not tokens (its AWS, private key, basic auth and connection string rules)
 * are what these passes find (secretlint.test.ts checks it).
 */
import { CLASS, WORD, entropy, latin1 } from './bytes.js';
import type { Scan } from './scan.js';
import { TOKEN_DETECTORS } from './tokens.js';

// --- private key blocks -------------------------------------------------------------------

const PEM_BEGIN = Buffer.from('-----BEGIN');
/** Searched for instead of PEM_BEGIN: '-' is common in text, an upper-case 'B' far less. */
const BEGIN = Buffer.from('BEGIN');
const PEM_END = Buffer.from('-----END');
const PEM_HEADER = /^-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----/;
/** The longest block we look for the END line in; also bounds how much a stream holds back. */
export const MAX_PEM_BYTES = 8192;
/** Bytes a PEM body is made of: base64, whitespace, the `\n` of JSON strings, RFC 1421 headers. */
const PEM_BODY = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\\:,.- \t\r\n') PEM_BODY[c.charCodeAt(0)] = 1;

/**
 * Below this many bytes (a DataRow, a header) 'BEGIN' is found by its 'B': a byte search costs
 * a fifth of a pattern search's call, and the text is too short for the pattern's skips to pay.
 */
const SHORT_SCAN = 1024;

/** Where 'BEGIN' first occurs in buf at or after `from`, or -1 (the same as buf.indexOf(BEGIN, from)). */
export function indexOfBegin(buf: Buffer, from: number): number {
  for (let b = buf.indexOf(0x42, from); b !== -1; b = buf.indexOf(0x42, b + 1)) {
    if (buf[b + 1] === 0x45 && buf[b + 2] === 0x47 && buf[b + 3] === 0x49 && buf[b + 4] === 0x4e) return b;
  }
  return -1;
}

/**
 * Masks from `-----BEGIN … PRIVATE KEY-----` to the end of its END line; when no END line
 * follows within MAX_PEM_BYTES (a truncated key), to the end of the key material.
 */
export function scanPrivateKeys(s: Scan): void {
  if (!s.cfg.privateKey) return;
  const { buf, to, out } = s;
  const short = to - s.from < SHORT_SCAN;
  let i = s.from;
  for (;;) {
    const b = short ? indexOfBegin(buf, i + 5) : buf.indexOf(BEGIN, i + 5);
    if (b === -1 || b >= to || b - 5 >= s.until) return;
    const at = b - 5;
    i = b;
    if (at < s.from || buf.compare(PEM_BEGIN, 0, 5, at, b) !== 0) continue;
    if (!PEM_HEADER.test(latin1(buf, at, Math.min(to, at + 80)))) continue;
    const cap = Math.min(to, at + MAX_PEM_BYTES);
    let e = at;
    while (e < cap && PEM_BODY[buf[e]!] === 1) e++;
    const endLine = buf.indexOf(PEM_END, at + PEM_BEGIN.length);
    if (endLine !== -1 && endLine < e) {
      const close = buf.indexOf('-----', endLine + PEM_END.length);
      if (close !== -1 && close < e) e = close + 5;
    }
    out.push({ start: at, end: e, detector: 'private-key' });
    i = e;
  }
}

// --- passwords in URLs (postgres://user:secret@host) ----------------------------------------

const URL_STOP = new Uint8Array(256);
for (const c of ' \t\r\n"\'<>`\0@') URL_STOP[c.charCodeAt(0)] = 1;
const SCHEME_CHAR = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-') SCHEME_CHAR[c.charCodeAt(0)] = 1;
const MAX_USERINFO = 256;
/** How far before its '@' a match can start (a URL's user and password, an e-mail's local part). */
export const AT_REACH = MAX_USERINFO;

/** The password of `scheme://user:password@host` ending at the '@' at `at`, if any. */
export function urlPasswordAt(buf: Buffer, from: number, at: number): { start: number; end: number } | undefined {
  let i = at - 1;
  const min = Math.max(from, at - MAX_USERINFO);
  // Find the "://" that opens this authority, without crossing whitespace or quotes.
  while (i >= min + 2 && URL_STOP[buf[i]!] !== 1) {
    if (buf[i] === 0x2f && buf[i - 1] === 0x2f && buf[i - 2] === 0x3a) break;
    i--;
  }
  if (!(i >= min + 2 && buf[i] === 0x2f && buf[i - 1] === 0x2f && buf[i - 2] === 0x3a)) return undefined;
  const colonSlash = i - 2;
  if (colonSlash === from || SCHEME_CHAR[buf[colonSlash - 1]!] !== 1) return undefined;
  const userStart = i + 1;
  const colon = buf.indexOf(0x3a, userStart);
  if (colon === -1 || colon >= at) return undefined;
  if (buf.subarray(userStart, colon).includes(0x2f)) return undefined; // a path, not userinfo
  if (colon + 1 === at) return undefined; // no password
  return { start: colon + 1, end: at };
}

// --- generic `key = value` assignments ------------------------------------------------------

/** Last three letters (lower-cased) of the key words we look for; rejects most keys quickly. */
const KEY_ENDINGS = new Set(['ord', 'swd', 'pwd', 'ase', 'ass', 'ret', 'ken', 'key', 'ial', 'als'].map((e) => (e.charCodeAt(0) << 16) | (e.charCodeAt(1) << 8) | e.charCodeAt(2)));
/**
 * The same endings by the low five bits of each byte (a-z and A-Z alike, and some punctuation
 * too): one table look-up turns away nearly every key before the exact set is asked.
 */
const KEY_ENDING_BITS = new Uint8Array(1 << 15);
for (const code of KEY_ENDINGS) KEY_ENDING_BITS[(((code >> 16) & 31) << 10) | (((code >> 8) & 31) << 5) | (code & 31)] = 1;

/** Whether bytes a, b, c may end a key word we look for: one look-up, true for every ending (and some more). */
export const mayEndKey = (a: number, b: number, c: number): boolean => KEY_ENDING_BITS[((a & 31) << 10) | ((b & 31) << 5) | (c & 31)] === 1;
/** Whether bytes a, b, c end a key word we look for (case-insensitive). */
export const endsKey = (a: number, b: number, c: number): boolean => KEY_ENDINGS.has(((a | 0x20) << 16) | ((b | 0x20) << 8) | (c | 0x20));
const KEY_QUALIFIERS = new Set(['api', 'access', 'secret', 'private', 'signing', 'encryption', 'master', 'account', 'storage', 'client', 'auth', 'session', 'webhook']);
/** Tokens that are cursors, not credentials: masking them would only break pagination. */
const NOT_SECRET_TOKEN = new Set(['page', 'next', 'continuation', 'pagination', 'cursor', 'sync', 'max', 'total', 'num', 'input', 'output', 'prompt', 'completion']);
const PASSWORD_END = /(?:password|passwd|passphrase)$/;
const SECRET_KEY_END = /(?:api|access|secret|private|signing|encryption|master|account|storage|client)key$/;
const SECRET_END = /(?:secret|credentials?)$/;
const PLACEHOLDER = /^(?:null|nil|none|true|false|undefined|\*+|x+|\.+|<[^>]*>|\$\{[^}]*\}|\$[A-Za-z_]\w*|\{\{.*\}\}|%[\w.]+%|\[MASKED:[\w-]+\]|redacted)$/i;
const MAX_VALUE = 512;

/**
 * 'password' for password-like key names, 'secret' for token/key-like ones, else undefined.
 * Names are split into words (snake, kebab, dotted, camelCase); the last word decides, so
 * `db_password`, `PGPASSWORD`, `clientSecret` and `aws_secret_access_key` count while
 * `token_type`, `next_page_token` and `monkey` do not.
 */
export function keyClass(key: string): 'password' | 'secret' | undefined {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().split(/[_.-]+/).filter(Boolean);
  const last = words[words.length - 1];
  const prev = words[words.length - 2];
  if (last === undefined) return undefined;
  if (last === 'pass' || last === 'pwd' || PASSWORD_END.test(last)) return 'password';
  if (last === 'key') return prev !== undefined && KEY_QUALIFIERS.has(prev) ? 'secret' : undefined;
  if (SECRET_KEY_END.test(last) || SECRET_END.test(last)) return 'secret';
  if (last.endsWith('token')) {
    const stem = last === 'token' ? prev : last.slice(0, -5);
    return stem !== undefined && NOT_SECRET_TOKEN.has(stem) ? undefined : 'secret';
  }
  return undefined;
}

const isSpace = (c: number | undefined) => c === 0x20 || c === 0x09;
const VALUE_STOP = new Uint8Array(256);
for (const c of ' \t\r\n,;&"\'`)}]<>\0') VALUE_STOP[c.charCodeAt(0)] = 1;

/** The value span of a `key: value` / `key=value` whose operator is at `op`, when the key names a secret. */
function assignmentAt(buf: Buffer, from: number, to: number, op: number): { start: number; end: number } | undefined {
  const next = buf[op + 1];
  if (buf[op] === 0x3a ? next === 0x2f || next === 0x3a : next === 0x3d || buf[op - 1] === 0x21 || buf[op - 1] === 0x3c || buf[op - 1] === 0x3e || buf[op - 1] === 0x3d) return undefined;
  let k = op - 1;
  while (k >= from && isSpace(buf[k])) k--;
  if (k >= from && (buf[k] === 0x22 || buf[k] === 0x27)) k--;
  const keyEnd = k + 1;
  if (keyEnd - from < 3 || !mayEndKey(buf[k - 2]!, buf[k - 1]!, buf[k]!) || !endsKey(buf[k - 2]!, buf[k - 1]!, buf[k]!)) return undefined;
  let keyStart = keyEnd;
  while (keyStart > from && keyEnd - keyStart < 64 && (CLASS[buf[keyStart - 1]!]! & WORD) !== 0) keyStart--;
  const kind = keyClass(latin1(buf, keyStart, keyEnd));
  if (!kind) return undefined;
  let v = op + 1;
  while (v < to && isSpace(buf[v])) v++;
  let start: number;
  let end: number;
  const q = buf[v];
  if (q === 0x22 || q === 0x27) {
    start = v + 1;
    end = start;
    const cap = Math.min(to, start + MAX_VALUE);
    while (end < cap && buf[end] !== q && buf[end] !== 0x0a && buf[end] !== 0) end += buf[end] === 0x5c ? 2 : 1;
    if (end >= cap || buf[end] !== q) return undefined;
  } else {
    start = v;
    end = v;
    const cap = Math.min(to, start + MAX_VALUE);
    while (end < cap && VALUE_STOP[buf[end]!] !== 1) end++;
    if (q === 0x7b || q === 0x5b) return undefined; // an object or array: its own keys are checked
  }
  if (end <= start) return undefined;
  const value = latin1(buf, start, end);
  if (PLACEHOLDER.test(value)) return undefined;
  if (kind === 'secret' && (end - start < 8 || entropy(buf, start, end) < 3)) return undefined;
  return { start, end };
}

function assignments(s: Scan, operator: number): void {
  const { buf, from, to, out } = s;
  // A value starts after its operator.
  const end = Math.min(to, s.until);
  for (let op = buf.indexOf(operator, from); op !== -1 && op < end; op = buf.indexOf(operator, op + 1)) {
    const m = assignmentAt(buf, from, to, op);
    if (m) out.push({ start: m.start, end: m.end, detector: 'secret-assignment' });
  }
}

export function scanAssignments(s: Scan): void {
  if (!s.cfg.assignment) return;
  assignments(s, 0x3a); // ':'
  assignments(s, 0x3d); // '='
}

/** Ids of every secret detector, the ones the gateway never turns off. */
export const SECRET_DETECTORS = [...TOKEN_DETECTORS, 'private-key', 'url-password', 'secret-assignment'];

import { HttpProtocolError } from './errors.js';
import { checkHost } from './host.js';

/**
 * The gateway's own HTTP/1.1 request framing (RFC 9112), run over every byte an agent sends
 * before Node's parser (llhttp) sees it. It decides where each request ends with strict rules
 * and hands the parser only bytes it accepted, so a framing the gateway refuses is never used
 * to find a next request, and nothing after a refusal is parsed at all:
 *
 * - request-line = method SP origin-form SP ("HTTP/1.1" | "HTTP/1.0") CRLF (§3; §3.2.1);
 *   no control bytes, no bare CR or LF, no HTTP/0.9;
 * - field lines `token ":" OWS value OWS CRLF`, no space before the colon (§5.1), no obs-fold
 *   (§5.2), no control bytes in values (RFC 9110 §5.5);
 * - the whole head (request line, fields, CRLFs) at most `maxHeadBytes`, at most `maxFields`
 *   fields (trailers likewise);
 * - Content-Length (one field, digits only) or `Transfer-Encoding: chunked` (one field, that
 *   one coding), never both (§6.1, §6.3); HTTP/1.0 with Transfer-Encoding is refused (§6.1);
 * - chunk sizes of at most 16 hex digits, the body in total at most `maxBodyBytes` (§7.1);
 * - exactly one valid Host in HTTP/1.1 (§3.2; RFC 9110 §7.2).
 *
 * Pure over Buffers (convention 4): `feed` returns the bytes to pass on and, when the input is
 * refused, the error; after an error it passes nothing more.
 */
export interface FramerLimits {
  maxHeadBytes: number;
  maxFields: number;
  maxBodyBytes: number;
}

export interface FeedResult {
  /** Accepted bytes to hand to the HTTP parser now (may be empty; never bytes after an error). */
  pass: Buffer;
  /** Set once the input broke the rules: nothing after `pass` may be parsed. */
  error?: HttpProtocolError;
  /** The request error happened inside a body the parser is already reading. */
  inBody?: boolean;
  /** An upgrade request's head was passed: from here on the bytes are the tunnel's. */
  tunnel?: boolean;
}

/** At most 16 hex digits in a chunk size (2^64 - 1), whatever the value (RFC 9112 §7.1). */
export const MAX_CHUNK_SIZE_DIGITS = 16;
/** A chunk-size line with its extensions (Node's own limit on extensions is 16 KiB). */
const MAX_CHUNK_LINE = 4096;

const enum State {
  Head,
  Body,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  Tunnel,
  Failed,
}

const enum Byte {
  HTAB = 0x09,
  LF = 0x0a,
  CR = 0x0d,
  SP = 0x20,
  Colon = 0x3a,
  Semicolon = 0x3b,
  Slash = 0x2f,
}

const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;
/** field-value bytes: VCHAR, obs-text, SP, HTAB. */
const VALUE = new Uint8Array(256);
for (let b = 0x20; b < 0x100; b++) VALUE[b] = b === 0x7f ? 0 : 1;
VALUE[Byte.HTAB] = 1;
/** request-target bytes: VCHAR only (the target's grammar is checked by parseTarget). */
const TARGET = new Uint8Array(256);
for (let b = 0x21; b < 0x7f; b++) TARGET[b] = 1;
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEX['0123456789abcdef'.charCodeAt(i)] = i;
for (let i = 10; i < 16; i++) HEX['ABCDEF'.charCodeAt(i - 10)] = i;

/** What the head said, reset per request. */
interface HeadFacts {
  version11: boolean;
  method: string;
  hosts: number;
  host: string;
  lengths: number;
  length: string;
  encodings: number;
  encoding: string;
  upgrade: boolean;
  connectionUpgrade: boolean;
  close: boolean;
  keepAlive: boolean;
}

const fresh = (): HeadFacts => ({ version11: true, method: '', hosts: 0, host: '', lengths: 0, length: '', encodings: 0, encoding: '', upgrade: false, connectionUpgrade: false, close: false, keepAlive: false });

export class RequestFramer {
  private state = State.Head;
  /** Bytes not passed yet (an incomplete head or chunk line), in the pieces they came in. */
  private parts: Buffer[] | undefined;
  private partsLen = 0;
  /** Offset in the kept bytes where checking resumes (the lines before it were checked). */
  private resume = 0;
  private lineLimit = 0;
  private headBytes = 0;
  private fields = 0;
  private facts = fresh();
  private remaining = 0;
  private bodyBytes = 0;
  /** The request being read is the connection's last (Connection: close). */
  private last = false;

  constructor(private readonly limits: FramerLimits) {}

  /** True while a request head is incomplete (the caller bounds how long that may last). */
  get inHead(): boolean {
    return this.state === State.Head && (this.headBytes > 0 || this.parts !== undefined);
  }

  feed(chunk: Buffer): FeedResult {
    if (this.state === State.Tunnel) return { pass: chunk, tunnel: true };
    if (this.state === State.Failed) return { pass: EMPTY };
    let buf = chunk;
    let pos = 0;
    if (this.parts) {
      // An incomplete line waits for its LF; the pieces are joined once, when it has come.
      this.parts.push(chunk);
      this.partsLen += chunk.length;
      if (chunk.indexOf(Byte.LF) < 0) {
        if (this.partsLen - this.resume <= this.lineLimit) return { pass: EMPTY };
        const inBody = this.state !== State.Head;
        return this.fail(EMPTY, 0, inBody ? new HttpProtocolError('BAD_CHUNK', 'chunk-size line or trailer section too long') : this.headTooLarge(), inBody);
      }
      buf = Buffer.concat(this.parts, this.partsLen);
      pos = this.resume;
      this.parts = undefined;
    }
    /** End of what may be passed: a head only once it is complete and accepted. */
    let ok = 0;
    while (pos < buf.length) {
      switch (this.state as State) {
        case State.Head: {
          const lf = buf.indexOf(Byte.LF, pos);
          const end = lf < 0 ? buf.length : lf + 1;
          if (this.headBytes + (end - pos) > this.limits.maxHeadBytes) return this.fail(buf, ok, this.headTooLarge(), false);
          if (lf < 0) return this.keep(buf, ok, pos, this.limits.maxHeadBytes - this.headBytes);
          this.headBytes += end - pos;
          const err = this.headLine(buf, pos, lf);
          pos = end;
          if (err) return this.fail(buf, ok, err, false);
          if (this.state !== State.Head || this.completed) {
            this.completed = false;
            ok = pos;
            if ((this.state as State) === State.Tunnel) return { pass: buf, tunnel: true };
          }
          break;
        }
        case State.Body:
        case State.ChunkData: {
          const n = Math.min(this.remaining, buf.length - pos);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            if (this.state === State.Body) this.next();
            else this.state = State.ChunkDataEnd;
          }
          ok = pos;
          break;
        }
        case State.Failed:
        case State.Tunnel:
          // The last request (Connection: close) ended: nothing after it is passed.
          return { pass: buf.subarray(0, ok) };
        default: {
          // ChunkSize, ChunkDataEnd, Trailers: one line each.
          const lf = buf.indexOf(Byte.LF, pos);
          const limit = this.state === State.Trailers ? this.limits.maxHeadBytes - this.headBytes : MAX_CHUNK_LINE;
          if ((lf < 0 ? buf.length : lf + 1) - pos > limit) return this.fail(buf, ok, new HttpProtocolError('BAD_CHUNK', 'chunk-size line or trailer section too long'), true);
          if (lf < 0) return this.keep(buf, ok, pos, limit);
          const err = this.chunkLine(buf, pos, lf);
          if (err) return this.fail(buf, ok, err, true);
          pos = lf + 1;
          ok = pos;
        }
      }
    }
    // Complete lines of a head that is not complete yet wait for the rest of it.
    if (ok < buf.length) return this.keep(buf, ok, pos, this.limits.maxHeadBytes - this.headBytes);
    return { pass: buf };
  }

  private headTooLarge(): HttpProtocolError {
    return new HttpProtocolError('HEADERS_TOO_LARGE', `request head exceeds the limit of ${this.limits.maxHeadBytes} bytes`);
  }

  /**
   * Keeps what may not be passed yet (an incomplete head, or an incomplete chunk line) for the
   * next chunk; the lines already checked are not checked again (`resume`).
   */
  private keep(buf: Buffer, ok: number, pos: number, lineLimit: number): FeedResult {
    this.parts = [buf.subarray(ok)];
    this.partsLen = buf.length - ok;
    this.resume = pos - ok;
    this.lineLimit = lineLimit;
    return { pass: buf.subarray(0, ok) };
  }

  private resetHead(): void {
    this.headBytes = 0;
    this.fields = 0;
    this.facts = fresh();
  }

  private fail(buf: Buffer, ok: number, error: HttpProtocolError, inBody: boolean): FeedResult {
    this.state = State.Failed;
    this.parts = undefined;
    return { pass: buf.subarray(0, ok), error, inBody };
  }

  /** The next message begins, unless the last one closed the connection. */
  private next(): void {
    this.state = this.last ? State.Failed : State.Head;
    this.resetHead();
    this.bodyBytes = 0;
  }

  private headLine(buf: Buffer, start: number, lf: number): HttpProtocolError | undefined {
    if (lf === start || buf[lf - 1] !== Byte.CR) return new HttpProtocolError('BAD_REQUEST_LINE', 'a line of the request head ends in a bare LF, not CRLF (RFC 9112 §2.2)');
    const end = lf - 1;
    if (end === start) {
      // An empty line before the request line is ignored (RFC 9112 §2.2); after it, the head ends.
      return this.facts.method === '' ? undefined : this.headEnd();
    }
    return this.facts.method === '' ? this.requestLine(buf, start, end) : this.fieldLine(buf, start, end);
  }

  private requestLine(buf: Buffer, start: number, end: number): HttpProtocolError | undefined {
    let i = start;
    while (i < end && TCHAR[buf[i]!]) i++;
    if (i === start || i >= end || buf[i] !== Byte.SP) return new HttpProtocolError('BAD_REQUEST_LINE', 'the request line is not "method SP request-target SP HTTP-version" (RFC 9112 §3)');
    const method = buf.toString('latin1', start, i);
    const t = ++i;
    while (i < end && TARGET[buf[i]!]) i++;
    if (i === t || i >= end || buf[i] !== Byte.SP)
      return new HttpProtocolError('BAD_REQUEST_LINE', 'the request target is empty, contains a space, a control byte or a bare CR, or the HTTP version is missing (RFC 9112 §3.2)');
    if (buf[t] !== Byte.Slash) return new HttpProtocolError('BAD_TARGET', 'only origin-form request targets ("/path?query") are accepted (RFC 9112 §3.2.1)');
    const version = buf.toString('latin1', i + 1, end);
    if (version === 'HTTP/1.1') this.facts.version11 = true;
    else if (version === 'HTTP/1.0') this.facts.version11 = false;
    else if (/^HTTP\/\d\.\d$/.test(version)) return new HttpProtocolError('VERSION_NOT_SUPPORTED', `${version} is not supported on this connection; use HTTP/1.1 (or HTTP/2 via ALPN)`);
    else return new HttpProtocolError('BAD_REQUEST_LINE', 'the HTTP version is malformed (RFC 9112 §2.3)');
    if (method === 'CONNECT') return new HttpProtocolError('BAD_REQUEST_LINE', 'CONNECT is not served: the gateway is a reverse proxy');
    this.facts.method = method;
    return undefined;
  }

  private fieldLine(buf: Buffer, start: number, end: number): HttpProtocolError | undefined {
    if (++this.fields > this.limits.maxFields) return new HttpProtocolError('TOO_MANY_FIELDS', `more than ${this.limits.maxFields} header fields`);
    let i = start;
    while (i < end && TCHAR[buf[i]!]) i++;
    if (i === start) return new HttpProtocolError('BAD_HEADER', buf[start] === Byte.SP || buf[start] === Byte.HTAB ? 'obsolete line folding is not accepted (RFC 9112 §5.2)' : 'invalid header field name');
    if (i >= end || buf[i] !== Byte.Colon) return new HttpProtocolError('BAD_HEADER', 'a header field name followed by anything but ":" (whitespace before the colon: RFC 9112 §5.1)');
    const nameEnd = i;
    for (i++; i < end; i++) if (!VALUE[buf[i]!]) return new HttpProtocolError('BAD_HEADER', 'control characters (CR, LF, NUL, …) in a header field value (RFC 9110 §5.5)');
    const n = nameEnd - start;
    if (n === 4 || n === 7 || n === 10 || n === 14 || n === 17) this.noteField(buf.toString('latin1', start, nameEnd).toLowerCase(), buf, nameEnd + 1, end);
    return undefined;
  }

  private noteField(name: string, buf: Buffer, from: number, to: number): void {
    const f = this.facts;
    if (name === 'host') {
      f.hosts++;
      f.host = buf.toString('latin1', from, to).trim();
    } else if (name === 'content-length') {
      f.lengths++;
      f.length = buf.toString('latin1', from, to).trim();
    } else if (name === 'transfer-encoding') {
      f.encodings++;
      f.encoding = buf.toString('latin1', from, to).trim();
    } else if (name === 'upgrade') f.upgrade = true;
    else if (name === 'connection') {
      for (const t of buf.toString('latin1', from, to).split(',')) {
        const token = t.trim().toLowerCase();
        if (token === 'upgrade') f.connectionUpgrade = true;
        else if (token === 'close') f.close = true;
        else if (token === 'keep-alive') f.keepAlive = true;
      }
    }
  }

  private headEnd(): HttpProtocolError | undefined {
    const f = this.facts;
    if (f.hosts > 1) return new HttpProtocolError('BAD_HOST', 'more than one Host header (RFC 9112 §3.2)');
    if (f.hosts === 0 && f.version11) return new HttpProtocolError('BAD_HOST', 'an HTTP/1.1 request without Host (RFC 9112 §3.2)');
    if (f.hosts === 1) {
      const bad = checkHost(f.host);
      if (bad) return bad;
    }
    if (f.lengths > 0 && f.encodings > 0) return new HttpProtocolError('CONFLICTING_FRAMING', 'both Content-Length and Transfer-Encoding are present; send one of them (RFC 9112 §6.3)');
    const upgrade = f.upgrade && f.connectionUpgrade;
    // RFC 9112 §9.6: after a request with "close" (an HTTP/1.0 one without keep-alive), no
    // further request on the connection is processed.
    this.last = f.close || (!f.version11 && !f.keepAlive);
    if (f.encodings > 0) {
      if (!f.version11) return new HttpProtocolError('BAD_TRANSFER_ENCODING', 'Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)');
      if (f.encodings > 1 || f.encoding.toLowerCase() !== 'chunked')
        return new HttpProtocolError('BAD_TRANSFER_ENCODING', `unsupported Transfer-Encoding "${f.encoding.slice(0, 60)}"${f.encodings > 1 ? ' (in several fields)' : ''}; only a single "chunked" is accepted`);
      if (upgrade) return new HttpProtocolError('BAD_BODY', 'an upgrade request must not have a body');
      this.state = State.ChunkSize;
      return undefined;
    }
    if (f.lengths > 0) {
      if (f.lengths > 1 || !/^\d{1,16}$/.test(f.length)) return new HttpProtocolError('BAD_CONTENT_LENGTH', `invalid Content-Length "${f.length.slice(0, 40)}"${f.lengths > 1 ? ' (in several fields)' : ''}`);
      const length = Number(f.length);
      if (length > this.limits.maxBodyBytes) return new HttpProtocolError('BODY_TOO_LARGE', `request body of ${length} bytes exceeds the gateway limit of ${this.limits.maxBodyBytes}`);
      if (length > 0 && upgrade) return new HttpProtocolError('BAD_BODY', 'an upgrade request must not have a body');
      if (length > 0) {
        this.remaining = length;
        this.state = State.Body;
        return undefined;
      }
    }
    if (upgrade) {
      this.state = State.Tunnel;
      return undefined;
    }
    this.next();
    this.completed = true;
    return undefined;
  }

  /** Set when a bodiless message completed in the last headLine call. */
  private completed = false;

  private chunkLine(buf: Buffer, start: number, lf: number): HttpProtocolError | undefined {
    if (lf === start || buf[lf - 1] !== Byte.CR) return new HttpProtocolError('BAD_CHUNK', 'a chunk line ends in a bare LF, not CRLF (RFC 9112 §7.1)');
    const end = lf - 1;
    if (this.state === State.ChunkDataEnd) {
      if (end !== start) return new HttpProtocolError('BAD_CHUNK', 'chunk data longer than its chunk size');
      this.state = State.ChunkSize;
      return undefined;
    }
    if (this.state === State.Trailers) return this.trailerLine(buf, start, end, lf);
    let i = start;
    let size = 0;
    while (i < end && HEX[buf[i]!]! >= 0) {
      size = size * 16 + HEX[buf[i]!]!;
      i++;
    }
    const digits = i - start;
    if (digits === 0) return new HttpProtocolError('BAD_CHUNK', 'a chunk size is not hexadecimal (RFC 9112 §7.1)');
    if (digits > MAX_CHUNK_SIZE_DIGITS) return new HttpProtocolError('BAD_CHUNK', `a chunk size of more than ${MAX_CHUNK_SIZE_DIGITS} hex digits`);
    if (i < end && buf[i] !== Byte.Semicolon && buf[i] !== Byte.SP && buf[i] !== Byte.HTAB) return new HttpProtocolError('BAD_CHUNK', 'a chunk size followed by anything but a chunk extension');
    for (; i < end; i++) if (!VALUE[buf[i]!]) return new HttpProtocolError('BAD_CHUNK', 'control characters in a chunk extension');
    // `size` is exact below 2^53; anything larger is over every body limit anyway.
    if (this.bodyBytes + size > this.limits.maxBodyBytes) return new HttpProtocolError('BAD_CHUNK', `a chunk of ${size} bytes takes the body over the gateway limit of ${this.limits.maxBodyBytes} bytes`);
    this.bodyBytes += size;
    if (size === 0) {
      this.state = State.Trailers;
      this.headBytes = 0;
      this.fields = 0;
    } else {
      this.remaining = size;
      this.state = State.ChunkData;
    }
    return undefined;
  }

  private trailerLine(buf: Buffer, start: number, end: number, lf: number): HttpProtocolError | undefined {
    this.headBytes += lf + 1 - start;
    if (end === start) {
      this.next();
      return undefined;
    }
    return this.fieldLine(buf, start, end);
  }
}

const EMPTY = Buffer.alloc(0);

// The server side of `pods/exec` over SPDY/3.1 for the Kubernetes API STAND-IN, as far as
// kubectl needs it when it falls back from WebSocket (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false,
// older kubectl, client-go): the remote command protocol v4.channel.k8s.io on SPDY/3.1
// (SPDY Protocol draft 3.1). No maintained npm SPDY server exists (node-spdy is abandoned), so
// this is the minimal part written out:
//
//   - frames: 8-byte headers, control frames (version 3) and data frames;
//   - header blocks: one zlib context per direction with the SPDY/3 dictionary, sync-flushed;
//   - the client opens one stream per channel (SYN_STREAM with `streamtype`: error, stdin,
//     stdout, stderr, resize), the server answers each with SYN_REPLY;
//   - once the streams the request asked for exist, the "command" runs: `cat` copies stdin to
//     stdout until stdin ends, `echo` prints its arguments, anything else prints what it would
//     have run; stdout and stderr end with FIN, the error stream carries a v1 Status and FIN.
//
// Nothing is executed. PING is answered, GOAWAY ends the connection. No flow control: the
// stand-in sends a few bytes per stream, far below SPDY's 64 KiB initial window.
import { constants, createDeflate, createInflate } from 'node:zlib';

const NAMES = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language', 'accept-ranges', 'age', 'allow',
  'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding', 'content-language', 'content-length', 'content-location', 'content-md5',
  'content-range', 'content-type', 'date', 'etag', 'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate', 'proxy-authorization', 'range', 'referer', 'retry-after',
  'server', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'user-agent', 'vary', 'via', 'warning', 'www-authenticate', 'method', 'get', 'status', '200 OK',
  'version', 'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive', 'origin',
];
const VALUES =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden404 Not Found' +
  '500 Internal Server Error501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ' +
  'Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,' +
  'text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

/** The SPDY/3 header compression dictionary (draft 3.1 §2.6.10.1), 1423 bytes. */
export const DICTIONARY = Buffer.concat([...NAMES.flatMap((n) => [u32(n.length), Buffer.from(n, 'latin1')]), Buffer.from(VALUES, 'latin1')]);
if (DICTIONARY.length !== 1423) throw new Error(`SPDY dictionary has ${DICTIONARY.length} bytes, not 1423`);

const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const FLAG_FIN = 1;

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function control(type, flags, payload) {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(((0x8003 << 16) | type) >>> 0, 0);
  h.writeUInt32BE(((flags << 24) | payload.length) >>> 0, 4);
  return Buffer.concat([h, payload]);
}

function data(streamId, flags, bytes) {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE(((flags << 24) | bytes.length) >>> 0, 4);
  return Buffer.concat([h, bytes]);
}

/** Runs a block through a kept zlib context and returns what its sync flush yields. */
function flushThrough(z, block) {
  return new Promise((resolve, reject) => {
    const out = [];
    const onData = (c) => out.push(c);
    z.on('data', onData);
    z.once('error', reject);
    z.write(block);
    z.flush(constants.Z_SYNC_FLUSH, () => {
      z.off('data', onData);
      z.off('error', reject);
      resolve(Buffer.concat(out));
    });
  });
}

function parseHeaders(b) {
  const out = {};
  let off = 4;
  for (let i = b.readUInt32BE(0); i > 0; i--) {
    const nl = b.readUInt32BE(off);
    const name = b.subarray(off + 4, off + 4 + nl).toString('latin1');
    off += 4 + nl;
    const vl = b.readUInt32BE(off);
    out[name] = b.subarray(off + 4, off + 4 + vl).toString('latin1');
    off += 4 + vl;
  }
  return out;
}

/**
 * Serves one exec over an upgraded socket. `want` says which channels the request asked for
 * (stdin/stdout/stderr/tty query parameters); `output(stdinBytes)` is what the command prints.
 */
export function serveSpdyExec(socket, head, { want, command, log }) {
  const inflate = createInflate({ dictionary: DICTIONARY });
  const deflate = createDeflate({ dictionary: DICTIONARY });
  const streams = {};
  let buf = head ?? Buffer.alloc(0);
  let chain = Promise.resolve();
  let started = false;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    inflate.destroy();
    deflate.destroy();
    socket.end();
  };
  const write = (b) => !socket.destroyed && socket.write(b);
  const cat = command[0] === 'cat' && want.stdin;
  const status = () => Buffer.from(JSON.stringify({ metadata: {}, status: 'Success' }));
  const end = () => {
    for (const ch of ['stdout', 'stderr']) if (streams[ch]) write(data(streams[ch], FLAG_FIN, Buffer.alloc(0)));
    write(data(streams.error, 0, status()));
    write(data(streams.error, FLAG_FIN, Buffer.alloc(0)));
    // The client closes once it read the error stream; the stand-in does not wait forever.
    setTimeout(finish, 10_000).unref();
  };
  const run = () => {
    started = true;
    log(`exec ${JSON.stringify(command)} over SPDY/3.1 (${Object.keys(streams).join(',')})`);
    if (cat) return; // stdin frames are copied as they come; end() follows stdin's FIN
    const out = command[0] === 'echo' ? `${command.slice(1).join(' ')}\n` : `chaperone k8s stand-in: would run ${JSON.stringify(command)}\n`;
    if (streams.stdout) write(data(streams.stdout, 0, Buffer.from(out)));
    end();
  };
  const ready = () => streams.error && (!want.stdout || streams.stdout) && (!want.stderr || want.tty || streams.stderr) && (!want.stdin || streams.stdin);
  const onFrame = async (f) => {
    if (!f.control) {
      if (f.streamId === streams.stdin && cat && started) {
        if (f.payload.length > 0 && streams.stdout) write(data(streams.stdout, 0, f.payload));
        if (f.flags & FLAG_FIN) end();
      }
      return;
    }
    if (f.type === SYN_STREAM) {
      const id = f.payload.readUInt32BE(0) & 0x7fffffff;
      const headers = parseHeaders(await flushThrough(inflate, f.payload.subarray(10)));
      streams[headers.streamtype] = id;
      write(control(SYN_REPLY, 0, Buffer.concat([u32(id), await flushThrough(deflate, u32(0))])));
      if (!started && ready()) run();
    } else if (f.type === SYN_REPLY || f.type === 8) await flushThrough(inflate, f.payload.subarray(4));
    else if (f.type === PING) write(control(PING, 0, f.payload));
    else if (f.type === GOAWAY) finish();
    else if (f.type === RST_STREAM && (f.payload.readUInt32BE(0) & 0x7fffffff) === streams.error) finish();
  };
  const consume = () => {
    while (buf.length >= 8) {
      const length = buf.readUInt32BE(4) & 0xffffff;
      if (buf.length < 8 + length) break;
      const control = (buf[0] & 0x80) !== 0;
      const f = { control, type: control ? buf.readUInt16BE(2) : 0, streamId: control ? 0 : buf.readUInt32BE(0) & 0x7fffffff, flags: buf[4], payload: buf.subarray(8, 8 + length) };
      buf = buf.subarray(8 + length);
      chain = chain.then(() => onFrame(f)).catch((err) => {
        log(`SPDY exec failed: ${err.message}`);
        socket.destroy();
      });
    }
  };
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    consume();
  });
  socket.on('end', finish);
  socket.on('close', finish);
  socket.on('error', () => {});
  consume();
}

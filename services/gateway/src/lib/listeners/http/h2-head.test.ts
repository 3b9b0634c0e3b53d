import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { h1RequestHead, h2ResponseHeaders } from './h2-head.js';

describe('HTTP/2 heads to HTTP/1.1 and back', () => {
  it('turns :authority into Host, drops pseudo-fields and joins cookies', () => {
    const h = h1RequestHead([':method', 'GET', ':path', '/a', ':scheme', 'https', ':authority', 'gw:8443', 'cookie', 'a=1', 'accept', '*/*', 'cookie', 'b=2']);
    assert.deepEqual(h.rawHeaders, ['host', 'gw:8443', 'accept', '*/*', 'cookie', 'a=1; b=2']);
    assert.equal(h.authority, 'gw:8443');
    assert.equal(h.problem, undefined);
    // RFC 9113 §6.5.2: name + value + 32 per field, pseudo-fields included.
    assert.equal(h.listBytes, [':method', 'GET', ':path', '/a', ':scheme', 'https', ':authority', 'gw:8443', 'cookie', 'a=1', 'accept', '*/*', 'cookie', 'b=2'].join('').length + 7 * 32);
  });

  it('keeps a Host that agrees with :authority and refuses one that does not', () => {
    assert.deepEqual(h1RequestHead([':authority', 'GW:1', 'host', 'gw:1']).rawHeaders, ['host', 'gw:1']);
    assert.match(h1RequestHead([':authority', 'gw:1', 'host', 'evil']).problem ?? '', /differs from :authority/);
    assert.match(h1RequestHead([':authority', 'gw:1', 'host', 'gw:1', 'host', 'gw:1']).problem ?? '', /more than one Host/);
    assert.match(h1RequestHead([':method', 'GET', ':path', '/']).problem ?? '', /neither :authority nor Host/);
    assert.equal(h1RequestHead(['host', 'only-host']).authority, 'only-host');
  });

  it('drops connection-specific response fields and those Connection names', () => {
    const flat = ['Content-Type', 'text/plain', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'TE', 'trailers', 'Proxy-Connection', 'close', 'Set-Cookie', 'a', 'Set-Cookie', 'b'];
    assert.deepEqual(h2ResponseHeaders(flat), [['Content-Type', 'text/plain'], ['Set-Cookie', 'a'], ['Set-Cookie', 'b']]);
    assert.deepEqual(h2ResponseHeaders([['Connection', 'close'], ['Content-Length', '3']]), [['Content-Length', '3']]);
    assert.deepEqual(h2ResponseHeaders({ 'content-length': 3, connection: 'close', 'set-cookie': ['a', 'b'] }), [['content-length', 3], ['set-cookie', ['a', 'b']]]);
  });
});

import { createRequire } from 'node:module';

/**
 * kafkajs checksums every record batch it produces with CRC-32C written in JavaScript, a table
 * look-up per byte (~240 MB/s here): on a bulk result that is a second of gateway CPU per 300 MB.
 * Before kafkajs is first loaded, this hands its record-batch encoder the same function backed by
 * the processor's CRC32 instruction (@node-rs/crc32), after checking that both agree on the
 * standard check value and on random data. If the native module is missing or disagrees, kafkajs
 * keeps its own: a slower gateway, never a wrong checksum.
 *
 * It works on the CommonJS module cache, so it must run before anything requires kafkajs: the
 * gateway's entry module imports it first.
 * @see https://datatracker.ietf.org/doc/html/rfc3720#appendix-B.4 (CRC-32C check value 0xE3069283)
 */
const require = createRequire(import.meta.url);

type Crc = (b: Buffer) => number;

function install(): 'native' | 'javascript' {
  let slowPath: string;
  let nativeCrc: (input: Buffer, initial?: number) => number;
  try {
    const kafkajsDir = require.resolve('kafkajs/package.json').replace(/package\.json$/, '');
    slowPath = require.resolve(`${kafkajsDir}src/protocol/recordBatch/crc32C/index.js`);
    nativeCrc = (require('@node-rs/crc32') as { crc32c: (input: Buffer, initial?: number) => number }).crc32c;
  } catch {
    return 'javascript';
  }
  const cached = require.cache[slowPath];
  if ((cached?.exports as { native?: boolean } | undefined)?.native) return 'native';
  // Too late once the record batch encoder is loaded: it holds the function it required.
  if (require.cache[slowPath.replace(/crc32C[/\\]index\.js$/, 'v0/index.js')]) return 'javascript';
  const slow = require(slowPath) as Crc;
  const fast: Crc & { native?: boolean } = (b) => nativeCrc(b) >>> 0;
  const sample = Buffer.alloc(4099);
  for (let i = 0; i < sample.length; i++) sample[i] = (i * 2654435761) >>> 24;
  if (fast(Buffer.from('123456789')) !== 0xe3069283 || fast(sample) !== slow(sample) || fast(Buffer.alloc(0)) !== slow(Buffer.alloc(0))) return 'javascript';
  fast.native = true;
  // The record batch encoder requires this module once, when kafkajs loads: from then on it
  // calls whatever this entry exports.
  require.cache[slowPath]!.exports = fast;
  return 'native';
}

/** Which CRC-32C kafkajs uses for the batches this process produces. */
export const kafkaCrc32c: 'native' | 'javascript' = install();

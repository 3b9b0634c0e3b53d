import { createRequire } from 'node:module';

/**
 * kafkajs' Encoder grows its buffer with Buffer.alloc, which zero-fills every new buffer. A bulk
 * produce request is built in nested encoders (each record, its record batch, the request), each
 * doubling its way up to the size of what it holds, so megabytes are zeroed only to be
 * overwritten: ~8% of a node's CPU under pg_dump. Every byte below an encoder's offset is written
 * before the offset moves past it, and only [0, offset) is ever read (`buffer` slices there), so
 * growing with Buffer.allocUnsafe changes no byte of any request. Installed on the prototype, and
 * only after an encoding made both ways came out identical; otherwise kafkajs keeps its own.
 */
const require = createRequire(import.meta.url);

interface EncoderInstance {
  buf: Buffer;
  offset: number;
  writeInt32(v: number): EncoderInstance;
  writeBytes(b: Buffer): EncoderInstance;
  writeEncoder(e: EncoderInstance): EncoderInstance;
  readonly buffer: Buffer;
}
interface EncoderClass {
  new (initialSize?: number): EncoderInstance;
  nextPowerOfTwo(n: number): number;
  prototype: EncoderInstance & { ensureAvailable: ((this: EncoderInstance, length: number) => void) & { unsafe?: boolean } };
}

function sample(Encoder: EncoderClass): Buffer {
  const inner = new Encoder();
  for (let i = 0; i < 40; i++) inner.writeInt32(i).writeBytes(Buffer.alloc(700 * i, i));
  return new Encoder().writeInt32(7).writeEncoder(inner).buffer;
}

function install(): 'unsafe' | 'zeroed' {
  let Encoder: EncoderClass;
  try {
    const dir = require.resolve('kafkajs/package.json').replace(/package\.json$/, '');
    Encoder = require(`${dir}src/protocol/encoder.js`) as EncoderClass;
  } catch {
    return 'zeroed';
  }
  const original = Encoder.prototype.ensureAvailable;
  if (original.unsafe) return 'unsafe';
  if (typeof original !== 'function' || typeof Encoder.nextPowerOfTwo !== 'function') return 'zeroed';
  const before = sample(Encoder);
  const grow: typeof original = function (this: EncoderInstance, length: number): void {
    if (this.offset + length > this.buf.length) {
      const next = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(this.offset + length));
      this.buf.copy(next, 0, 0, this.offset);
      this.buf = next;
    }
  };
  grow.unsafe = true;
  Encoder.prototype.ensureAvailable = grow;
  if (!sample(Encoder).equals(before)) {
    Encoder.prototype.ensureAvailable = original;
    return 'zeroed';
  }
  return 'unsafe';
}

/** How kafkajs' encoders grow in this process: without zero-filling ('unsafe') or kafkajs' own way. */
export const kafkaEncoderGrowth: 'unsafe' | 'zeroed' = install();

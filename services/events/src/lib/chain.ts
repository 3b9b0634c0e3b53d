import { createHash, createPrivateKey, createPublicKey, hash, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { encodeEventBody } from './codec.js';
import type { EventBody, SessionEvent } from './types.js';

export const ZERO_HASH: Buffer = Buffer.alloc(32);

/**
 * hash = SHA-256(prev_hash ‖ canonical Avro bytes of the event) (services/README.md, "Events"). One-shot
 * for small events: a Hash object costs more than copying them behind the previous hash.
 */
export function chainHash(prevHash: Uint8Array, avroBody: Uint8Array): Buffer {
  if (avroBody.length > ONE_SHOT_MAX) return createHash('sha256').update(prevHash).update(avroBody).digest();
  return hash('sha256', Buffer.concat([prevHash, avroBody]), 'buffer');
}

/** Above this, copying the event behind the previous hash costs more than a Hash object. */
const ONE_SHOT_MAX = 4096;

export interface ChainedEvent {
  event: SessionEvent;
  /** Canonical Avro binary of the event. */
  body: Buffer;
  hash: Buffer;
}

/**
 * The per-session sequence and hash chain. One instance per session; `append` is
 * synchronous so the order events are appended in is the order they are chained in.
 */
export class SessionChain {
  private nextSeq = 0;
  private head: Buffer = ZERO_HASH;

  constructor(
    readonly sessionId: string,
    readonly nodeId: string,
    private readonly now: () => number = nowMicros,
  ) {}

  get seq(): number {
    return this.nextSeq;
  }

  get headHash(): Buffer {
    return this.head;
  }

  append(body: EventBody): ChainedEvent {
    const event: SessionEvent = {
      sessionId: this.sessionId,
      seq: this.nextSeq++,
      tsMicros: this.now(),
      nodeId: this.nodeId,
      prevHash: this.head,
      body,
    };
    const avroBody = encodeEventBody(event);
    this.head = chainHash(this.head, avroBody);
    return { event, body: avroBody, hash: this.head };
  }
}

let lastMicros = 0;
/** Wall-clock microseconds, strictly increasing within this process. */
export function nowMicros(): number {
  const t = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  lastMicros = t > lastMicros ? t : lastMicros + 1;
  return lastMicros;
}

function sealMessage(sessionId: string, seq: number, finalHash: Buffer): Buffer {
  const s = Buffer.alloc(8);
  s.writeBigUInt64BE(BigInt(seq));
  return Buffer.concat([Buffer.from('chaperone-seal-v1\0'), Buffer.from(sessionId), Buffer.from([0]), s, finalHash]);
}

/** Ed25519 signature over the session's final hash (the seal on SessionEnded). */
export function signSeal(key: KeyObject, sessionId: string, seq: number, finalHash: Buffer): Buffer {
  return sign(null, sealMessage(sessionId, seq, finalHash), key);
}

export function verifySeal(key: KeyObject, sessionId: string, seq: number, finalHash: Buffer, signature: Buffer): boolean {
  try {
    return verify(null, sealMessage(sessionId, seq, finalHash), key, signature);
  } catch {
    return false;
  }
}

export function loadPrivateKey(file: string): KeyObject {
  return createPrivateKey(readFileSync(file));
}

/** Loads a public key from a PEM file holding either the public or the private key. */
export function loadPublicKey(file: string): KeyObject {
  return createPublicKey(readFileSync(file));
}

import { sign, verify, type KeyObject } from 'node:crypto';

/**
 * The materializer's seal on a session that never ended: Ed25519 over
 * `'chaperone-incomplete-v1\0' ‖ session_id ‖ 0x00 ‖ last_seq (u64 BE) ‖ head_hash`. A different
 * domain string from the gateway's `chaperone-seal-v1`, so neither signature can pass for the
 * other even when both are made with the same key.
 */
function message(sessionId: string, lastSeq: number, headHash: Buffer): Buffer {
  const seq = Buffer.alloc(8);
  seq.writeBigUInt64BE(BigInt(lastSeq));
  return Buffer.concat([Buffer.from('chaperone-incomplete-v1\0'), Buffer.from(sessionId), Buffer.from([0]), seq, headHash]);
}

export function signIncompleteSeal(key: KeyObject, sessionId: string, lastSeq: number, headHash: Buffer): Buffer {
  return sign(null, message(sessionId, lastSeq, headHash), key);
}

export function verifyIncompleteSeal(key: KeyObject, sessionId: string, lastSeq: number, headHash: Buffer, signature: Buffer): boolean {
  try {
    return verify(null, message(sessionId, lastSeq, headHash), key, signature);
  } catch {
    return false;
  }
}

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { avroDir } from '@chaperone/schemas';
import { rabinFingerprint } from './fingerprint.js';

/** The schema this build writes events with: schemas/avro/session-event.avsc. */
export const CURRENT_SCHEMA_FILE = 'session-event.avsc';
/** The schema of a Kafka record's value: one publish of one session (schemas/avro/session-event-batch.avsc). */
export const BATCH_SCHEMA_FILE = 'session-event-batch.avsc';

function load(file: string): avro.Type {
  return avro.Type.forSchema(JSON.parse(readFileSync(file, 'utf8')) as avro.Schema, { wrapUnions: 'auto' });
}

const fingerprintOf = (type: avro.Type): Buffer => rabinFingerprint(JSON.stringify(type.schema()));

export interface KnownSchema {
  type: avro.Type;
  fingerprint: Buffer;
  /** Reads data written with this schema as the current schema. */
  resolver: avro.Resolver | undefined;
}

export const writerType: avro.Type = load(join(avroDir, CURRENT_SCHEMA_FILE));
export const writerFingerprint: Buffer = fingerprintOf(writerType);
export const batchType: avro.Type = load(join(avroDir, BATCH_SCHEMA_FILE));
export const batchFingerprint: Buffer = fingerprintOf(batchType);

/**
 * Every event schema a reader may meet, by fingerprint (hex), newest first: the current one and
 * the earlier versions kept in schemas/avro/history/, so old events stay readable without a
 * registry.
 */
export const knownSchemas: Map<string, KnownSchema> = (() => {
  const m = new Map<string, KnownSchema>();
  m.set(writerFingerprint.toString('hex'), { type: writerType, fingerprint: writerFingerprint, resolver: undefined });
  let history: string[] = [];
  try {
    history = readdirSync(join(avroDir, 'history')).filter((f) => f.endsWith('.avsc'));
  } catch {
    // no history yet
  }
  for (const f of history.sort().reverse()) {
    const type = load(join(avroDir, 'history', f));
    const fingerprint = fingerprintOf(type);
    if (!m.has(fingerprint.toString('hex')))
      m.set(fingerprint.toString('hex'), { type, fingerprint, resolver: writerType.createResolver(type) });
  }
  return m;
})();

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { avroDir } from '@chaperone/schemas';
import { rabinFingerprint } from './fingerprint.js';

/** The schema this build writes with: schemas/avro/session-event.avsc. */
export const CURRENT_SCHEMA_FILE = 'session-event.avsc';

function load(file: string): avro.Type {
  return avro.Type.forSchema(JSON.parse(readFileSync(file, 'utf8')) as avro.Schema, { wrapUnions: 'auto' });
}

export interface KnownSchema {
  type: avro.Type;
  fingerprint: Buffer;
  /** Reads data written with this schema as the current schema. */
  resolver: avro.Resolver | undefined;
}

export const writerType: avro.Type = load(join(avroDir, CURRENT_SCHEMA_FILE));
export const writerFingerprint: Buffer = rabinFingerprint(JSON.stringify(writerType.schema()));

/**
 * Every schema a reader may meet, by fingerprint (hex): the current one and the earlier
 * versions kept in schemas/avro/history/, so old events stay readable without a registry.
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
  for (const f of history) {
    const type = load(join(avroDir, 'history', f));
    const fingerprint = rabinFingerprint(JSON.stringify(type.schema()));
    if (!m.has(fingerprint.toString('hex')))
      m.set(fingerprint.toString('hex'), { type, fingerprint, resolver: writerType.createResolver(type) });
  }
  return m;
})();

// Absolute locations of the schema folders, so code finds them from src/ and dist/ alike.
import { fileURLToPath } from 'node:url';
export const avroDir = fileURLToPath(new URL('./avro/', import.meta.url));
export const protoDir = fileURLToPath(new URL('./proto/', import.meta.url));
export const clickhouseDir = fileURLToPath(new URL('./clickhouse/', import.meta.url));

/** Absolute path of `schemas/avro/` (ends with a slash). */
export declare const avroDir: string;
/** Absolute path of `schemas/proto/` (ends with a slash). */
export declare const protoDir: string;
/** Absolute path of `schemas/clickhouse/` (ends with a slash). */
export declare const clickhouseDir: string;

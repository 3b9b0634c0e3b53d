-- Recording store, fourth version: `events` rebuilt with index_granularity = 64, and the bytes of
-- each event as a column, so a range read of a big session costs its range and not the session.
-- Same rules as 001–003: portable to ClickHouse 18.16 and chdb, applied once, never edited.
--
-- Why. ClickHouse reads whole granules: 8192 rows (001's default; 18.16 has no adaptive
-- granularity). Since events v2 a bulk result is a few hundred Frame rows of ~1.5 MB (a ~768 KiB
-- write in `payload`, again in `avro`), so one granule holds whole big sessions, and every page of
-- a replay read all of them: ~1 s a page for one 300 MB session, and past 18.16's max_memory_usage
-- (2 GB on the local stack) when two such sessions share a granule — then replay fails outright.
-- With 64 rows a granule of bulk frames is ~100 MB; the primary index stays ~0.4 byte and the
-- marks ~6 bytes per row (16: 1.5 and 24, too much for billions of small events). README.md has
-- the measurements.
--
-- How. A new table is filled from the old one and takes its name. migrate() runs one statement at a
-- time and records each (schema_migration_steps), so a run cut off half-way resumes at the
-- statement it stopped at; that statement alone runs twice, and each below may.
--
-- The copy never uses FINAL: every stored row is copied, a redelivered or forged copy next to the
-- genuine one included, so `chaperone verify` finds after the migration what it found before.
-- Materializers of other processes may go on writing while this runs (a rolling upgrade): the
-- mirror view writes every insert into `events` to the new table too, until the swap.

-- The new table: 001's columns, 002's and 003's with their defaults, and event_bytes.
CREATE TABLE IF NOT EXISTS events_004
(
    session_id      String,
    seq             UInt64        COMMENT 'per-session sequence number, from 0',
    ts              DateTime      COMMENT 'event time, whole seconds (UTC)',
    ts_micros       UInt64        COMMENT 'event time, microseconds since the epoch',
    event_date      Date,
    node_id         String        COMMENT 'gateway node that recorded the event',
    type            String        COMMENT 'SessionStarted, Frame, Command, Decision, ApprovalRequested, ApprovalResolved, SessionEnded',
    direction       String        COMMENT 'Frame: CLIENT_TO_SERVER or SERVER_TO_CLIENT, empty otherwise',
    message_type    String        COMMENT 'Frame: protocol message name (Query, DataRow, …), empty otherwise',
    command_id      UInt64        COMMENT 'Command, Decision, Approval*: ordinal of the command in its session (from 1), 0 otherwise',
    payload         String        COMMENT 'Frame: the protocol message as forwarded (raw bytes, read with hex(payload))',
    redacted        UInt8         COMMENT 'Frame: 1 when payload is a redaction marker',
    avro            String        COMMENT 'canonical Avro binary of the event (raw bytes)',
    hash            String        COMMENT 'hex SHA-256(prev_hash || avro)',
    prev_hash       String        COMMENT 'hex hash of the previous event (64 zeros for seq 0)',
    mask_detectors  Array(String) DEFAULT emptyArrayString() COMMENT 'Frame: detector of each masking note',
    mask_locations  Array(String) DEFAULT emptyArrayString() COMMENT 'Frame: where each note masked, parallel to mask_detectors',
    masked          UInt64        DEFAULT 0 COMMENT 'Frame: values masked (sum of the notes counts)',
    message_types   Array(String) DEFAULT if(type = 'Frame', [message_type], emptyArrayString()) COMMENT 'Frame: protocol message names in payload, in order',
    message_offsets Array(UInt64) DEFAULT if(type = 'Frame', [toUInt64(0)], emptyArrayUInt64()) COMMENT 'Frame: where each message of message_types starts in payload (0-based)',
    -- Computed by the server on every insert (the store never writes it): what reading the event
    -- returns, so the store sizes replay pages from this column alone (length() of payload reads
    -- payload itself — as much as reading the events). DEFAULT, not MATERIALIZED: 18.16 writes no
    -- MATERIALIZED column through a materialized view, and chdb accepts none from one.
    event_bytes     UInt64        DEFAULT length(payload) + length(avro) COMMENT 'bytes of payload and avro (replay pages are sized by it)'
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_date)
ORDER BY (session_id, seq)
SETTINGS index_granularity = 64;

-- From now until the swap every insert into `events` lands in the new table as well (with
-- event_bytes: 18.16 fills no default of a view's target).
CREATE MATERIALIZED VIEW IF NOT EXISTS events_004_mirror TO events_004 AS
SELECT session_id, seq, ts, ts_micros, event_date, node_id, type, direction, message_type, command_id, payload, redacted, avro, hash,
       prev_hash, mask_detectors, mask_locations, masked, message_types, message_offsets, length(payload) + length(avro) AS event_bytes
FROM events;

-- Waits for the inserts into `events` that began before the mirror existed (a metadata ALTER waits
-- for every insert in flight on 18.16), so the copy below sees their rows. Sets the comment 001 set.
ALTER TABLE events COMMENT COLUMN seq 'per-session sequence number, from 0';

-- The rows stored so far. Small blocks, one thread: 18.16 otherwise reads at least a whole old
-- granule (8192 rows, GBs of frames) at once and fails on max_memory_usage; like this a block is
-- at most 64 rows (~100 MB of frames). Run again, it copies again: the copies collapse (FINAL).
INSERT INTO events_004 (session_id, seq, ts, ts_micros, event_date, node_id, type, direction, message_type, command_id, payload, redacted, avro,
                        hash, prev_hash, mask_detectors, mask_locations, masked, message_types, message_offsets)
SELECT session_id, seq, ts, ts_micros, event_date, node_id, type, direction, message_type, command_id, payload, redacted, avro, hash,
       prev_hash, mask_detectors, mask_locations, masked, message_types, message_offsets
FROM events
SETTINGS max_threads = 1, max_block_size = 64, preferred_block_size_bytes = 0, min_insert_block_size_bytes = 67108864;

-- The swap. The first RENAME waits for inserts in flight (18.16) and then takes `events` away from
-- writers; for the few milliseconds until the second one their inserts fail and are retried.
-- The mirror goes in between, so nothing ever inserts through it into a renamed table.
RENAME TABLE events TO events_003;
DROP TABLE IF EXISTS events_004_mirror;
RENAME TABLE events_004 TO events;

-- Refuses to go on (throwIf) unless `events` is the new table (it has event_bytes) and events_003
-- is not: the old table is dropped only once the swap is certain.
SELECT throwIf(
    (SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = 'events' AND name = 'event_bytes') != 1
    OR (SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = 'events_003' AND name = 'event_bytes') != 0
);

DROP TABLE IF EXISTS events_003;

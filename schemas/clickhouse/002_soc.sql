-- Recording store, second version: what a SOC asks most, answerable without scanning every
-- command, masking notes as columns, and the materializer's seals of sessions that never ended.
-- Same rules as 001: portable to ClickHouse 18.16 and chdb, applied once, never edited.
-- 18.16 has no `ADD COLUMN IF NOT EXISTS`; migrate() treats "column already exists" on an
-- ADD COLUMN as applied, so a migration cut off half-way can be run again.

-- Masking notes of a Frame (the Avro's `masks`), queryable: which detectors fired, where, and
-- how many values they replaced. Projections of `avro` like every other column.
ALTER TABLE events ADD COLUMN mask_detectors Array(String) DEFAULT emptyArrayString() COMMENT 'Frame: detector of each masking note';
ALTER TABLE events ADD COLUMN mask_locations Array(String) DEFAULT emptyArrayString() COMMENT 'Frame: where each note masked, parallel to mask_detectors';
ALTER TABLE events ADD COLUMN masked UInt64 DEFAULT 0 COMMENT 'Frame: values masked (sum of the notes counts)';

-- The second access path: "everything this identity did on this connection over time". The
-- same rows as `commands` (ReplacingMergeTree on the same version), sorted by who and when, so
-- a subject's history reads a contiguous range instead of every session's commands.
CREATE TABLE IF NOT EXISTS commands_by_subject
(
    subject          String,
    connection       String,
    ts               DateTime,
    ts_micros        UInt64,
    event_date       Date,
    session_id       String,
    command_id       UInt64,
    protocol         String,
    action           String,
    targets          Array(String),
    text             String,
    decision         String,
    reasons          Array(String),
    approval_id      String,
    approval_outcome String,
    version          UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(event_date)
ORDER BY (subject, connection, ts_micros, session_id, command_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS commands_by_subject_mv TO commands_by_subject AS
SELECT subject, connection, ts, ts_micros, event_date, session_id, command_id, protocol, action, targets, text,
       decision, reasons, approval_id, approval_outcome, version
FROM commands;

-- Per day, identity, connection and protocol: commands, denials, approvals and sessions.
-- Counted as distinct (session_id, command_id), so the same command written twice (a
-- redelivery, or its row written again when its decision arrives) still counts once: the
-- aggregate is exactly-once although its input is at-least-once. Read it through the view
-- below, or with uniqExactMerge/uniqExactIfMerge.
CREATE TABLE IF NOT EXISTS commands_daily
(
    event_date  Date,
    subject     String,
    connection  String,
    protocol    String,
    commands    AggregateFunction(uniqExact, String, UInt64),
    denied      AggregateFunction(uniqExactIf, String, UInt64, UInt8),
    approvals   AggregateFunction(uniqExactIf, String, UInt64, UInt8),
    sessions    AggregateFunction(uniqExact, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(event_date)
ORDER BY (event_date, subject, connection, protocol);

CREATE MATERIALIZED VIEW IF NOT EXISTS commands_daily_mv TO commands_daily AS
SELECT event_date, subject, connection, protocol,
       uniqExactState(session_id, command_id) AS commands,
       uniqExactIfState(session_id, command_id, decision = 'DENY') AS denied,
       uniqExactIfState(session_id, command_id, approval_id != '') AS approvals,
       uniqExactState(session_id) AS sessions
FROM commands
GROUP BY event_date, subject, connection, protocol;

CREATE VIEW IF NOT EXISTS commands_per_day AS
SELECT event_date, subject, connection, protocol,
       uniqExactMerge(commands) AS commands,
       uniqExactIfMerge(denied) AS denied,
       uniqExactIfMerge(approvals) AS approvals,
       uniqExactMerge(sessions) AS sessions
FROM commands_daily
GROUP BY event_date, subject, connection, protocol;

-- Rows recorded before this migration, once (both targets collapse whatever is written twice).
INSERT INTO commands_by_subject
SELECT subject, connection, ts, ts_micros, event_date, session_id, command_id, protocol, action, targets, text,
       decision, reasons, approval_id, approval_outcome, version
FROM commands;

INSERT INTO commands_daily
SELECT event_date, subject, connection, protocol,
       uniqExactState(session_id, command_id),
       uniqExactIfState(session_id, command_id, decision = 'DENY'),
       uniqExactIfState(session_id, command_id, approval_id != ''),
       uniqExactState(session_id)
FROM commands
GROUP BY event_date, subject, connection, protocol;

-- Sessions that never ended (a gateway crash, a lost SessionEnded) sealed by the materializer
-- after materializer.idleTimeout without events. The events chain is the gateway's and cannot be
-- extended, so the seal lives here: what the materializer saw (last seq and the hash at it),
-- signed with its own key over `chaperone-incomplete-v1`. `chaperone verify` reports such a
-- session `incomplete` and uses the seal to catch events deleted from its tail.
CREATE TABLE IF NOT EXISTS session_seals
(
    session_id        String,
    last_seq          UInt64           COMMENT 'seq of the last event the materializer had stored',
    head_hash         String           COMMENT 'hex hash of that event',
    last_event_micros UInt64           COMMENT 'time of that event',
    sealed_at         DateTime,
    sealed_micros     UInt64,
    sealed_by         String           COMMENT 'materializer that sealed (its key: recording.trustedNodeKeys)',
    reason            String           COMMENT 'idle-timeout',
    signature         String           COMMENT 'hex Ed25519 signature (signIncompleteSeal in @chaperone/store)'
)
ENGINE = ReplacingMergeTree(sealed_micros)
ORDER BY session_id;

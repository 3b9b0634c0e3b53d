-- Recording store, first version. Applied by `migrate()` in @chaperone/store, one statement at a
-- time (the HTTP interface takes one statement per request), inside the configured database.
-- Written for the oldest server we run, Debian's ClickHouse 18.16: no LowCardinality, no
-- DateTime64, no query parameters; timestamps are DateTime (seconds, UTC) plus a UInt64 column in
-- microseconds. Redelivered Kafka messages insert the same rows again: every table is a
-- ReplacingMergeTree whose sorting key is the identity of a row, so `FINAL` (or GROUP BY with
-- argMax) shows each row once. Never edit an applied file; add 002_….sql instead.

-- Every event of every session, in chain order. `avro` is the canonical Avro binary the hash
-- chain covers, so `chaperone verify` can recompute the chain from this table alone.
CREATE TABLE IF NOT EXISTS events
(
    session_id   String,
    seq          UInt64               COMMENT 'per-session sequence number, from 0',
    ts           DateTime             COMMENT 'event time, whole seconds (UTC)',
    ts_micros    UInt64               COMMENT 'event time, microseconds since the epoch',
    event_date   Date,
    node_id      String               COMMENT 'gateway node that recorded the event',
    type         String               COMMENT 'SessionStarted, Frame, Command, Decision, ApprovalRequested, ApprovalResolved, SessionEnded',
    direction    String               COMMENT 'Frame: CLIENT_TO_SERVER or SERVER_TO_CLIENT, empty otherwise',
    message_type String               COMMENT 'Frame: protocol message name (Query, DataRow, …), empty otherwise',
    command_id   UInt64               COMMENT 'Command, Decision, Approval*: ordinal of the command in its session (from 1), 0 otherwise',
    payload      String               COMMENT 'Frame: the protocol message as forwarded (raw bytes, read with hex(payload))',
    redacted     UInt8                COMMENT 'Frame: 1 when payload is a redaction marker',
    avro         String               COMMENT 'canonical Avro binary of the event (raw bytes)',
    hash         String               COMMENT 'hex SHA-256(prev_hash || avro)',
    prev_hash    String               COMMENT 'hex hash of the previous event (64 zeros for seq 0)'
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_date)
ORDER BY (session_id, seq);

-- One row per command, joined with its decision and approval as those events arrive (the
-- version column is the seq of the last event folded in, so the most complete row wins).
CREATE TABLE IF NOT EXISTS commands
(
    session_id       String,
    command_id       UInt64,
    seq              UInt64           COMMENT 'seq of the Command event',
    ts               DateTime,
    ts_micros        UInt64,
    event_date       Date,
    subject          String           COMMENT 'identity of the session (token sub)',
    connection       String,
    protocol         String,
    action           String           COMMENT 'SELECT, DELETE, git.push, …',
    targets          Array(String),
    text             String           COMMENT 'exact command text',
    text_sha256      String,
    details          String           COMMENT 'protocol-specific parse (JSON)',
    decision         String           COMMENT 'ALLOW, DENY, APPROVAL, MASK, empty until decided',
    reasons          Array(String),
    policy_revision  String,
    eval_micros      UInt64,
    decision_seq     UInt64,
    approval_id      String,
    approval_outcome String           COMMENT 'APPROVED, DENIED, EXPIRED, REUSED, empty when none',
    approvers        Array(String),
    version          UInt64           COMMENT 'seq of the newest event folded into this row'
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(event_date)
ORDER BY (session_id, command_id);

-- One row per session: SessionStarted inserts it, SessionEnded replaces it (higher version).
CREATE TABLE IF NOT EXISTS sessions
(
    session_id      String,
    subject         String,
    issuer          String,
    groups          Array(String),
    token_id        String,
    connection      String,
    protocol        String,
    client_address  String,
    tls             UInt8,
    attributes      String            COMMENT 'protocol details (JSON): database, application_name, labels',
    node_id         String,
    started_at      DateTime,
    started_micros  UInt64,
    started_date    Date,
    ended_at        Nullable(DateTime) COMMENT 'NULL while the session is open',
    ended_micros    UInt64            COMMENT '0 while the session is open',
    end_reason      String,
    end_error       String,
    frames_in       UInt64,
    frames_out      UInt64,
    bytes_in        UInt64,
    bytes_out       UInt64,
    commands        UInt64,
    denied          UInt64,
    last_seq        UInt64            COMMENT 'seq of the SessionEnded event (0 while open)',
    final_hash      String            COMMENT 'hex hash of the last event before SessionEnded',
    signature       String            COMMENT 'hex Ed25519 seal, empty when not sealed',
    sealed_by       String,
    complete        UInt8             COMMENT '1 when the gateway ended the session normally with every event recorded',
    sealed          UInt8             COMMENT '1 when SessionEnded carries a signature',
    version         UInt64            COMMENT 'seq of the newest event folded into this row'
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_date)
ORDER BY session_id;

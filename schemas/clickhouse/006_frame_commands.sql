-- Recording store, sixth version: which command each recorded frame belongs to (events v3), so
-- "rows returned per command" is a plain GROUP BY, and targets in their schema-qualified form.
-- Same rules as 001–005: portable to ClickHouse 18.16 and chdb, applied once, never edited; an ADD
-- COLUMN that already exists counts as applied, so a run cut off half-way can be run again.

-- One row per frame and command it carries messages of: a frame usually holds one command's
-- result, a pipelined write several. Derived from the Frame's command runs (commandIds,
-- commandStarts) by the materializer, like `commands`; frames recorded before events v3 carry no
-- runs and have no rows here. A redelivered frame writes identical rows (FINAL collapses them).
CREATE TABLE IF NOT EXISTS frame_commands
(
    session_id     String,
    command_id     UInt64        COMMENT 'the command (commands.command_id) the messages belong to, by the protocol''s own order',
    seq            UInt64        COMMENT 'seq of the Frame event in events',
    ts             DateTime,
    ts_micros      UInt64,
    event_date     Date,
    direction      String        COMMENT 'CLIENT_TO_SERVER or SERVER_TO_CLIENT',
    messages       UInt64        COMMENT 'protocol messages of this command in the frame',
    rows_returned  UInt64        COMMENT 'DataRow messages among them: result rows sent to the agent',
    errors         UInt64        COMMENT 'ErrorResponse messages among them',
    bytes          UInt64        COMMENT 'bytes of those messages as forwarded'
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(event_date)
ORDER BY (session_id, command_id, seq);

-- Targets as written and in their qualified form (schema.table for PostgreSQL; the same as
-- written for other protocols), so `orders` and `public.orders` are found as one. Rows stored
-- before this migration read an empty array until their command is written again.
ALTER TABLE commands ADD COLUMN qualified_targets Array(String) DEFAULT emptyArrayString() COMMENT 'targets qualified: schema.table (search_path the session set, else public); as written for other protocols';

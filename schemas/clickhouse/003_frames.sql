-- Recording store, third version: events v2. A Frame event is now one forwarded write — one or
-- several protocol messages of one direction (RowDescription, the DataRows, CommandComplete and
-- ReadyForQuery of a statement in one event) — so `events` has a row per write, not per message.
-- Same rules as 001 and 002: portable to ClickHouse 18.16 and chdb, applied once, never edited.

-- The messages inside a Frame, projections of `avro` like every other column: the name of each
-- message in order, and where each starts in `payload`. A v1 event (one message) projects to
-- [message_type] and [0]. The defaults are that same projection, so rows stored before this
-- migration (all v1 events) read as what their Avro says without being rewritten.
ALTER TABLE events ADD COLUMN message_types Array(String) DEFAULT if(type = 'Frame', [message_type], emptyArrayString()) COMMENT 'Frame: protocol message names in payload, in order';
ALTER TABLE events ADD COLUMN message_offsets Array(UInt64) DEFAULT if(type = 'Frame', [toUInt64(0)], emptyArrayUInt64()) COMMENT 'Frame: where each message of message_types starts in payload (0-based)';

-- One row per protocol message, derived at query time (off the materializer's hot path), each
-- event once (FINAL). idx is the message's 1-based position in its frame, offset its start in the
-- frame, payload its bytes only. A frame with empty message_types (not written by this store)
-- counts as one message, as the Avro reader does. On 18.16 a WHERE on the view is applied after
-- it read every frame (no predicate push-down there): for one session, filter `events` and
-- ARRAY JOIN there (README.md shows how).
CREATE VIEW IF NOT EXISTS frame_messages AS
SELECT session_id, seq, idx, ts, ts_micros, event_date, node_id, direction,
       types[idx] AS message_type,
       starts[idx] AS offset,
       substring(frame, offset + 1, if(idx < length(starts), starts[idx + 1], length(frame)) - offset) AS payload
FROM
(
    SELECT session_id, seq, ts, ts_micros, event_date, node_id, direction, payload AS frame,
           if(empty(message_types), [message_type], message_types) AS types,
           if(empty(message_types), [toUInt64(0)], message_offsets) AS starts
    FROM events FINAL
    WHERE type = 'Frame'
)
ARRAY JOIN arrayEnumerate(types) AS idx;

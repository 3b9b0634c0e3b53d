-- Recording store, fifth version: who decided a command, why and when, in columns of `commands`
-- (so "who approved what and why" needs no event scan). Projections of the Decision and
-- Approval* events folded into the row, like the columns before them. Same rules as 001–004:
-- portable to ClickHouse 18.16 and chdb, applied once, never edited; an ADD COLUMN that already
-- exists counts as applied, so a run cut off half-way can be run again. Rows stored before this
-- migration read the defaults (0, '') until their command is written again.
ALTER TABLE commands ADD COLUMN decided_micros UInt64 DEFAULT 0 COMMENT 'when the policy decided (the Decision event), microseconds since the epoch; 0 until decided';
ALTER TABLE commands ADD COLUMN approval_requested_micros UInt64 DEFAULT 0 COMMENT 'when approval was asked (ApprovalRequested), 0 when none';
ALTER TABLE commands ADD COLUMN approval_resolved_micros UInt64 DEFAULT 0 COMMENT 'when the approval was answered (ApprovalResolved), 0 while pending or when none';
ALTER TABLE commands ADD COLUMN approval_reason String DEFAULT '' COMMENT 'the reason the approver gave (a denial requires one), empty when none';

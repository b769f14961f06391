-- The trunk a call came in or went out through, and the caller's number as
-- the trunk sent it (calls.caller is normalised: +86 stripped, the area
-- code added to local numbers). Live calls per trunk are counted against
-- the trunk's limit.
ALTER TABLE calls
    ADD COLUMN trunk      text,
    ADD COLUMN caller_raw text;
CREATE INDEX calls_trunk_live ON calls (trunk) WHERE ended_at IS NULL;

-- Outbox delivery (core/outbox): a dispatcher claims undelivered rows whose
-- next attempt is due with FOR UPDATE SKIP LOCKED, runs the topic's handler
-- in the claiming transaction and marks the row delivered (processed_at).
-- A handler's failure is counted with its error and retried with backoff;
-- after the last attempt the row is a dead letter (dead_at) until an
-- administrator retries it. Delivered rows are deleted after a retention.
ALTER TABLE outbox
    ADD COLUMN attempts        int NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN last_error      text NOT NULL DEFAULT '',
    ADD COLUMN dead_at         timestamptz;

-- Rows written before delivery existed and older than a week are past the
-- default retention: they are marked delivered as they were written (and
-- pruned at the dispatcher's first pass), not sent as notices now.
UPDATE outbox SET processed_at = created_at
    WHERE processed_at IS NULL AND created_at < now() - interval '7 days';

DROP INDEX outbox_pending;
-- The claim: the oldest undelivered, live rows.
CREATE INDEX outbox_pending ON outbox (id) WHERE processed_at IS NULL AND dead_at IS NULL;
-- Pruning by age.
CREATE INDEX outbox_processed ON outbox (processed_at) WHERE processed_at IS NOT NULL;
-- Dead letters for administrators.
CREATE INDEX outbox_dead ON outbox (id) WHERE dead_at IS NOT NULL;

-- Every statement that adds rows wakes the dispatchers (delivered at
-- commit, once per transaction); they also poll, so a missed wake-up only
-- delays delivery.
CREATE FUNCTION outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hotline_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER outbox_inserted AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_wake();

-- Each user's notices: written by the outbox's notice handler in the
-- delivering transaction; (user_id, outbox_id) is unique, so a row
-- delivered twice (at-least-once) is stored once. outbox_id has no foreign
-- key: delivered outbox rows are pruned, notices stay.
CREATE TABLE notices (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    outbox_id  bigint NOT NULL,
    ticket_id  bigint REFERENCES tickets (id),
    level      text NOT NULL,
    message    text NOT NULL,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    read_at    timestamptz,
    UNIQUE (user_id, outbox_id)
);
CREATE INDEX notices_user ON notices (user_id, id DESC);
CREATE INDEX notices_unread ON notices (user_id, id DESC) WHERE read_at IS NULL;

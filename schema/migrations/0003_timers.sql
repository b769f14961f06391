-- Durable timers: near-due and overdue warnings and supervision notices.
-- A worker on any node claims due rows with FOR UPDATE SKIP LOCKED, so
-- each fires once even with several nodes, and rows due while every node
-- was down fire when one comes back.
CREATE TABLE ticket_timers (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id bigint NOT NULL REFERENCES tickets (id),
    name      text NOT NULL,
    due_at    timestamptz NOT NULL,
    payload   jsonb NOT NULL DEFAULT '{}',
    fired_at  timestamptz
);
CREATE INDEX ticket_timers_due ON ticket_timers (due_at) WHERE fired_at IS NULL;
CREATE INDEX ticket_timers_ticket ON ticket_timers (ticket_id) WHERE fired_at IS NULL;

-- Who answered a call, its stereo recording, and the tickets made from it.
-- A call may give several tickets (a citizen with two matters) and a
-- ticket may gather several calls (the citizen called again): the link is
-- its own table, which replaces calls.ticket_id.
ALTER TABLE calls
    ADD COLUMN agent_id             bigint REFERENCES users (id),
    ADD COLUMN connected_at         timestamptz,
    ADD COLUMN recording_bytes      bigint,
    -- Set when the retention sweep removed the file; the row stays.
    ADD COLUMN recording_deleted_at timestamptz;
CREATE INDEX calls_agent ON calls (agent_id, started_at DESC) WHERE agent_id IS NOT NULL;
CREATE INDEX calls_recorded ON calls (node, ended_at) WHERE recording IS NOT NULL AND recording_deleted_at IS NULL;

CREATE TABLE call_tickets (
    call_id   bigint NOT NULL REFERENCES calls (id),
    ticket_id bigint NOT NULL REFERENCES tickets (id),
    bound_at  timestamptz NOT NULL DEFAULT now(),
    -- The user who bound them, or the intake account for voice messages.
    bound_by  bigint REFERENCES users (id),
    PRIMARY KEY (call_id, ticket_id)
);
CREATE INDEX call_tickets_ticket ON call_tickets (ticket_id);

INSERT INTO call_tickets (call_id, ticket_id, bound_at)
    SELECT id, ticket_id, COALESCE(ended_at, started_at) FROM calls WHERE ticket_id IS NOT NULL;
ALTER TABLE calls DROP COLUMN ticket_id;

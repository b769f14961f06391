-- Tickets and the flow engine's bookkeeping: one event row per action,
-- outbox rows for notices and indexing, links between tickets.

CREATE TABLE ticket_counters (
    day date PRIMARY KEY,
    n   int NOT NULL
);

CREATE TABLE tickets (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number           text NOT NULL UNIQUE,
    flow             text NOT NULL,
    -- The configuration version of the flow the ticket started on; a new
    -- version applies to new tickets only, unless tickets are migrated.
    flow_version     int NOT NULL,
    state            text NOT NULL,
    -- Optimistic lock: every action bumps it; an action naming an older
    -- version is refused with CONFLICT.
    version          int NOT NULL DEFAULT 1,
    holder_unit_id   bigint REFERENCES units (id),
    holder_user_id   bigint REFERENCES users (id),
    -- The holder unit's path (or the creator's unit while unassigned), for
    -- data scopes.
    scope_path       text NOT NULL,
    creator_id       bigint NOT NULL REFERENCES users (id),
    fields           jsonb NOT NULL DEFAULT '{}',
    counts           jsonb NOT NULL DEFAULT '{}',
    deadline         timestamptz,
    -- While the clock is paused, the working days that were left.
    paused_remaining int,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    closed_at        timestamptz
);
CREATE INDEX tickets_scope ON tickets (scope_path text_pattern_ops, id DESC);
CREATE INDEX tickets_state ON tickets (flow, state);
CREATE INDEX tickets_deadline ON tickets (deadline) WHERE closed_at IS NULL;

CREATE TABLE ticket_events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id      bigint NOT NULL REFERENCES tickets (id),
    ticket_version int NOT NULL,
    flow_version   int NOT NULL,
    action         text NOT NULL,
    actor_id       bigint REFERENCES users (id),
    actor          text NOT NULL,
    from_state     text NOT NULL DEFAULT '',
    to_state       text NOT NULL,
    input          jsonb NOT NULL DEFAULT '{}',
    at             timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ticket_id, ticket_version)
);
CREATE TRIGGER ticket_events_append_only BEFORE UPDATE OR DELETE ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

CREATE TABLE ticket_links (
    ticket_id bigint NOT NULL REFERENCES tickets (id),
    other_id  bigint NOT NULL REFERENCES tickets (id),
    relation  text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, other_id, relation)
);

-- Transactional outbox: written in the action's transaction, consumed by
-- notifiers and the search indexer after commit.
CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic        text NOT NULL,
    ticket_id    bigint REFERENCES tickets (id),
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE processed_at IS NULL;

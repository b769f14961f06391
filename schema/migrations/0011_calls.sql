-- Calls (话单): one row per call, and its events in order, from which the
-- 15-second answer rate, abandonment, handling time and service level are
-- computed. A row is written when the call is offered; each later change
-- is one transaction with its event.
CREATE TABLE calls (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sip_call_id text NOT NULL,
    direction   text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    caller      text NOT NULL,
    called      text NOT NULL,
    node        text NOT NULL,
    menu        text,
    lang        text,
    ivr_path    text[] NOT NULL DEFAULT '{}',
    -- How the call left the menu (queue, transfer, voicemail, callback,
    -- hangup) or abandoned / rejected.
    outcome     text,
    queue       text,
    ticket_id   bigint REFERENCES tickets (id),
    recording   text,
    started_at  timestamptz NOT NULL DEFAULT now(),
    answered_at timestamptz,
    ended_at    timestamptz,
    end_reason  text
);
CREATE INDEX calls_started ON calls (started_at DESC);
CREATE INDEX calls_caller ON calls (caller, started_at DESC);
CREATE INDEX calls_live ON calls (node) WHERE ended_at IS NULL;

CREATE TABLE call_events (
    call_id bigint NOT NULL REFERENCES calls (id),
    seq     int NOT NULL,
    at      timestamptz NOT NULL,
    -- offered, answered, key, ivr, queued, transferred, ticket, ended …
    kind    text NOT NULL,
    data    jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (call_id, seq)
);

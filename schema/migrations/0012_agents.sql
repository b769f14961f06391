-- Agents (座席): the users who take tasks, with their extension, SIP
-- credentials for their phones, skills and languages, and one state each.
CREATE TABLE agents (
    user_id    bigint PRIMARY KEY REFERENCES users (id),
    extension  text NOT NULL UNIQUE,
    -- HA1 of SIP digest auth: md5(extension:realm:password); the password
    -- itself is never kept.
    sip_ha1    text NOT NULL,
    skills     jsonb NOT NULL DEFAULT '{}',
    languages  text[] NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The authoritative state of each agent; version guards every change.
CREATE TABLE agent_status (
    user_id bigint PRIMARY KEY REFERENCES agents (user_id),
    state   text NOT NULL,
    reason  text NOT NULL DEFAULT '',
    since   timestamptz NOT NULL,
    -- The task an agent is reserved for or handling.
    task    text NOT NULL DEFAULT '',
    misses  int NOT NULL DEFAULT 0,
    version bigint NOT NULL DEFAULT 0
);

-- Every change of state, with who made it (the agent, a supervisor, the
-- distributor or a timer), written in the same transaction.
CREATE TABLE agent_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES agents (user_id),
    at         timestamptz NOT NULL,
    from_state text NOT NULL,
    to_state   text NOT NULL,
    reason     text NOT NULL DEFAULT '',
    by_user    text NOT NULL,
    task       text NOT NULL DEFAULT ''
);
CREATE INDEX agent_events_user ON agent_events (user_id, at DESC);

-- Where agents' phones are registered (REGISTER), until they expire.
CREATE TABLE sip_bindings (
    extension  text NOT NULL,
    contact    text NOT NULL,
    expires_at timestamptz NOT NULL,
    user_agent text NOT NULL DEFAULT '',
    node       text NOT NULL,
    PRIMARY KEY (extension, contact)
);

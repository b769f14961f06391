-- Co-handling (多分支流转): a lead unit holds the ticket while co-units each
-- hold a branch with its own state and deadline. When the ticket may move
-- on (all branches done, or the lead alone) is a guard in the flow.
CREATE TABLE ticket_branches (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id  bigint NOT NULL REFERENCES tickets (id),
    unit_id    bigint NOT NULL REFERENCES units (id),
    state      text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done')),
    deadline   timestamptz,
    result     jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    done_at    timestamptz
);
CREATE UNIQUE INDEX ticket_branches_open ON ticket_branches (ticket_id, unit_id) WHERE state = 'open';

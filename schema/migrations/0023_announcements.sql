-- Announcements (公告, core/announce): a leader publishes a notice that
-- every addressed user must acknowledge. The audience is resolved into
-- recipients when it is published, in the publishing transaction, so the
-- acknowledged/total count is of the people it was sent to, not of whoever
-- holds a role later. The delivery to each recipient's notice centre goes
-- through the outbox (topic announcement).
CREATE TABLE announcements (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title        text NOT NULL,
    body         text NOT NULL,
    level        text NOT NULL,
    -- The audience as published: {"roles": [...], "units": [...], "users": [...]}.
    audience     jsonb NOT NULL,
    publisher_id bigint NOT NULL REFERENCES users (id),
    -- The publisher's unit path: announcements are listed to publishers
    -- by data scope like every other unit-owned row.
    unit_path    text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz
);
CREATE INDEX announcements_path ON announcements (unit_path text_pattern_ops, id DESC);

CREATE TABLE announcement_recipients (
    announcement_id bigint NOT NULL REFERENCES announcements (id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    acknowledged_at timestamptz,
    PRIMARY KEY (announcement_id, user_id)
);
-- A user's announcements, the unacknowledged ones at once.
CREATE INDEX announcement_recipients_user ON announcement_recipients (user_id, announcement_id DESC);
CREATE INDEX announcement_recipients_open ON announcement_recipients (user_id, announcement_id DESC) WHERE acknowledged_at IS NULL;

-- Login throttling. A failed login is counted three ways, and none of the
-- counters is visible in the answer, which is the same for every failure:
--   users.failed_logins / locked_until   the account, for addresses that
--                                        have not signed in to it before;
--   login_sources                        the account from one address that
--                                        has (its owner's workstation),
--                                        counted and locked on its own, so a
--                                        stranger cannot lock the owner out;
--   login_throttle                       one address over all accounts.
-- source is the client address (an IPv6 address by its /64).
CREATE TABLE login_sources (
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    source          text NOT NULL,
    last_success_at timestamptz,
    failed_logins   int NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    PRIMARY KEY (user_id, source)
);

CREATE TABLE login_throttle (
    source        text PRIMARY KEY,
    window_start  timestamptz NOT NULL,
    failures      int NOT NULL,
    blocked_until timestamptz,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX login_throttle_updated ON login_throttle (updated_at);

-- Attachments: each upload is its own record (its own random id, name,
-- time and uploader); the bytes stay stored once by content, under sha256.
-- Records made before this migration used the content hash as their id.
ALTER TABLE attachments ADD COLUMN sha256 text;
UPDATE attachments SET sha256 = id;
ALTER TABLE attachments
    ALTER COLUMN sha256 SET NOT NULL,
    ADD CONSTRAINT attachments_sha256_format CHECK (sha256 ~ '^[0-9a-f]{64}$');
CREATE INDEX attachments_sha256 ON attachments (sha256);

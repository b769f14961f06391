-- Kernel: organisation, accounts, sessions, audit log, configuration versions.

-- Organisation tree: city -> district / bureau / enterprise -> street ->
-- community, any depth. path holds the ids from the root to the unit itself
-- ('/1/5/23/'), so "this unit and everything below it" is one indexed prefix
-- match; that is what data scopes are built on.
CREATE TABLE units (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    kind        text NOT NULL,
    parent_id   bigint REFERENCES units (id),
    path        text NOT NULL UNIQUE,
    depth       int NOT NULL,
    sort        int NOT NULL DEFAULT 0,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX units_path_prefix ON units (path text_pattern_ops);
CREATE INDEX units_parent ON units (parent_id);

CREATE TABLE users (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username             text NOT NULL UNIQUE CHECK (username = lower(username)),
    display_name         text NOT NULL,
    unit_id              bigint NOT NULL REFERENCES units (id),
    phone                text NOT NULL DEFAULT '',
    level                int NOT NULL DEFAULT 1,
    password_hash        text NOT NULL,
    password_changed_at  timestamptz NOT NULL DEFAULT now(),
    must_change_password boolean NOT NULL DEFAULT false,
    failed_logins        int NOT NULL DEFAULT 0,
    locked_until         timestamptz,
    disabled             boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_unit ON users (unit_id);

-- Roles are configuration (kind: role); a user holds them directly or
-- through posts (岗位) of a unit.
CREATE TABLE user_roles (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    text NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE posts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id    bigint NOT NULL REFERENCES units (id),
    name       text NOT NULL,
    roles      text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (unit_id, name)
);

CREATE TABLE user_posts (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, post_id)
);

-- Opaque session tokens: only a SHA-256 of the token is stored, so a copy of
-- the database does not hand out live sessions.
CREATE TABLE sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    remote_addr  text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Append-only audit log: who did what, when, from where, with before/after.
-- unit_path is the path of the unit the audited row belongs to, so data
-- scopes apply to the log as to everything else.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    bigint,
    actor       text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL DEFAULT '',
    target_id   text NOT NULL DEFAULT '',
    unit_path   text NOT NULL DEFAULT '',
    remote_addr text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT '',
    before      jsonb,
    after       jsonb,
    details     jsonb
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id);
CREATE INDEX audit_log_unit_path ON audit_log (unit_path text_pattern_ops);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Configuration versions: every distinct text of a document (kind, name) is
-- stored once, immutably; config_active says which version runs.
CREATE TABLE config_versions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text NOT NULL,
    name       text NOT NULL,
    version    int NOT NULL,
    path       text NOT NULL,
    source     text NOT NULL,
    digest     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    note       text NOT NULL DEFAULT '',
    UNIQUE (kind, name, version)
);
CREATE TRIGGER config_versions_immutable BEFORE UPDATE OR DELETE ON config_versions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

CREATE TABLE config_active (
    kind         text NOT NULL,
    name         text NOT NULL,
    version      int NOT NULL,
    activated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, name),
    FOREIGN KEY (kind, name, version) REFERENCES config_versions (kind, name, version)
);

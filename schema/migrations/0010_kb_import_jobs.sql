-- Bulk knowledge imports (知识批量导入) run as jobs: the upload returns at
-- once and the editor watches the rows being checked and written.
CREATE TABLE kb_import_jobs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    file_name   text NOT NULL,
    options     jsonb NOT NULL,
    state       text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'failed')),
    -- checking: every row against the article form; writing: creating articles.
    phase       text NOT NULL DEFAULT 'checking' CHECK (phase IN ('checking', 'writing')),
    total       int NOT NULL DEFAULT 0,
    done        int NOT NULL DEFAULT 0,
    imported    int NOT NULL DEFAULT 0,
    -- The outcome (rows, imported, ids, problems), written when it ends;
    -- a failed job keeps what it imported before the failure.
    result      jsonb,
    error       text,
    node        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX kb_import_jobs_user ON kb_import_jobs (user_id, id DESC);

-- Exports (导出) run as jobs: the request, progress while running, and the
-- file once done, which only its owner downloads. node is the server
-- holding the file.
CREATE TABLE export_jobs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    format      text NOT NULL CHECK (format IN ('xlsx', 'csv')),
    request     jsonb NOT NULL,
    state       text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'failed')),
    total       bigint NOT NULL DEFAULT 0,
    done        bigint NOT NULL DEFAULT 0,
    size        bigint,
    error       text,
    node        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX export_jobs_user ON export_jobs (user_id, id DESC);

-- Attachments (附件) are stored by content: id is the SHA-256 of the bytes,
-- so the same file uploaded twice is kept once. The bytes live in the blob
-- store (a folder under the data directory by default); this row is what
-- forms check a reference against.
CREATE TABLE attachments (
    id           text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
    size         bigint NOT NULL CHECK (size >= 0),
    media_type   text NOT NULL,
    name         text NOT NULL,
    uploaded_by  bigint REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- One running configuration for the cluster (core/configstore): every
-- change of the active set bumps the generation, in the recording
-- transaction, and NOTIFYs hotline_config with it. Each node compares the
-- generation it runs with this one (woken by the notification, and polling
-- in case a notification was missed) and loads the active set when they
-- differ; a publish records against the generation it was linted on, so two
-- publishes at once cannot undo each other.
CREATE TABLE config_state (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    generation bigint NOT NULL
);
INSERT INTO config_state (generation) VALUES (0);

-- Where a document stood in its file when it was recorded, so a node that
-- loads the active set from here puts the documents of one file back in
-- their order (and a problem's line is where the author expects it).
ALTER TABLE config_versions ADD COLUMN line int NOT NULL DEFAULT 0;

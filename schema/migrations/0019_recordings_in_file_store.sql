-- Recordings move to the file store shared by the nodes: calls.recording
-- holds the file's key (recordings/YYYY/MM/DD/call-7.wav), no longer the
-- path on the node that recorded it. Recordings were written under
-- $HOTLINE_DATA_DIR/recordings, which is the file store's folder unless
-- HOTLINE_FILES_DIR moves it, so the key is the path's tail.
UPDATE calls SET recording = substring(recording FROM '(recordings/[0-9]{4}/[0-9]{2}/[0-9]{2}/[^/]+)$')
    WHERE recording ~ '(^|/)recordings/[0-9]{4}/[0-9]{2}/[0-9]{2}/[^/]+$' AND recording NOT LIKE 'recordings/%';
-- Any node sweeps every node's recordings past their retention.
DROP INDEX calls_recorded;
CREATE INDEX calls_recorded ON calls (ended_at) WHERE recording IS NOT NULL AND recording_deleted_at IS NULL;

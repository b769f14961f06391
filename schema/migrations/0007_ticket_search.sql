-- The ticket search index: one row per ticket, written in the ticket's own
-- transaction (so a ticket is found the moment it commits, on every node)
-- and rebuilt from tickets by `hotline reindex`.
--
-- doc is a tsvector of overlapping two-character terms computed in Go
-- (core/fulltext): substring matching for Chinese without an extension.
-- facets holds name=value entries (state, holder unit, the forms' facet
-- fields); callers holds p:<phone> and n:<name> for the in-transit hint.
CREATE TABLE ticket_search (
    ticket_id  bigint PRIMARY KEY REFERENCES tickets (id),
    -- The ticket version the row was built from: a rebuild never
    -- overwrites a row a newer action wrote meanwhile.
    version    int NOT NULL,
    created_at timestamptz NOT NULL,
    open       boolean NOT NULL,
    doc        tsvector NOT NULL,
    facets     text[] NOT NULL DEFAULT '{}',
    callers    text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX ticket_search_doc ON ticket_search USING gin (doc);
CREATE INDEX ticket_search_facets ON ticket_search USING gin (facets);
CREATE INDEX ticket_search_callers ON ticket_search USING gin (callers);
CREATE INDEX ticket_search_created ON ticket_search (created_at);

-- What the index was last built under: the forms' search, facet and caller
-- fields. A different spec at start means the rows are stale.
CREATE TABLE search_index_state (
    name        text PRIMARY KEY,
    fingerprint text NOT NULL,
    built_at    timestamptz NOT NULL
);

-- Lists and searches of a unit's clerks start from the tickets in their
-- scope: those they created, and those whose branches their units hold.
CREATE INDEX tickets_creator ON tickets (creator_id);
CREATE INDEX ticket_branches_unit ON ticket_branches (unit_id);

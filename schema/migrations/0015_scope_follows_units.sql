-- A ticket carries the path of the unit that scopes it (tickets.scope_path:
-- the holder's, or the creator's while unassigned) so that data scopes are
-- index range scans. That path changes whenever the unit, or a unit above
-- it, moves in the tree; the tickets must follow in the same transaction,
-- or the old parent keeps seeing them and the new parent, and the unit
-- itself, are told they do not exist.
CREATE FUNCTION units_path_followed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tickets SET scope_path = NEW.path WHERE scope_path = OLD.path;
    RETURN NULL;
END
$$;
CREATE TRIGGER units_path_moved AFTER UPDATE OF path ON units
    FOR EACH ROW WHEN (OLD.path IS DISTINCT FROM NEW.path) EXECUTE FUNCTION units_path_followed();

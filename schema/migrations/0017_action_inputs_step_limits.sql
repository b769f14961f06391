-- Each action's input kept as its own (not merged into the ticket's
-- fields, where a callback's opinion replaced the dispatcher's): the
-- latest input of every action, by action name. Tickets written before
-- keep what they had in fields.
ALTER TABLE tickets ADD COLUMN inputs jsonb NOT NULL DEFAULT '{}';
-- The current step's time limit (环节时限, e.g. sign within hours), beside
-- the ticket's own deadline.
ALTER TABLE tickets ADD COLUMN step_deadline timestamptz;
-- Who held the ticket when an event happened, and the step limit then
-- running: timely sign-for (及时签收率) per unit is a count over events.
ALTER TABLE ticket_events ADD COLUMN holder_unit_id bigint REFERENCES units (id);
ALTER TABLE ticket_events ADD COLUMN step_due timestamptz;
CREATE INDEX ticket_events_holder_unit ON ticket_events (holder_unit_id, action) WHERE holder_unit_id IS NOT NULL;

-- A ticket's links are read from both ends (Ticket.links): the merged
-- tickets of a master are found by other_id, which the primary key
-- (ticket_id first) does not serve.
CREATE INDEX ticket_links_other ON ticket_links (other_id);

-- Tickets are read with their branches (open or done) in one query.
CREATE INDEX ticket_branches_ticket ON ticket_branches (ticket_id);

-- Ticket numbers are configuration (a flow's numbering: prefix, date
-- pattern, digits), so a count belongs to a number's stem (the prefix and
-- the formatted date, "20260213" or "NM202602") rather than to a day. The
-- default numbering's stem is the day as YYYYMMDD, so existing counts go on.
ALTER TABLE ticket_counters ADD COLUMN stem text;
UPDATE ticket_counters SET stem = to_char(day, 'YYYYMMDD');
ALTER TABLE ticket_counters DROP CONSTRAINT ticket_counters_pkey;
ALTER TABLE ticket_counters DROP COLUMN day;
ALTER TABLE ticket_counters ALTER COLUMN stem SET NOT NULL;
ALTER TABLE ticket_counters ADD PRIMARY KEY (stem);

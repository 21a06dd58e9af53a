-- One objection per case, enforced here (found in review: objections posted at the same moment
-- were all stored, each citizen told it was received, while a clerk only ever saw the first).
-- Later objections stored before this migration are kept aside, sealed as they were, not lost.
CREATE TABLE objections_set_aside AS
    SELECT * FROM objections WHERE id NOT IN (SELECT MIN(id) FROM objections GROUP BY ticket_number);
DELETE FROM objections WHERE id IN (SELECT id FROM objections_set_aside);
CREATE UNIQUE INDEX objections_one_per_case ON objections (ticket_number);

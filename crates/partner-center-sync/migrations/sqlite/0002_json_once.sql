-- A referral's JSON is stored once, in its version: the current referral points at it by
-- (id, etag) instead of holding a second copy. `referrals` becomes a view with the columns it
-- had, so queries written against it still work.
CREATE TABLE current_referrals (
    id               TEXT PRIMARY KEY NOT NULL,
    etag             TEXT NOT NULL,
    updated_at       TEXT,
    status           TEXT,
    substatus        TEXT,
    type             TEXT,
    direction        TEXT,
    qualification    TEXT,
    customer_name    TEXT,
    customer_country TEXT,
    -- Exact: the decimal as the service wrote it, never a float.
    deal_value       TEXT,
    currency         TEXT,
    closing_at       TEXT
);

-- Every current referral was stored with its version, in one transaction, and versions are
-- never deleted: so no foreign key, whose check would cost a lookup (and in PostgreSQL a row
-- lock on the version) for each row written.
INSERT INTO current_referrals
SELECT id, etag, updated_at, status, substatus, type, direction, qualification, customer_name,
       customer_country, deal_value, currency, closing_at
FROM referrals;
DROP TABLE referrals;

CREATE INDEX current_referrals_status ON current_referrals (status, substatus);
CREATE INDEX current_referrals_updated_at ON current_referrals (updated_at);

CREATE VIEW referrals AS
SELECT c.id, c.etag, c.updated_at, c.status, c.substatus, c.type, c.direction, c.qualification,
       c.customer_name, c.customer_country, c.deal_value, c.currency, c.closing_at, v.json
FROM current_referrals AS c
JOIN referral_versions AS v ON v.id = c.id AND v.etag = c.etag;

-- migrations/sqlite/0002_json_once.sql in PostgreSQL's types: a referral's JSON is stored once,
-- in its version; `referrals` becomes a view with the columns it had.

-- Keys and times compare as bytes, as in SQLite: text order is time order whatever the
-- database's locale, and an index lookup compares without the locale's rules.
ALTER TABLE referral_versions
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN etag TYPE TEXT COLLATE "C",
    ALTER COLUMN updated_at TYPE TEXT COLLATE "C",
    ALTER COLUMN received_at TYPE TEXT COLLATE "C";
ALTER TABLE sync_state ALTER COLUMN watermark TYPE TEXT COLLATE "C";

CREATE TABLE current_referrals (
    id               TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    etag             TEXT COLLATE "C" NOT NULL,
    updated_at       TEXT COLLATE "C",
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
    closing_at       TEXT COLLATE "C"
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

-- A version's row (its JSON about 2 to 3 KB) stays in the table page, uncompressed, up to what
-- a page holds: compressing it and moving it to TOAST was most of the server's time in a first
-- sync. A larger one is compressed (lz4 where 0001 could set it) and moved out as before.
ALTER TABLE referral_versions SET (toast_tuple_target = 8160);

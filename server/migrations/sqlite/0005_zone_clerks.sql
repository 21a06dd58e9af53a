-- Clerk accounts belong to the sealed zone: role, password hash, TOTP secret and disabled are
-- one record only the zone can make or read (its vault item for 'clerk:{username}'). The host
-- keeps the name, that record and the last TOTP step. Accounts the operator made before have no
-- record and cannot sign in; the credentials the host held in clear for them are dropped here.
ALTER TABLE clerks ADD COLUMN sealed BLOB;
UPDATE clerks SET password_hash = '', totp_secret = NULL, role = 'none';

-- The back office: clerks, imported bank statements, the case ledger's state, refunds and the
-- audit log. No personal data in clear: a bank entry's payer, account and remittance text are
-- sealed to the enclave before they are stored.

CREATE TABLE clerks ( -- back-office accounts, created with `fieldseal admin clerk add`
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,               -- 'clerk' | 'supervisor' | 'admin'
    password_hash TEXT NOT NULL,      -- Argon2id, PHC string
    totp_secret BYTEA,                 -- 20 bytes when TOTP is on
    totp_last_step BIGINT,            -- the last accepted TOTP time step: a code counts once
    created_at_ms BIGINT NOT NULL,
    disabled_at_ms BIGINT
);

CREATE TABLE statement_imports ( -- every uploaded statement file, whether or not it brought anything new
    id BIGSERIAL PRIMARY KEY,
    file_sha256 BYTEA NOT NULL,
    message_type TEXT NOT NULL,       -- e.g. 'camt.053.001.08'
    message_id TEXT NOT NULL,         -- GrpHdr/MsgId
    summary TEXT NOT NULL,            -- JSON: counts of entries, new, duplicates, matched, exceptions …
    imported_at_ms BIGINT NOT NULL,
    clerk_id BIGINT NOT NULL REFERENCES clerks (id)
);

CREATE TABLE bank_entries ( -- one incoming transfer from a statement; each bank reference counts once
    id BIGSERIAL PRIMARY KEY,
    entry_key TEXT NOT NULL UNIQUE,   -- the bank's references for this transaction (see fieldseal_office::camt)
    import_id BIGINT NOT NULL REFERENCES statement_imports (id),
    account TEXT NOT NULL,            -- the authority's own account it was booked on
    amount_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    booking_date TEXT NOT NULL,       -- YYYY-MM-DD: the date deadlines are counted to
    state TEXT NOT NULL,              -- 'matched' | 'exception' | 'matched_by_hand' | 'booked_out'
    ticket_number TEXT REFERENCES cases (ticket_number),
    note TEXT NOT NULL,               -- why it is an exception, or the reason it was booked out
    sealed_details BYTEA NOT NULL,     -- payer, payer's account, remittance text: sealed to the enclave
    resolved_by BIGINT REFERENCES clerks (id),
    resolved_at_ms BIGINT
);
CREATE INDEX bank_entries_by_state ON bank_entries (state, booking_date);

CREATE TABLE refunds ( -- money paid back (overpayments, late or partial payments, withdrawn cases)
    id BIGSERIAL PRIMARY KEY,
    ticket_number TEXT NOT NULL REFERENCES cases (ticket_number),
    amount_cents BIGINT NOT NULL,
    reference TEXT NOT NULL,          -- the outgoing transfer's reference
    paid_at_ms BIGINT NOT NULL,
    clerk_id BIGINT NOT NULL REFERENCES clerks (id)
);
CREATE INDEX refunds_by_ticket ON refunds (ticket_number);

-- The case ledger's state, kept by the deadline policy (fieldseal_office::policy).
ALTER TABLE cases ADD COLUMN paid_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN refund_due_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN deadline TEXT;                 -- current deadline when a reminder moved it
ALTER TABLE cases ADD COLUMN reminders BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN escalated_at_ms BIGINT;
ALTER TABLE cases ADD COLUMN withdrawn_at_ms BIGINT;
ALTER TABLE cases ADD COLUMN withdrawn_reason TEXT;
CREATE INDEX cases_by_status ON cases (status, due_date);

CREATE TABLE audit_log ( -- append-only and hash-chained: every state change, every opening of personal data
    seq BIGINT PRIMARY KEY,           -- 1, 2, 3 … without gaps
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,              -- 'clerk:7', 'portal', 'device:0003', 'system'
    action TEXT NOT NULL,             -- e.g. 'payment.matched', 'case.opened'
    subject TEXT NOT NULL,            -- a ticket number, 'entry:12', 'clerk:3', or ''
    detail TEXT NOT NULL,             -- JSON object; never personal data
    prev_hash BYTEA NOT NULL,          -- the entry before's hash (32 zero bytes before the first)
    hash BYTEA NOT NULL                -- SHA-256 over prev_hash and this entry (fieldseal_office::audit)
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The citizen portal's ledger: checkouts started with a payment provider, payments received,
-- and objections sealed to the enclave. No personal data: ticket numbers, amounts, provider
-- references, and ciphertext.

CREATE TABLE checkouts ( -- card checkouts started with a payment provider
    session_id TEXT PRIMARY KEY,          -- the provider's checkout session id
    provider TEXT NOT NULL,
    ticket_number TEXT NOT NULL REFERENCES cases (ticket_number),
    amount_cents BIGINT NOT NULL,
    redirect_url TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX checkouts_by_ticket ON checkouts (ticket_number, created_at_ms);

CREATE TABLE payments ( -- money received for a case; each provider or bank reference counts once
    id INTEGER PRIMARY KEY,
    ticket_number TEXT NOT NULL REFERENCES cases (ticket_number),
    amount_cents BIGINT NOT NULL,
    method TEXT NOT NULL,                 -- 'online' | 'transfer'
    provider TEXT NOT NULL,
    external_ref TEXT NOT NULL,
    booked_at_ms BIGINT NOT NULL,
    recorded_at_ms BIGINT NOT NULL,
    UNIQUE (method, provider, external_ref)
);
CREATE INDEX payments_by_ticket ON payments (ticket_number, booked_at_ms);

CREATE TABLE objections ( -- citizens' objections, sealed to the enclave key before they are stored
    id INTEGER PRIMARY KEY,
    ticket_number TEXT NOT NULL REFERENCES cases (ticket_number),
    sealed BLOB NOT NULL,
    received_at_ms BIGINT NOT NULL
);
CREATE INDEX objections_by_ticket ON objections (ticket_number);

-- The relay's tables. Nothing here is personal data: identifiers, hashes, ciphertext, and
-- the index fields payments need (ticket number, amount, due date, offence codes, status).

CREATE TABLE enrolment_codes ( -- one-time officer enrolment codes; only their SHA-256 is kept
    code_hash BYTEA PRIMARY KEY,
    label TEXT NOT NULL,              -- what the administrator wrote (e.g. "unit 4, device 2")
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms BIGINT,                -- set once, when a device enrols with it
    device_id BYTEA
);

CREATE TABLE devices ( -- enrolled officer devices and their Ed25519 keys
    device_id BYTEA PRIMARY KEY,
    device_prefix BIGINT NOT NULL UNIQUE,   -- ticket number prefix, 1..9999
    verifying_key BYTEA NOT NULL UNIQUE,
    label TEXT NOT NULL,
    enrolled_at_ms BIGINT NOT NULL
);

CREATE TABLE envelopes ( -- sealed envelopes exactly as signed by the device (ciphertext)
    envelope_id BYTEA PRIMARY KEY,
    device_id BYTEA NOT NULL REFERENCES devices (device_id),
    sequence BIGINT NOT NULL,
    prev_hash BYTEA NOT NULL,
    envelope_hash BYTEA NOT NULL,
    envelope BYTEA NOT NULL,
    photo_count BIGINT NOT NULL,
    stored_at_ms BIGINT NOT NULL,
    UNIQUE (device_id, sequence)
);

CREATE TABLE blobs ( -- sealed photo blobs stored in the blob store, verified against the signed header
    envelope_id BYTEA NOT NULL REFERENCES envelopes (envelope_id),
    idx BIGINT NOT NULL,
    sha256 BYTEA NOT NULL,
    len BIGINT NOT NULL,
    stored_at_ms BIGINT NOT NULL,
    PRIMARY KEY (envelope_id, idx)
);

CREATE TABLE cases ( -- the index the enclave released: only what payments need
    ticket_number TEXT PRIMARY KEY,
    envelope_id BYTEA NOT NULL UNIQUE REFERENCES envelopes (envelope_id),
    total_cents BIGINT NOT NULL,
    due_date TEXT NOT NULL,
    offence_codes TEXT NOT NULL,      -- comma-separated catalogue codes
    status TEXT NOT NULL,
    indexed_at_ms BIGINT NOT NULL
);

CREATE TABLE chain_events ( -- gaps and forks in device chains: refused, and recorded for review
    id BIGSERIAL PRIMARY KEY,
    device_id BYTEA NOT NULL,
    sequence BIGINT NOT NULL,
    kind TEXT NOT NULL,               -- 'gap' | 'fork'
    envelope_id BYTEA NOT NULL,
    envelope_hash BYTEA NOT NULL,
    at_ms BIGINT NOT NULL
);

-- Tollgate schema, version 2: bounded decision records and compiled-code
-- integrity.

-- The input a call's plugins shared (request, now, TrackId, the customer's
-- subscriptions, the configs of the bindings that ran), stored once; each
-- invocation keeps only its own part and refers to it.
CREATE TABLE call_inputs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    body TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX call_inputs_by_tenant ON call_inputs (tenant_id, at);

ALTER TABLE invocations ADD COLUMN input_id TEXT;
CREATE INDEX invocations_by_input ON invocations (input_id);
-- Stored size of the record (its columns' text), for byte-bounded retention.
ALTER TABLE invocations ADD COLUMN bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN bytes BIGINT NOT NULL DEFAULT 0;
-- Invocation records of the call that were not stored (its byte budget ran out).
ALTER TABLE calls ADD COLUMN records_dropped BIGINT NOT NULL DEFAULT 0;

-- SHA-256 of each compiled artifact an instance writes to its disk cache,
-- keyed by engine compatibility and plugin version: a cache file is loaded
-- only if its digest matches (anyone who can write the cache directory
-- could otherwise make the server run native code).
CREATE TABLE compiled_artifacts (
    compat_key TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (compat_key, version)
);

CREATE INDEX events_by_time ON events (tenant_id, at);

-- What a plugin version is written in and which contract it implements
-- (NULL for versions uploaded before: shown as unknown).
ALTER TABLE plugins ADD COLUMN language TEXT;
ALTER TABLE plugins ADD COLUMN contract TEXT;

-- Shadow runs: a candidate version (of the binding's plugin) and config
-- that run beside the active one and never decide.
ALTER TABLE bindings ADD COLUMN shadow_version TEXT;
ALTER TABLE bindings ADD COLUMN shadow_config TEXT;
ALTER TABLE bindings ADD COLUMN shadow_since BIGINT;
ALTER TABLE invocations ADD COLUMN shadow BIGINT NOT NULL DEFAULT 0;
-- For a shadow run: the active invocation it ran beside, and whether both
-- decided the same (NULL when either failed).
ALTER TABLE invocations ADD COLUMN shadow_of TEXT;
ALTER TABLE invocations ADD COLUMN agreed BIGINT;
CREATE INDEX invocations_by_binding ON invocations (tenant_id, binding, at);

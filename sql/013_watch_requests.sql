-- 013: how many watches each client made lately (webapp/watch.py limits creation per client
-- address). Only the SHA-256 of the address is kept, and only for the last hour.
CREATE TABLE IF NOT EXISTS watch_requests (
    client_hash bytea       NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS watch_requests_client_idx ON watch_requests (client_hash, at);

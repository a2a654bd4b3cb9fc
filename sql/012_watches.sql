-- 012: watches, the musicians' own data (batch.store.watches, batch.listening.watch).
--
-- No load builds or swaps these tables: every rebuild of the derived tables keeps them,
-- and a watch's rows go only when its owner deletes it (ON DELETE CASCADE).

-- A watched song: what identification needs and nothing more. Its reference peaks (the
-- landmarks are derived from them), how long it was heard, the file's name and the genre
-- chosen, never the audio. The token that opens it is not stored, only its SHA-256.
CREATE TABLE IF NOT EXISTS watches (
    watch_id   bigserial   PRIMARY KEY,
    token_hash bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    file_name  text        NOT NULL,
    genre      text,
    duration   real        NOT NULL CHECK (duration > 0),
    peak_t     smallint[]  NOT NULL,
    peak_f     real[]      NOT NULL CHECK (cardinality(peak_f) = cardinality(peak_t)),
    created_at timestamptz NOT NULL DEFAULT now(),
    checked    boolean     NOT NULL DEFAULT false         -- a run has searched every sound for it
);

-- Each TikTok sound found to hold a watched song, once, with the run that found it
-- ('created' when the watch's own creation found it among the stored sounds).
CREATE TABLE IF NOT EXISTS watch_uses (
    watch_id bigint      NOT NULL REFERENCES watches ON DELETE CASCADE,
    music_id text        NOT NULL,
    offset_s real        NOT NULL CHECK (offset_s >= 0),  -- where in the watched song the sound starts
    speed    real        NOT NULL CHECK (speed > 0),      -- 1.25 = sped up
    votes    integer     NOT NULL CHECK (votes > 0),
    run_id   text        NOT NULL,
    found_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (watch_id, music_id)
);

-- The sounds every checked watch has been searched in: a run searches the sounds not here
-- for every watch, and every sound for the watches not checked yet, then records both in
-- the same transaction as what it found, so a killed run leaves nothing half done and a
-- rerun adds nothing twice.
CREATE TABLE IF NOT EXISTS watch_checked_sounds (
    music_id   text        PRIMARY KEY,
    run_id     text        NOT NULL,
    checked_at timestamptz NOT NULL DEFAULT now()
);

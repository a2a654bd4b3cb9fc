-- 002: the FMA catalogue: genres, tracks, and one record per load run.

-- All 163 FMA genres; the 16 with no parent are the top-level genres the app offers.
CREATE TABLE IF NOT EXISTS genres (
    genre_id     integer PRIMARY KEY,
    title        text    NOT NULL UNIQUE,
    parent_id    integer,                 -- NULL for a top-level genre (FMA writes 0)
    top_level_id integer NOT NULL,
    n_tracks     integer NOT NULL,        -- FMA's #tracks
    is_top_level boolean NOT NULL
);

-- One row per catalogue track.
CREATE TABLE IF NOT EXISTS tracks (
    track_id   bigint  PRIMARY KEY,
    title      text,
    artist     text,
    album      text,
    genre_top  text,                      -- a top-level genre title, or NULL
    genres_all integer[] NOT NULL DEFAULT '{}',
    listens    bigint  NOT NULL DEFAULT 0,
    duration   integer NOT NULL DEFAULT 0, -- seconds
    audio_path text                        -- where the clip lives: a path or s3:// URI
);
CREATE INDEX IF NOT EXISTS tracks_genre_top_idx ON tracks (genre_top);
CREATE INDEX IF NOT EXISTS tracks_artist_idx ON tracks (lower(artist));

-- Every load: what was loaded, when, how many rows, and whether it committed.
CREATE TABLE IF NOT EXISTS load_runs (
    run_id      bigserial PRIMARY KEY,
    dataset     text        NOT NULL,     -- catalogue, tiktok or matches
    source      text        NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text        NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'committed', 'failed')),
    row_counts  jsonb       NOT NULL DEFAULT '{}',
    seconds     double precision,
    error       text
);
CREATE INDEX IF NOT EXISTS load_runs_dataset_idx ON load_runs (dataset, started_at DESC);

-- 006: Spotify chart entries and how much TikTok used each (text_pipeline.charts).
-- One row per entry of each loaded chart; a chart is replaced whole when loaded again.
CREATE TABLE IF NOT EXISTS chart_entries (
    chart      text    NOT NULL,                 -- the export's file name, without .csv
    kind       text    NOT NULL CHECK (kind IN ('top200', 'viral50')),
    position   integer NOT NULL CHECK (position > 0),
    title      text    NOT NULL,
    artist     text    NOT NULL,
    streams    bigint  CHECK (streams >= 0),     -- top 200 only
    url        text,
    sounds     integer NOT NULL CHECK (sounds >= 0),  -- TikTok sounds matched to the song
    videos     bigint  NOT NULL CHECK (videos >= 0),  -- their videos
    plays      bigint  NOT NULL,
    likes      bigint  NOT NULL,
    comments   bigint  NOT NULL,
    shares     bigint  NOT NULL,
    engagement bigint  NOT NULL,                 -- plays + 2 likes + 3 comments + 4 shares
    music_ids  text[]  NOT NULL DEFAULT '{}',    -- the matched sounds, most videos first
    PRIMARY KEY (chart, position)
);

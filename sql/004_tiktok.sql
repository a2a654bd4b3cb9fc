-- 004: TikTok videos, their sounds, and which sounds are catalogue songs.

-- One row per video. Partitioned by the first character of the normalised song
-- title: 'a'..'z', '0' for a digit, '_' for anything else (other scripts, empty).
CREATE TABLE IF NOT EXISTS tiktok_videos (
    title_bucket  char(1)  NOT NULL,
    video_id      text     NOT NULL,
    music_id      text     NOT NULL,     -- the sound the video used
    song_title    text,
    artist_name   text,
    is_original   boolean  NOT NULL DEFAULT false,
    video_url     text,
    cover_url     text,
    play_count    bigint   NOT NULL DEFAULT 0,
    like_count    bigint   NOT NULL DEFAULT 0,
    comment_count bigint   NOT NULL DEFAULT 0,
    share_count   bigint   NOT NULL DEFAULT 0,
    created_at    timestamptz,
    hashtags      text[]   NOT NULL DEFAULT '{}',
    author        text,
    PRIMARY KEY (title_bucket, video_id)
) PARTITION BY LIST (title_bucket);

DO $$
DECLARE
    bucket text;
BEGIN
    FOREACH bucket IN ARRAY string_to_array('a b c d e f g h i j k l m n o p q r s t u v w x y z', ' ')
    LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF tiktok_videos FOR VALUES IN (%L)',
                       'tiktok_videos_' || bucket, bucket);
    END LOOP;
END $$;
CREATE TABLE IF NOT EXISTS tiktok_videos_digit PARTITION OF tiktok_videos FOR VALUES IN ('0');
CREATE TABLE IF NOT EXISTS tiktok_videos_other PARTITION OF tiktok_videos FOR VALUES IN ('_');

-- The app lists a sound's videos by engagement; analysts look videos up by id and hashtag.
CREATE INDEX IF NOT EXISTS tiktok_videos_music_idx ON tiktok_videos (music_id);
CREATE INDEX IF NOT EXISTS tiktok_videos_video_idx ON tiktok_videos (video_id);
CREATE INDEX IF NOT EXISTS tiktok_videos_hashtags_idx ON tiktok_videos USING gin (hashtags);

-- One row per sound, derived from the videos at load time.
CREATE TABLE IF NOT EXISTS tiktok_sounds (
    music_id    text   PRIMARY KEY,
    song_title  text,
    artist_name text,
    is_original boolean NOT NULL DEFAULT false,
    video_count bigint NOT NULL,
    total_plays bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS tiktok_sounds_plays_idx ON tiktok_sounds (total_plays DESC);

-- Catalogue song <-> TikTok sound. A sound matches at most one track.
CREATE TABLE IF NOT EXISTS matches (
    music_id     text             PRIMARY KEY,
    track_id     bigint           NOT NULL,
    title_score  double precision NOT NULL CHECK (title_score BETWEEN 0 AND 1),
    artist_score double precision NOT NULL CHECK (artist_score BETWEEN 0 AND 1),
    total_score  double precision NOT NULL CHECK (total_score BETWEEN 0 AND 1)
);
CREATE INDEX IF NOT EXISTS matches_track_idx ON matches (track_id);

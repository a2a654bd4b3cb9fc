-- 010: search vectors with an explicit scaler, and hashtag totals computed at load time.

-- The search vector of raw features with a given scaler (mean and std in feature order).
-- A catalogue load embeds the TikTok sounds with its new scaler before it swaps the
-- tables in (batch.swap), so it cannot read the scaler by the table's name.
CREATE OR REPLACE FUNCTION embed_features(features real[], mean double precision[],
                                          std double precision[]) RETURNS vector
LANGUAGE sql IMMUTABLE AS $$
    SELECT l2_normalize(array_agg(((u.f - mean[u.i]) / std[u.i])::real ORDER BY u.i)::vector)
    FROM unnest(features) WITH ORDINALITY AS u(f, i)
    WHERE mean IS NOT NULL  -- no catalogue loaded yet: no search vector
$$;

-- The one-argument form (sql/008) now uses the loaded scaler through the form above.
CREATE OR REPLACE FUNCTION embed_features(features real[]) RETURNS vector
LANGUAGE sql STABLE AS $$
    SELECT embed_features(features, array_agg(s.mean ORDER BY s.feature_index),
                          array_agg(s.std ORDER BY s.feature_index))
    FROM feature_scaler s
$$;

-- Per hashtag and sound: the videos that carry the hashtag and their summed engagement
-- (text_pipeline.engagement). Filled by the TikTok load in the same swap as the videos,
-- so /hashtags reads a few rows instead of aggregating every tagged video.
CREATE TABLE IF NOT EXISTS hashtag_sounds (
    hashtag    text   NOT NULL,
    music_id   text   NOT NULL,
    videos     bigint NOT NULL,
    engagement bigint,
    PRIMARY KEY (hashtag, music_id)
);
CREATE INDEX IF NOT EXISTS hashtag_sounds_rank_idx
    ON hashtag_sounds (hashtag, engagement DESC NULLS LAST, music_id);

-- Per hashtag and catalogue song: the same over every sound matched to the song.
CREATE TABLE IF NOT EXISTS hashtag_tracks (
    hashtag    text   NOT NULL,
    track_id   bigint NOT NULL,
    sounds     bigint NOT NULL,
    videos     bigint NOT NULL,
    engagement bigint,
    PRIMARY KEY (hashtag, track_id)
);
CREATE INDEX IF NOT EXISTS hashtag_tracks_rank_idx
    ON hashtag_tracks (hashtag, engagement DESC NULLS LAST, track_id);

-- Each sound's most engaging videos, read from the top of an index instead of sorting all
-- of a sound's videos (a popular sound has millions). The expression must stay the one in
-- text_pipeline/engagement.py: tests/test_store.py checks that the pages' query uses it.
CREATE INDEX IF NOT EXISTS tiktok_videos_engagement_idx ON tiktok_videos
    (music_id, (play_count + 2 * like_count + 3 * comment_count + 4 * share_count) DESC, video_id);

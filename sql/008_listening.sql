-- 008: what listening to the TikTok sounds adds (text_pipeline.listen, batch.fingerprint).

-- How each match was found: by its title, by its audio, or both. Audio matches carry
-- the votes of the best fingerprint cell, where in the catalogue clip the sound starts
-- (seconds) and how much faster it plays (1.25 = sped up); a match found by audio alone
-- has no title scores.
ALTER TABLE matches ALTER COLUMN title_score DROP NOT NULL;
ALTER TABLE matches ALTER COLUMN artist_score DROP NOT NULL;
ALTER TABLE matches ALTER COLUMN total_score DROP NOT NULL;
ALTER TABLE matches ADD COLUMN IF NOT EXISTS method text NOT NULL DEFAULT 'title'
    CHECK (method IN ('title', 'audio', 'title+audio'));
ALTER TABLE matches ADD COLUMN IF NOT EXISTS audio_hashes integer CHECK (audio_hashes > 0);
ALTER TABLE matches ADD COLUMN IF NOT EXISTS audio_offset real CHECK (audio_offset >= 0);
ALTER TABLE matches ADD COLUMN IF NOT EXISTS audio_speed real CHECK (audio_speed > 0);

-- The catalogue's search vector of raw features: (features - mean) / std with the
-- loaded scaler, then unit length. batch.search.embed computes the same in numpy.
CREATE OR REPLACE FUNCTION embed_features(features real[]) RETURNS vector
LANGUAGE sql STABLE AS $$
    SELECT l2_normalize(array_agg(((u.f - s.mean) / s.std)::real ORDER BY s.feature_index)::vector)
    FROM unnest(features) WITH ORDINALITY AS u(f, i)
    JOIN feature_scaler s ON s.feature_index = u.i - 1
$$;

-- One row per TikTok sound whose audio was analysed: the same 245 numbers as the
-- catalogue's, and the search vector (NULL until a catalogue is loaded), so an upload
-- can find the sounds that sound like it.
CREATE TABLE IF NOT EXISTS sound_vectors (
    music_id  text        PRIMARY KEY,
    duration  real        NOT NULL,           -- seconds of audio
    features  real[]      NOT NULL CHECK (cardinality(features) = 245),
    embedding vector(245)
);
CREATE INDEX IF NOT EXISTS sound_vectors_embedding_idx
    ON sound_vectors USING hnsw (embedding vector_cosine_ops);

-- Audio fingerprints: one row per landmark (batch.fingerprint.landmarks at speed 1), so
-- an upload is identified by looking its hashes up. Rows of one item are replaced with it.
CREATE TABLE IF NOT EXISTS track_fingerprints (
    hash     integer  NOT NULL,
    track_id bigint   NOT NULL,
    t        smallint NOT NULL                -- the landmark's frame (23.2 ms) in the clip
);
CREATE INDEX IF NOT EXISTS track_fingerprints_hash_idx ON track_fingerprints (hash);

CREATE TABLE IF NOT EXISTS sound_fingerprints (
    hash     integer  NOT NULL,
    music_id text     NOT NULL,
    t        smallint NOT NULL
);
CREATE INDEX IF NOT EXISTS sound_fingerprints_hash_idx ON sound_fingerprints (hash);

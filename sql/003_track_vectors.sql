-- 003: audio vectors, the catalogue's scaler, and the search vectors.
--
-- features:  the raw 245 numbers of batch.features (names in feature_scaler).
-- embedding: (features - mean) / std, then scaled to unit length, so that cosine
--            distance ranks songs with every feature on the same footing.
-- The table is partitioned by top-level genre, one partition per genre with its own
-- HNSW index, so a search within a genre walks a small index of that genre only.
-- Tracks without a top-level genre sit in the default partition under ''.

CREATE TABLE IF NOT EXISTS feature_scaler (
    feature_index smallint PRIMARY KEY CHECK (feature_index BETWEEN 0 AND 244),
    feature_name  text             NOT NULL UNIQUE,
    mean          double precision NOT NULL,
    std           double precision NOT NULL CHECK (std > 0)
);

CREATE TABLE IF NOT EXISTS track_vectors (
    genre_top text        NOT NULL,
    track_id  bigint      NOT NULL,
    features  real[]      NOT NULL CHECK (cardinality(features) = 245),
    embedding vector(245) NOT NULL,
    PRIMARY KEY (genre_top, track_id)
) PARTITION BY LIST (genre_top);

DO $$
DECLARE
    genre text;
BEGIN
    FOREACH genre IN ARRAY ARRAY[
        'Blues', 'Classical', 'Country', 'Easy Listening', 'Electronic', 'Experimental',
        'Folk', 'Hip-Hop', 'Instrumental', 'International', 'Jazz', 'Old-Time / Historic',
        'Pop', 'Rock', 'Soul-RnB', 'Spoken'
    ] LOOP
        EXECUTE format(
            'CREATE TABLE IF NOT EXISTS %I PARTITION OF track_vectors FOR VALUES IN (%L)',
            'track_vectors_' || trim(both '_' from regexp_replace(lower(genre), '[^a-z]+', '_', 'g')),
            genre);
    END LOOP;
END $$;
CREATE TABLE IF NOT EXISTS track_vectors_other PARTITION OF track_vectors DEFAULT;

-- Created on the parent, so every partition gets its own local HNSW index.
CREATE INDEX IF NOT EXISTS track_vectors_embedding_idx
    ON track_vectors USING hnsw (embedding vector_cosine_ops);
CREATE UNIQUE INDEX IF NOT EXISTS track_vectors_track_idx ON track_vectors (track_id, genre_top);

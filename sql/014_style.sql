-- 014: the learned style embedding, tempo and key of each catalogue song (batch.core.style).
--
-- style:           the model's 200 numbers, as featurize wrote them.
-- style_embedding: standardised with style_scaler, then unit length, as embedding is for
--                  the 245 numbers; the default search finds its candidates by it (its own
--                  HNSW index).
-- style_mu/sd:     the mean and std of the song's distances to the songs of style_sample in
--                  the style view (the style embedding and the 245 numbers, batch.core.hubs),
--                  for mutual proximity.
-- All are NULL for a catalogue featurized before the style model.

ALTER TABLE track_vectors
    ADD COLUMN IF NOT EXISTS style           real[] CHECK (cardinality(style) = 200),
    ADD COLUMN IF NOT EXISTS style_embedding vector(200),
    ADD COLUMN IF NOT EXISTS style_mu        real,
    ADD COLUMN IF NOT EXISTS style_sd        real CHECK (style_sd > 0),
    ADD COLUMN IF NOT EXISTS bpm             real CHECK (bpm >= 0),
    ADD COLUMN IF NOT EXISTS key_tonic       smallint CHECK (key_tonic BETWEEN 0 AND 11),
    ADD COLUMN IF NOT EXISTS key_mode        text CHECK (key_mode IN ('major', 'minor')),
    ADD COLUMN IF NOT EXISTS key_confidence  real CHECK (key_confidence BETWEEN 0 AND 1);

CREATE INDEX IF NOT EXISTS track_vectors_style_idx
    ON track_vectors USING hnsw (style_embedding vector_cosine_ops);

CREATE TABLE IF NOT EXISTS style_scaler (
    dim  smallint         PRIMARY KEY CHECK (dim BETWEEN 0 AND 199),
    mean double precision NOT NULL,
    std  double precision NOT NULL CHECK (std > 0)
);

-- The catalogue songs whose distances give each song's (and each upload's) distribution.
CREATE TABLE IF NOT EXISTS style_sample (
    track_id bigint PRIMARY KEY
);

-- 011: where a pair's similarity per feature group falls among typical catalogue pairs.
-- The catalogue load fills it in the same swap as the vectors (batch.likeness.reference):
-- per group, the 0th..100th percentiles of cosine similarity over random pairs of songs.
CREATE TABLE IF NOT EXISTS similarity_reference (
    feature_group text   PRIMARY KEY,
    pairs         int    NOT NULL,
    quantiles     real[] NOT NULL      -- 101 values, ascending
);

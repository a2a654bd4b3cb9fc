-- 007: models that predict a song's popularity from its 245 audio features (batch.popularity).
-- One row per target. Predictions are log10(1 + plays or listens) = intercept + coefficients . features;
-- the 80 % range adds the 10th and 90th percentiles of the cross-validated residuals.
CREATE TABLE IF NOT EXISTS popularity_models (
    target        text             PRIMARY KEY CHECK (target IN ('tiktok_plays', 'fma_listens')),
    songs         integer          NOT NULL CHECK (songs > 0),
    folds         integer          NOT NULL CHECK (folds >= 2),
    r2            double precision NOT NULL,   -- cross-validated, out of fold
    mae           double precision NOT NULL,   -- log10 units
    baseline_r2   double precision NOT NULL,   -- predicting the training folds' mean
    baseline_mae  double precision NOT NULL,
    intercept     double precision NOT NULL,
    coefficients  double precision[] NOT NULL CHECK (cardinality(coefficients) = 245),
    residual_low  double precision NOT NULL,
    residual_high double precision NOT NULL,
    trained_at    timestamptz      NOT NULL DEFAULT now()
);

-- Which version of a pipeline output each load came from: a fingerprint of the output's
-- files (names, sizes, modification times). batch.reprocess reloads a dataset when its
-- output's fingerprint differs from the last committed load's, so a run that was killed
-- after writing an output but before loading it is completed by the next run.
ALTER TABLE load_runs ADD COLUMN IF NOT EXISTS version text;

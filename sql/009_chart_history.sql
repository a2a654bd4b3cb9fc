-- 009: charts with a history (text_pipeline.chart_files). A chart is one file: one
-- chart, region and period on one date; the files of one chart, region and period are
-- a series, and its dated charts are its history. Loading a file again replaces that
-- chart and date only.
ALTER TABLE chart_entries ADD COLUMN IF NOT EXISTS series  text;    -- e.g. regional-global-daily
ALTER TABLE chart_entries ADD COLUMN IF NOT EXISTS region  text;    -- global, us, ... (from the file name)
ALTER TABLE chart_entries ADD COLUMN IF NOT EXISTS period  text CHECK (period IN ('daily', 'weekly'));
ALTER TABLE chart_entries ADD COLUMN IF NOT EXISTS date    date;    -- the chart's day; NULL when undated
ALTER TABLE chart_entries ADD COLUMN IF NOT EXISTS artists text[] NOT NULL DEFAULT '{}';  -- artist split
UPDATE chart_entries SET series = chart WHERE series IS NULL;
ALTER TABLE chart_entries ALTER COLUMN series SET NOT NULL;
CREATE INDEX IF NOT EXISTS chart_entries_series_idx ON chart_entries (series, date);

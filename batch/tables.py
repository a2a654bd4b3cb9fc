"""Columns of the store's tables that both the loaders and the readers name, kept in one place.

The loaders (:mod:`batch.load`) write them and the pages and reports read them, so
neither side imports the other's module for a list of names.
"""

CHART_COLUMNS = ("chart", "series", "region", "period", "date", "kind", "position", "title", "artist",
                 "artists", "streams", "url", "sounds", "videos", "plays", "likes", "comments",
                 "shares", "engagement", "music_ids")
"""A chart entry as the store keeps it (``chart_entries``, sql/006 and 009): the chart file's
columns (:mod:`text_pipeline.chart_files`), TikTok's totals and the matched sounds."""

"""Columns of the store's tables that both the loaders and the readers name, kept in one place.

The loaders (:mod:`batch.store.load`) write them and the pages and reports read them, so
neither side imports the other's module for a list of names.
"""

CHART_COLUMNS = ("chart", "series", "region", "period", "date", "kind", "position", "title", "artist",
                 "artists", "streams", "url", "sounds", "videos", "plays", "likes", "comments",
                 "shares", "engagement", "music_ids")
"""A chart entry as the store keeps it (``chart_entries``, sql/006 and 009): the chart file's
columns (:mod:`text_pipeline.core.chart_files`), TikTok's totals and the matched sounds."""

VIDEO_COLUMNS = (
    "video_id", "music_id", "song_title", "artist_name", "is_original", "video_url", "cover_url",
    "play_count", "like_count", "comment_count", "share_count", "created_at", "hashtags", "author",
)
"""A TikTok video as the store keeps it (``tiktok_videos``, sql/004): the clean videos'
columns (:data:`text_pipeline.tiktok.parse.VIDEO_COLUMNS`) that the app shows or ranks by."""

MATCH_COLUMNS = ("fma_track_id", "tiktok_music_id", "title_score", "artist_score", "total_score")
"""Columns every matches output has (the ``matches`` table, sql/004); listening adds
:data:`AUDIO_MATCH_COLUMNS`."""
AUDIO_MATCH_COLUMNS = ("method", "audio_hashes", "audio_offset", "audio_speed")
"""How a match was found, and for an audio match its votes, offset in the song (s) and speed."""

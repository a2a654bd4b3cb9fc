"""How much a TikTok video engaged its viewers, the one definition every ranking uses.

It is an SQL expression over the clean video columns (:data:`text_pipeline.tiktok.parse.VIDEO_COLUMNS`)
that PostgreSQL and Spark SQL both evaluate, so the web app's rankings and the batch jobs'
reports agree. This module imports nothing, so the web host needs no Spark for it.
"""

ENGAGEMENT = "play_count + 2 * like_count + 3 * comment_count + 4 * share_count"
"""plays + 2 x likes + 3 x comments + 4 x shares, per video. Sounds, songs and chart entries
are ranked by its sum over their videos."""

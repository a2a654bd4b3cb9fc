"""Spotify chart exports: both shapes, with and without the note line, and broken files."""

from __future__ import annotations

import pandas as pd
import pytest

from text_pipeline.charts import ChartError, read_chart

NOTE = (',,,"Note that these figures are generated using a formula that protects against any '
        'artificial inflation of streams.",\n')
TOP_200 = ('Position,"Track Name",Artist,Streams,URL\n'
           '1,"Blinding Lights",The Weeknd,2071892,https://open.spotify.com/track/0VjIjW4GlUZAMYd2vXMi3b\n'
           '2,"ROCKSTAR (feat. Roddy Ricch)",DaBaby,1820745,https://open.spotify.com/track/7ytR5pFWmSjzHJIeQkgog4\n')
VIRAL_50 = ('Position,"Track Name",Artist,URL\n'
            '1,"Savage Love (Laxed - Siren Beat)","Jawsh 685, Jason Derulo",https://open.spotify.com/track/1xQ6trAsedVPCdbtDAmk0c\n'
            '2,"Lose Somebody",Kygo,https://open.spotify.com/track/4a1gnxp8WBRbIMIvf8jGOW\n\n')


@pytest.mark.parametrize("text, streams", [
    (TOP_200, [2071892, 1820745]), (NOTE + TOP_200, [2071892, 1820745]),
    (VIRAL_50, [None, None]), (NOTE + VIRAL_50, [None, None]),
])
def test_each_shape_reads_with_or_without_the_note_line(tmp_path, text, streams):
    path = tmp_path / "regional-global-daily-2020-06-01.csv"
    path.write_text(text)
    chart = read_chart(path)
    assert list(chart["position"]) == [1, 2]
    assert [None if pd.isna(s) else int(s) for s in chart["streams"]] == streams
    assert set(chart["chart"]) == {"regional-global-daily-2020-06-01"}
    assert chart["url"].str.startswith("https://open.spotify.com/track/").all()
    assert chart["title"][0] in ("Blinding Lights", "Savage Love (Laxed - Siren Beat)")
    if streams[0] is None:
        assert chart["artist"][0] == "Jawsh 685, Jason Derulo"  # a quoted comma stays in the field


@pytest.mark.parametrize("text, message", [
    ("", "not a Spotify chart export"),
    ("track,artist\nBlinding Lights,The Weeknd\n", "not a Spotify chart export"),
    ('Position,"Track Name",Streams\n1,x,3\n', "the header lacks Artist, URL"),
    ('Position,"Track Name",Artist,URL\n', "no entries"),
    ('Position,"Track Name",Artist,URL\n1,Song,Someone\n', ":2: 3 fields, the header has 4"),
    ('Position,"Track Name",Artist,URL\none,Song,Someone,u\n', "Position must be a whole number"),
    ('Position,"Track Name",Artist,URL\n0,Song,Someone,u\n', "Position must be positive"),
    ('Position,"Track Name",Artist,Streams,URL\n1,Song,Someone,lots,u\n', "Streams must be a whole number"),
    ('Position,"Track Name",Artist,URL\n1,,Someone,u\n', "no track name"),
    ('Position,"Track Name",Artist,URL\n1,A,B,u\n1,C,D,u\n', "position 1 appears twice"),
])
def test_a_malformed_file_fails_with_a_clear_error(tmp_path, text, message):
    path = tmp_path / "chart.csv"
    path.write_text(text)
    with pytest.raises(ChartError, match=message) as caught:
        read_chart(path)
    assert str(caught.value).startswith(str(path))


def test_missing_and_binary_files_fail_clearly(tmp_path):
    with pytest.raises(ChartError, match="no such file"):
        read_chart(tmp_path / "nope.csv")
    (tmp_path / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    with pytest.raises(ChartError, match="not a text file"):
        read_chart(tmp_path / "cover.png")

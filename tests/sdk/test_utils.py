"""``_utils``: path segments and query strings."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from saas_litellm_client._utils import path_segment, with_query


def test_path_segment_quotes_everything_that_could_leave_the_segment() -> None:
    assert path_segment("a/b?c#d%e", "job_id") == "a%2Fb%3Fc%23d%25e"
    assert path_segment("acme-corp.eu:1@x", "team_id") == "acme-corp.eu%3A1%40x"


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_path_segment_refuses_empty_and_dot_ids(bad: str) -> None:
    with pytest.raises(ValueError, match="team_id must be a non-empty id"):
        path_segment(bad, "team_id")


def test_with_query_leaves_out_none_and_writes_datetimes_as_iso() -> None:
    since = datetime(2026, 1, 1, tzinfo=timezone.utc)

    assert with_query("/p") == "/p"
    assert with_query("/p", a=None) == "/p"
    assert (
        with_query("/p", since=since, limit=5)
        == "/p?since=2026-01-01T00%3A00%3A00%2B00%3A00&limit=5"
    )

"""Edit distance and "did you mean" suggestions."""

import pytest

from domain.spelling import closest, distance


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("monitoring", "monitoring", 0),
        ("monitorng", "monitoring", 1),  # a letter left out
        ("monitorinng", "monitoring", 1),  # one too many
        ("idnetified", "identified", 1),  # two letters swapped
        ("mitigatinf", "mitigating", 1),  # one wrong
        ("investigated", "investigating", 3),
        ("", "abc", 3),
    ],
)
def test_distance_counts_a_swap_as_one_edit(a: str, b: str, expected: int) -> None:
    assert distance(a, b) == expected


def test_closest_only_when_close_enough() -> None:
    names = ["update", "resolve", "declare", "status", "severity"]
    assert closest("updte", names) == "update"
    assert closest("UPDAET", names) == "update"
    assert closest("resovle", names) == "resolve"
    assert closest("frobnicate", names) is None
    assert closest("sta", names) is None  # a short word is too far from everything
    assert closest("announce_chanel", ["announce_channel", "channel_prefix"]) == "announce_channel"

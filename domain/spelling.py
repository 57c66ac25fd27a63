"""How far apart two words are, and the closest of some known names ("did you mean")."""

from __future__ import annotations

from collections.abc import Iterable


def distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`; case counts."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[len(b)]


def closest(word: str, names: Iterable[str]) -> str | None:
    """The name nearest to `word` (case ignored) when it is close enough to be a typo of it: one edit for
    a word of up to four letters, two for a longer one, never half the word or more."""
    word = word.lower()
    limit = 1 if len(word) <= 4 else 2
    best: tuple[int, str] | None = None
    for name in names:
        d = distance(word, name.lower())
        if d <= limit and d * 2 < max(len(word), 1) and (best is None or d < best[0]):
            best = (d, name)
    return best[1] if best else None

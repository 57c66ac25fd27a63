"""Where a py-spy recording (`--format raw`, collapsed stacks) says the time went.

python bench/_profile.py FILE [FILE ...] [--top 15]

Prints, per file, the share of samples by the library or project module of the innermost frame
(self time), the share of samples with a given library or module anywhere on the stack (inclusive),
the hottest innermost functions, and the innermost project function of each sample (the event loop's
own work and the threads' waiting show as "-").
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*) \((?P<path>[^():]+)(?::\d+)?\)$")
PROJECT = ("bot", "handlers", "services", "runtime", "storage", "messages", "domain", "config", "web")


def owner(path: str) -> str:
    """A frame's library or stdlib package (`sqlalchemy`, `asyncio`), stdlib module (`selectors.py`) or
    project module (`runtime/inbox.py`); py-spy names files relative to their sys.path entry."""
    parts = Path(path.split("site-packages/")[-1]).parts
    if len(parts) > 1 and parts[0] in PROJECT:
        return "/".join(parts[:2])
    return parts[0] if parts else path


def parse(path: Path) -> list[tuple[str, list[tuple[str, str]], int]]:
    """[(process, stack of (function, owner), samples)] of a raw py-spy file, outermost frame first."""
    stacks = []
    for line in path.read_text().splitlines():
        body, _, count = line.rpartition(" ")
        if not body or not count.isdigit():
            continue
        process, frames = "", []
        for raw in body.split(";"):
            if raw.startswith("process "):  # --subprocesses: which process the stack is from
                process = raw.split(":", 1)[-1].strip().strip('"')[:60]
                continue
            m = _FRAME.match(raw.strip())
            if m:  # thread markers have no (file:line)
                frames.append((m.group("func"), owner(m.group("path"))))
        if frames:
            stacks.append((process, frames, int(count)))
    return stacks


def summary(path: Path, top: int = 15) -> str:
    """The text report for one recording."""
    stacks = parse(path)
    total = sum(n for _, _, n in stacks) or 1
    by_process: Counter[str] = Counter()
    leaf_owner: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    leaf_func: Counter[str] = Counter()
    project: Counter[str] = Counter()
    for process, frames, n in stacks:
        mine = [f"{func} ({own})" for func, own in frames if "/" in own and own != "bot/__main__.py"]
        thread = "main" if frames[0][1] == "<frozen runpy>" else "thread"
        project[f"{mine[-1] if mine and mine[-1] != 'main (bot/cli.py)' else '-'} [{thread}]"] += n
        by_process[process or "(the process)"] += n
        func, own = frames[-1]
        leaf_owner[own] += n
        leaf_func[f"{func} ({own})"] += n
        for name in {o for _, o in frames}:
            anywhere[name] += n

    def table(counter: Counter[str]) -> list[str]:
        return [f"  {100 * n / total:5.1f}%  {name}" for name, n in counter.most_common(top)]

    lines = [f"{path.name}: {total} samples (not idle)", "by process:", *table(by_process)]
    lines += ["self, by library or module:", *table(leaf_owner)]
    lines += ["on the stack (inclusive):", *table(anywhere)]
    lines += ["hottest innermost functions:", *table(leaf_func)]
    lines += ["by the innermost project function, libraries below it included [thread]:", *table(project)]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    for file in args.files:
        print(summary(file, args.top))

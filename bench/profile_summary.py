"""Where a py-spy profile (``py-spy record --format raw``: collapsed stacks) spends its samples.

Prints the share of samples per thread, then the functions with the most samples inside them
(inclusive) and on top of the stack (self), and the share spent in each package (by the file of the
topmost frame: our code, SQLAlchemy, asyncpg, paho, the standard library, …).

    .venv/bin/python bench/profile_summary.py PROFILE.txt [--top 25] [--thread NAME]
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")
_PACKAGES = ("cylinder_trace", "sqlalchemy", "asyncpg", "paho", "orjson", "pydantic", "asyncio", "json", "hmac",
             "hashlib", "uuid", "datetime", "ssl", "selectors", "socket", "threading")


def frames(stack: str) -> list[tuple[str, str]]:
    out = []
    for part in stack.split(";"):
        m = _FRAME.match(part.strip())
        out.append((m.group("func"), m.group("file")) if m else (part.strip(), ""))
    return out


def package(file: str) -> str:
    for name in _PACKAGES:
        if f"/{name}/" in file or file.endswith(f"/{name}.py") or file.startswith(f"{name}/"):
            return name
    return "other" if file else "native"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--thread", help="only stacks whose thread frame contains this")
    args = parser.parse_args()
    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in args.profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        parts = frames(stack)
        thread = parts[0][0] if parts and parts[0][0].startswith(("process", "thread", "Thread")) else "?"
        if args.thread and args.thread not in thread:
            continue
        threads[thread] += n
        total += n
        for func, file in {(f, fl) for f, fl in parts[1:]}:
            inclusive[f"{func} ({Path(file).name})"] += n
        func, file = parts[-1]
        own[f"{func} ({Path(file).name})"] += n
        packages[package(file)] += n
    if not total:
        raise SystemExit("no samples")
    print(f"{total} samples")
    for title, counter in (("threads", threads), ("package of the topmost frame", packages)):
        print(f"\n{title}:")
        for name, n in counter.most_common(args.top):
            print(f"  {100 * n / total:5.1f} %  {name}")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"\n{title}:")
        for name, n in counter.most_common(args.top):
            print(f"  {100 * n / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()

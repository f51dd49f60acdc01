"""Decode rate and time of ``decode_codes`` against plain pyzbar and zxing-cpp on synthetic photos.

    .venv/bin/python bench/bench_scan.py                 # 200 images, seed 2024, prints the tables
    .venv/bin/python bench/bench_scan.py --write         # and writes bench/RESULTS-scan.md

Every decoder gets the JPEG bytes and its time includes decoding the JPEG (``load_gray`` for all three).
A hit is a read of the expected code; a misread is a valid cylinder code other than the expected one.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import cv2
import zxingcpp
from pyzbar import pyzbar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the synthetic photos live with the tests

from cylinder_trace.domain.codes import InvalidCode, code_from_scan
from cylinder_trace.labels.scan import decode_codes, load_gray
from tests.support.label_photos import CATEGORIES, SynthSample, synth_set

RESULTS = Path(__file__).with_name("RESULTS-scan.md")
NOTES = "## Notes"


def _codes(texts: Iterable[str]) -> set[str]:
    found = set()
    for text in texts:
        with contextlib.suppress(InvalidCode):
            found.add(code_from_scan(text).code)
    return found


def ours(jpeg: bytes, budget_s: float) -> tuple[set[str], str | None]:
    result = decode_codes(jpeg, budget_s=budget_s)
    return {grai.code for grai in result.codes}, result.method


def plain_pyzbar(jpeg: bytes, budget_s: float) -> tuple[set[str], str | None]:
    return _codes(r.data.decode("utf-8", errors="replace") for r in pyzbar.decode(load_gray(jpeg))), None


def plain_zxing(jpeg: bytes, budget_s: float) -> tuple[set[str], str | None]:
    return _codes(r.text for r in zxingcpp.read_barcodes(load_gray(jpeg))), None


DECODERS: dict[str, Callable[[bytes, float], tuple[set[str], str | None]]] = {
    "decode_codes": ours,
    "pyzbar.decode": plain_pyzbar,
    "zxingcpp": plain_zxing,
}


@dataclass
class Tally:
    hits: Counter[str] = field(default_factory=Counter)
    misreads: int = 0
    times: list[float] = field(default_factory=list)
    methods: Counter[str] = field(default_factory=Counter)


def run(samples: list[SynthSample], budget_s: float) -> dict[str, Tally]:
    tallies = {name: Tally() for name in DECODERS}
    for sample in samples:
        for name, decoder in DECODERS.items():
            start = time.perf_counter()
            found, method = decoder(sample.jpeg, budget_s)
            tally = tallies[name]
            tally.times.append(time.perf_counter() - start)
            if sample.code in found:
                tally.hits[sample.category] += 1
                if method is not None:
                    tally.methods[method] += 1
            tally.misreads += len(found - {sample.code})
    return tallies


def report(samples: list[SynthSample], tallies: dict[str, Tally]) -> str:
    per_category = Counter(s.category for s in samples)
    names = list(DECODERS)
    lines = ["| category | n | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for category in CATEGORIES:
        n = per_category[category]
        cells = [f"{tallies[name].hits[category] / n:6.1%}" for name in names]
        lines.append(f"| {category} | {n} | " + " | ".join(cells) + " |")
    total = len(samples)
    overall = [f"**{sum(tallies[name].hits.values()) / total:.1%}**" for name in names]
    lines.append(f"| **overall** | {total} | " + " | ".join(overall) + " |")
    lines += ["", "| per 1280×720 image | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, pick in (("median", 0.5), ("p95", 0.95), ("max", 1.0)):
        cells = []
        for name in names:
            times = sorted(tallies[name].times)
            value = statistics.median(times) if pick == 0.5 else times[min(len(times) - 1, int(pick * len(times)))]
            cells.append(f"{value * 1000:.0f} ms")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| misreads | " + " | ".join(str(tallies[name].misreads) for name in names) + " |")
    methods = ", ".join(f"{m} {c}" for m, c in tallies["decode_codes"].methods.most_common())
    lines += ["", f"decode_codes, preparation that read the code: {methods}"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--budget", type=float, default=1.5, help="decode_codes time budget, seconds")
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.name}")
    args = parser.parse_args()

    started = time.perf_counter()
    samples = synth_set(args.count, seed=args.seed)
    generated = time.perf_counter() - started
    tallies = run(samples, args.budget)
    table = report(samples, tallies)
    header = (
        f"{args.count} synthetic 1280×720 JPEG photos (`synth_set({args.count}, seed={args.seed})`), "
        f"decode_codes budget {args.budget} s; generated in {generated:.0f} s.\n"
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"zxing-cpp {version('zxing-cpp')}, pyzbar {version('pyzbar')}, OpenCV {cv2.__version__}.\n"
    )
    print(header)
    print(table)
    if args.write:
        today = dt.date.today().isoformat()
        command = "bench/bench_scan.py " + " ".join(sys.argv[1:])
        # the hand-written analysis under "## Notes" survives a re-run
        previous = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        notes = previous[previous.index(NOTES) :] if NOTES in previous else ""
        RESULTS.write_text(
            f"# Scan benchmark, {today}\n\n`.venv/bin/python {command.strip()}`\n\n{header}\n{table}\n\n{notes}",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()

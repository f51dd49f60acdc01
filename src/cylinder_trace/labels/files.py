"""Label files for many codes at once (the ``cylinder-trace labels`` command): one A4 PDF sheet, and/or a
folder of one PNG per code, drawn on every CPU."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .render import LabelSpec, label_png, label_sheet_pdf

Progress = Callable[[int], None]


def write_pdf(specs: Sequence[LabelSpec], path: Path, progress: Progress | None = None) -> int:
    """The sheet for ``specs`` written to ``path`` (atomically: a half-written PDF never replaces a good one)."""
    data = label_sheet_pdf(specs, progress=progress)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)
    return len(data)


def _png(job: tuple[str, str, str, str]) -> str:
    code, link, company, folder = job
    (Path(folder) / f"{code}.png").write_bytes(label_png(code, link, company))
    return code


def write_pngs(specs: Sequence[LabelSpec], folder: Path, progress: Progress | None = None,
               workers: int | None = None) -> int:
    """``<code>.png`` in ``folder`` for each label (a code given twice is drawn once)."""
    folder.mkdir(parents=True, exist_ok=True)
    unique = {s.code: s for s in specs}
    jobs = [(s.code, s.digital_link, s.company_name, str(folder)) for s in unique.values()]
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    if workers == 1:
        for job in jobs:
            _png(job)
            if progress is not None:
                progress(1)
        return len(jobs)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(_png, jobs, chunksize=16):
            if progress is not None:
                progress(1)
    return len(jobs)

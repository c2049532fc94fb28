"""The batch's index: one row per run folder of ``--out``, as ``index.csv`` (and ``index.html``, index_html.py).

Rows come from the run folders alone (``batch.json`` + ``run.json``), never
from the batch that made them: a batch killed mid-way and run again gives
the same index as one that ran straight through (apart from the timing
column, :data:`TIMING_COLUMNS`). Columns::

    name, input, trainee, status, reason, duration_s, link,
    count:<rule> ...   events per rule (every rule any run enabled; 0 when none)
    share:<rule> ...   share of judged time each desired state held (blank: never judged)
    analysis_s         the run's analysis time (a timing: differs from run to run)
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from vision.batch.state import BATCH_JSON, read_batch_json

BASE_COLUMNS = ["name", "input", "trainee", "status", "reason", "duration_s", "link"]
TIMING_COLUMNS = ["analysis_s"]
INDEX_CSV, INDEX_HTML = "index.csv", "index.html"


@dataclass
class Row:
    name: str
    input: str
    trainee: Optional[str]
    status: str  # run.json's status, or failed/running from batch.json when the run wrote none
    reason: Optional[str]
    duration_s: Optional[float]
    link: str  # relative to the index: the report if there is one, else the run folder
    counts: Dict[str, int] = field(default_factory=dict)
    shares: Dict[str, Optional[float]] = field(default_factory=dict)
    kinds: Dict[str, str] = field(default_factory=dict)  # rule -> violation | desired | ...
    analysis_s: Optional[float] = None


def _run_json(run_dir: Path) -> Optional[Dict]:
    try:
        return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_row(run_dir: Path) -> Optional[Row]:
    """The index row of one run folder, or None when the batch did not make it (no ``batch.json``)."""
    batch = read_batch_json(run_dir)
    if batch is None:
        return None
    run = _run_json(run_dir)
    name = run_dir.name
    link = f"{name}/report.html" if (run_dir / "report.html").is_file() else f"{name}/"
    inp = batch.get("input", {}).get("path", "")
    if run is None or batch.get("status") == "failed":
        return Row(name, inp, batch.get("trainee"), batch.get("status") or "failed", batch.get("reason"), None, link)
    status = run.get("status", "")
    if batch.get("status") == "running" and status == "complete":  # killed after the run, before batch.json
        status = "interrupted"
    enabled = run.get("rules", {}).get("enabled", [])
    catalogue = run.get("rules", {}).get("catalogue", {})
    shares = {r: v.get("share") for r, v in (run.get("time_share") or {}).items()}
    kinds = {r: catalogue.get(r, {}).get("kind", "desired" if r in shares else "violation") for r in enabled}
    counts = {r: int(run.get("counts", {}).get(r, 0)) for r in enabled}
    reason = run.get("status_reason") if status != "complete" else None
    return Row(name, inp, batch.get("trainee"), status, reason, run.get("input", {}).get("duration_s"), link,
               counts, shares, kinds, (run.get("timings") or {}).get("total_s"))


def collect(out_dir: Path) -> List[Row]:
    """Every batch run folder directly under ``out_dir``, in name order."""
    out = Path(out_dir)
    if not out.is_dir():
        return []
    rows = (read_row(d) for d in sorted(out.iterdir()) if (d / BATCH_JSON).is_file())
    return [r for r in rows if r is not None]


def rule_columns(rows: List[Row]) -> tuple:
    """(rules counted, desired rules with a share), each sorted."""
    counted = sorted({r for row in rows for r in row.counts})
    shared = sorted({r for row in rows for r in row.shares})
    return counted, shared


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def write_csv(rows: List[Row], path: Path) -> Path:
    counted, shared = rule_columns(rows)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(BASE_COLUMNS + [f"count:{r}" for r in counted] + [f"share:{r}" for r in shared] + TIMING_COLUMNS)
        for row in rows:
            base = [row.name, row.input, row.trainee, row.status, row.reason, row.duration_s, row.link]
            w.writerow([_cell(v) for v in base]
                       + [_cell(row.counts.get(r)) if row.counts else "" for r in counted]
                       + [_cell(row.shares.get(r)) for r in shared] + [_cell(row.analysis_s)])
    return Path(path)


def read_csv(path: Path) -> List[Dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))

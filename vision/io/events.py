"""Stage 7: the event log.

``events.jsonl`` holds one JSON object a line, appended and flushed as each
event closes, so a crash loses nothing already closed. Times are seconds from
the start of the input; **both ends are inclusive**: ``end_s`` is the time of
the last frame on which the rule held (a one-frame event has
``start_s == end_s``). Any other source (an audio analyser, say) can add
events to the same log: an event needs only a time range, a rule id and
evidence.
"""
from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Dict, Iterable, List, Optional

SCHEMA_VERSION = 1
CSV_COLUMNS = ["rule", "kind", "start_s", "end_s", "duration_s", "start_frame", "end_frame", "person",
               "severity", "clause", "message_zh", "message_en", "peak_feature", "peak_value", "peak_time_s",
               "region", "source"]


@dataclass
class Event:
    """One timed moment. ``end_s`` and ``end_frame`` are inclusive."""

    rule: str
    kind: str
    start_s: float
    end_s: float
    start_frame: int
    end_frame: int
    person: int
    severity: str
    clause: str
    message_zh: str
    message_en: str
    peak: Dict = field(default_factory=dict)  # {"feature", "value", "time_s", "frame"}
    evidence: Dict = field(default_factory=dict)
    source: str = "vision"

    def __post_init__(self) -> None:
        if self.end_s < self.start_s:
            raise ValueError(f"Event {self.rule}: end_s {self.end_s} is before start_s {self.start_s}")
        if self.end_frame < self.start_frame:
            raise ValueError(f"Event {self.rule}: end_frame {self.end_frame} is before start_frame {self.start_frame}")

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_json(self) -> Dict:
        d = {f: getattr(self, f) for f in _FIELDS}
        d["peak"], d["evidence"] = dict(self.peak), dict(self.evidence)
        for k in ("start_s", "end_s"):
            d[k] = round(d[k], 4)
        d["duration_s"] = round(d["end_s"] - d["start_s"], 4)  # from the rounded ends: a read-back log agrees
        return d

    @classmethod
    def from_json(cls, d: Dict) -> "Event":
        d = {k: v for k, v in d.items() if k != "duration_s"}
        return cls(**d)


_FIELDS = [f.name for f in fields(Event)]


class EventWriter:
    """Appends events to ``events.jsonl``, flushing and syncing each line.

    ``sync_each=False`` (a whole log written at once, e.g. a re-analysis)
    syncs once, at close.
    """

    def __init__(self, path: str | Path, sync_each: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "w", encoding="utf-8")
        self.sync_each = sync_each
        self.count = 0

    def write(self, event: Event) -> None:
        self._f.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
        if self.sync_each:
            self._f.flush()
            os.fsync(self._f.fileno())
        self.count += 1

    def close(self) -> None:
        if not self._f.closed:
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()

    def __enter__(self) -> "EventWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_events(path: str | Path) -> List[Event]:
    """Read an event log; a torn last line (crash mid-write) is skipped."""
    out = []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            out.append(Event.from_json(json.loads(line)))
        except (json.JSONDecodeError, TypeError):
            if i == len(lines) - 1:
                break
            raise
    return out


def write_csv(events: Iterable[Event], path: str | Path) -> None:
    with open(path, "w", newline="", encoding="utf-8-sig") as f:  # BOM: Excel reads the Chinese right
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for e in events:
            peak: Dict[str, Optional[float]] = e.peak or {}
            w.writerow([e.rule, e.kind, f"{e.start_s:.3f}", f"{e.end_s:.3f}", f"{e.duration_s:.3f}",
                        e.start_frame, e.end_frame, e.person, e.severity, e.clause, e.message_zh,
                        e.message_en, peak.get("feature", ""), peak.get("value", ""), peak.get("time_s", ""),
                        e.evidence.get("region", ""), e.source])

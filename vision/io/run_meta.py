"""``run.json``, schema version 2: what a run was, typed and checked at the door.

Every key is declared below (:data:`SCHEMA`); :func:`check_run_json` names
the key and the expected type of the first value that does not fit.
:func:`write_run_json` checks, then writes atomically (a temporary file,
then ``os.replace``), so a reader never sees half a file. A run writes a
provisional ``run.json`` (``status: interrupted``) before its first frame and
rewrites it as it goes, so even a killed run leaves a readable folder.

Outputs never re-read ``rules.yaml``: ``rules.catalogue`` is the snapshot of
every rule's texts as the run judged them. A ``run.json`` of schema version
1 (no ``schema_version`` key) is upgraded on reading.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, TypedDict

SCHEMA_VERSION = 2
STATUSES = ("complete", "partial", "interrupted", "failed")
OUTPUT_KEYS = ("annotated", "report", "clips")


class RunMetaError(ValueError):
    """``run.json`` does not fit the schema (one line naming the key)."""


class ToolMeta(TypedDict):
    name: str
    version: str
    python: str
    event_schema: int


class InputMeta(TypedDict):
    path: str
    kind: str  # video | folder | image | camera
    fps: float
    frame_count: int
    width: int
    height: int
    duration_s: float
    start_s: float
    end_s: Optional[float]
    sample_fps: Optional[float]
    warnings: List[str]


class RuleText(TypedDict):
    kind: str
    severity: str
    clause: str
    message_zh: str
    message_en: str
    experimental: bool


class RulesMeta(TypedDict):
    path: str
    sha256: str
    enabled: List[str]
    experimental: List[str]
    catalogue: Dict[str, RuleText]


class Judged(TypedDict):
    judged_s: float
    not_judged_s: float
    reasons: Dict[str, float]  # reason -> seconds
    # optional: [[start_s, end_s, reason], ...] runs of analysed frames not judged (ends inclusive)
    spans: List[list]


class RunMeta(TypedDict, total=False):
    schema_version: int
    tool: ToolMeta
    status: str
    status_reason: Optional[str]
    input: InputMeta
    models: Dict[str, Any]  # {backend, models_dir, files: {role: {file, sha256}}}
    rules: RulesMeta
    options: Dict[str, Any]
    subject: Dict[str, Any]  # {id (null: nobody found), how, reason}
    customer: Dict[str, Any]  # {id, how, reason}
    people: List[Dict[str, Any]]  # [{id, role, seconds_on_screen, first_s, last_s}]
    judged: Dict[str, Judged]
    time_share: Dict[str, Any]
    baseline: Optional[Dict[str, Any]]
    appearance: Dict[str, Any]
    counts: Dict[str, int]
    timings: Dict[str, Any]
    reanalysis: Dict[str, Any]
    outputs: Dict[str, Optional[str]]


# --- the checker ----------------------------------------------------------------
class _Opt:
    def __init__(self, t):
        self.t = t


class _List:
    def __init__(self, t):
        self.t = t


class _Map:
    def __init__(self, t):
        self.t = t


NUM = (int, float)
_JUDGED = {"judged_s": NUM, "not_judged_s": NUM, "reasons": _Map(NUM)}
_RULE_TEXT = {"kind": str, "severity": str, "clause": str, "message_zh": str, "message_en": str,
              "experimental": bool}
#: key -> expected type; a dict is a nested object whose keys are all required (others are allowed).
SCHEMA: Dict[str, Any] = {
    "schema_version": int,
    "tool": {"name": str, "version": str, "python": str, "event_schema": int},
    "status": str,
    "status_reason": _Opt(str),
    "input": {"path": str, "kind": str, "fps": NUM, "frame_count": int, "width": int, "height": int,
              "duration_s": NUM, "start_s": NUM, "end_s": _Opt(NUM), "sample_fps": _Opt(NUM),
              "warnings": _List(str)},
    "models": {"backend": str, "models_dir": _Opt(str), "files": dict},
    "rules": {"path": str, "sha256": str, "enabled": _List(str), "experimental": _List(str),
              "catalogue": _Map(_RULE_TEXT)},
    "options": dict,
    "subject": {"id": _Opt(int), "how": str, "reason": str},  # id null: nobody was found to judge
    "customer": {"id": _Opt(int), "how": str, "reason": str},
    "people": _List({"id": int, "role": str, "seconds_on_screen": NUM, "first_s": _Opt(NUM),
                     "last_s": _Opt(NUM)}),
    "judged": _Map(_JUDGED),
    "time_share": dict,
    "baseline": _Opt(dict),
    "appearance": dict,
    "counts": _Map(int),
    "timings": dict,
    "outputs": {k: _Opt(str) for k in OUTPUT_KEYS},
}
OPTIONAL_KEYS = {"reanalysis": dict}


def _name(t) -> str:
    if isinstance(t, _Opt):
        return f"{_name(t.t)} or null"
    if isinstance(t, _List):
        return f"list of {_name(t.t)}"
    if isinstance(t, _Map):
        return f"object of {_name(t.t)}"
    if isinstance(t, dict):
        return "object"
    if isinstance(t, tuple):
        return "number"
    return {str: "string", int: "integer", bool: "true/false", dict: "object"}.get(t, t.__name__)


def _check(where: str, value, t) -> None:
    if isinstance(t, _Opt):
        if value is not None:
            _check(where, value, t.t) if isinstance(t.t, (_List, _Map, dict)) else _need(where, value, t.t, t)
        return
    if isinstance(t, _List):
        _need(where, value, list, t)
        for i, v in enumerate(value):
            _check(f"{where}[{i}]", v, t.t)
        return
    if isinstance(t, (_Map, dict)):
        _need(where, value, dict, t)
        items = value.items() if isinstance(t, _Map) else [(k, value.get(k, _MISSING)) for k in t]
        for k, v in items:
            sub = t.t if isinstance(t, _Map) else t[k]
            if v is _MISSING:
                raise RunMetaError(f"run.json: {where}.{k}: missing (expected {_name(sub)})")
            _check(f"{where}.{k}", v, sub)
        return
    _need(where, value, t, t)


_MISSING = object()


def _need(where: str, value, py_type, t) -> None:
    ok = isinstance(value, py_type) and not (isinstance(value, bool) and py_type in (int, NUM))
    if not ok:
        raise RunMetaError(f"run.json: {where}: expected {_name(t)}, got {type(value).__name__} {value!r:.60}")


def check_run_json(doc: Dict) -> RunMeta:
    """``doc`` if it fits schema version 2; else :class:`RunMetaError` naming the key and expected type."""
    if not isinstance(doc, dict):
        raise RunMetaError(f"run.json: expected an object, got {type(doc).__name__}")
    for key, t in SCHEMA.items():
        if key not in doc:
            raise RunMetaError(f"run.json: {key}: missing (expected {_name(t)})")
        _check(key, doc[key], t)
    for key, t in OPTIONAL_KEYS.items():
        if key in doc:
            _check(key, doc[key], t)
    for rule, j in doc["judged"].items():
        for i, span in enumerate(j.get("spans", [])):  # optional (runs before it have none)
            if not (isinstance(span, list) and len(span) == 3 and all(isinstance(x, NUM) and not isinstance(x, bool)
                                                                      for x in span[:2])
                    and isinstance(span[2], str) and span[0] <= span[1]):
                raise RunMetaError(f"run.json: judged.{rule}.spans[{i}]: expected [start_s, end_s, reason] with "
                                   f"start_s <= end_s, got {span!r:.80}")
    if doc["schema_version"] != SCHEMA_VERSION:
        raise RunMetaError(f"run.json: schema_version: expected {SCHEMA_VERSION}, got {doc['schema_version']}")
    if doc["status"] not in STATUSES:
        raise RunMetaError(f"run.json: status: expected one of {', '.join(STATUSES)}, got {doc['status']!r}")
    return doc  # type: ignore[return-value]


# --- reading and writing ---------------------------------------------------------------
def write_run_json(run_dir: str | Path, doc: Dict) -> Path:
    """Check ``doc``, then write ``run_dir/run.json`` atomically (temporary file + ``os.replace``)."""
    check_run_json(doc)
    path = Path(run_dir) / "run.json"
    tmp = path.with_name("run.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(doc, ensure_ascii=False, indent=2))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def read_run_json(run_dir: str | Path) -> RunMeta:
    """Read and check ``run_dir/run.json``; a schema 1 file is upgraded in memory."""
    path = Path(run_dir) / "run.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunMetaError(f"{path}: unreadable ({exc})") from None
    if isinstance(doc, dict) and "schema_version" not in doc:
        doc = upgrade_v1(doc)
    try:
        return check_run_json(doc)
    except RunMetaError as exc:
        raise RunMetaError(f"{path}: {exc}") from None


def record_output(run_dir: str | Path, key: str, path: Optional[str | Path]) -> None:
    """Set ``outputs[key]`` (annotated, report, clips) to ``path``, relative to the run folder when inside it."""
    if key not in OUTPUT_KEYS:
        raise ValueError(f"outputs key must be one of {OUTPUT_KEYS}, got {key!r}")
    doc = read_run_json(run_dir)
    value = None
    if path is not None:
        p, d = Path(path).resolve(), Path(run_dir).resolve()
        value = str(p.relative_to(d)) if p.is_relative_to(d) else str(p)
    doc["outputs"][key] = value
    write_run_json(run_dir, doc)


def upgrade_v1(doc: Dict) -> Dict:
    """A schema 1 ``run.json`` as schema 2: the same facts, the new keys filled with what is known."""
    out = dict(doc)
    out["schema_version"] = SCHEMA_VERSION
    tool = dict(out.get("tool") or {})
    out["tool"] = {"name": "conduct-coach", "version": str(tool.get("version", "unknown")),
                   "python": str(tool.get("python", "unknown")), "event_schema": int(tool.get("event_schema", 1))}
    out.setdefault("status", "complete")
    out.setdefault("status_reason", None)
    inp = dict(out.get("input") or {})
    for k, v in {"path": "", "kind": "video", "fps": 0.0, "frame_count": 0, "width": 0, "height": 0,
                 "duration_s": 0.0, "start_s": 0.0, "end_s": None, "sample_fps": None, "warnings": []}.items():
        inp.setdefault(k, v)
    out["input"] = inp
    names = dict(out.get("models") or {})
    out["models"] = {"backend": "holistic", "models_dir": None, "files": {}, "names": names}
    rules = dict(out.get("rules") or {})
    rules.setdefault("path", "")
    rules.setdefault("sha256", "")
    rules.setdefault("enabled", [])
    rules.setdefault("experimental", [])
    rules.setdefault("catalogue", {})
    out["rules"] = rules
    out.setdefault("options", {})
    sid = out.get("subject", 0)
    out["subject"] = sid if isinstance(sid, dict) else single_subject(int(sid or 0))
    out.setdefault("customer", no_customer())
    out.setdefault("people", [])
    old = out.pop("not_judged", {}) or {}
    out["judged"] = {r: {"judged_s": 0.0, "not_judged_s": float(v.get("wrong_view_s", 0.0)),
                         "reasons": {"camera_view": float(v.get("wrong_view_s", 0.0))}} for r, v in old.items()}
    for k in ("time_share", "appearance", "counts", "timings"):
        out.setdefault(k, {})
    out.setdefault("baseline", None)
    out.setdefault("outputs", {k: None for k in OUTPUT_KEYS})
    return out


def single_subject(person_id: int = 0) -> Dict[str, Any]:
    """The subject of a single-person run (until tracking lands)."""
    return {"id": person_id, "how": "auto", "reason": "one person tracked"}


def no_customer() -> Dict[str, Any]:
    return {"id": None, "how": "none", "reason": "one person tracked"}

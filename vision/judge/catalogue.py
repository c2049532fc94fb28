"""The parts of the rules file every entry shares, and the entries judged by their own code.

``rules.py`` parses the condition rules; this module checks what every entry
of ``rules.yaml`` has (id, kind, clause, severity, message, enabled,
experimental) and parses the ``detectors:`` entries. Their ``options``
(thresholds) and ``messages`` (event texts) are checked by the code that uses
them (``gesture_registry.py``, ``appearance.py``) through
:meth:`DetectorEntry.build_options` and :meth:`DetectorEntry.texts`, so this
module knows no detector, and errors still name the place in the file and
suggest the right key::

    rules.yaml: detectors[0] (hand.guide_form).options.jerk_mx: unknown key; did you mean 'jerk_max'?
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from typing import Dict, Iterable, Mapping, Optional, Tuple

from vision.features.table import FEATURES

SEVERITIES = ("info", "low", "medium", "high")
KINDS = ("violation", "desired")


class RulesError(Exception):
    """The rules file is invalid; the message says where and how to fix it."""


class Ctx:
    """Where in which file: raises RulesError naming the place."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, where: str, msg: str) -> None:
        raise RulesError(f"{self.path}: {where}: {msg}")

    def keys(self, where: str, obj, allowed: set) -> None:
        if not isinstance(obj, dict):
            self.fail(where, f"expected a mapping, got {type(obj).__name__}")
        _unknown(f"{self.path}: {where}", obj, allowed)

    def number(self, where: str, value, positive: bool = False, non_negative: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(where, f"must be a number, got {value!r}")
        if positive and not value > 0:
            self.fail(where, f"must be > 0, got {value}")
        if non_negative and value < 0:
            self.fail(where, f"must be >= 0, got {value}")
        return float(value)

    def feature(self, where: str, name) -> str:
        if name not in FEATURES:
            hint = difflib.get_close_matches(str(name), sorted(FEATURES), n=1)
            tip = f"; did you mean '{hint[0]}'?" if hint else ""
            self.fail(where, f"unknown feature {name!r}{tip}")
        return name


def parse_head(ctx: Ctx, where: str, obj, defaults: dict, allowed: set) -> Dict[str, object]:
    """The keys every catalogue entry has: id, kind, clause, severity, message, enabled, experimental."""
    ctx.keys(where, obj, allowed)
    rid = obj.get("id")
    for key in ("id", "clause", "message"):
        if key not in obj:
            ctx.fail(where, f"missing '{key}'")
    if not isinstance(rid, str) or not rid:
        ctx.fail(f"{where}.id", "must be a non-empty string such as 'sit.lean_back'")
    kind = obj.get("kind", "violation")
    if kind not in KINDS:
        ctx.fail(f"{where}.kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    severity = obj.get("severity", defaults.get("severity", "medium"))
    if severity not in SEVERITIES:
        hint = difflib.get_close_matches(str(severity), SEVERITIES, n=1)
        ctx.fail(f"{where}.severity", f"must be one of {', '.join(SEVERITIES)}, got {severity!r}"
                 + (f"; did you mean '{hint[0]}'?" if hint else ""))
    zh, en = _message(ctx, f"{where}.message", obj["message"])
    flags = {}
    for key, default in (("enabled", True), ("experimental", False)):
        flags[key] = obj.get(key, default)
        if not isinstance(flags[key], bool):
            ctx.fail(f"{where}.{key}", f"must be true or false, got {flags[key]!r}")
    return {"id": rid, "kind": kind, "clause": str(obj["clause"]), "severity": severity, "message_zh": zh,
            "message_en": en, **flags}


def _message(ctx: Ctx, where: str, msg, extra: Iterable[str] = ()) -> Tuple[str, str]:
    ctx.keys(where, msg, {"zh", "en", *extra})
    for lang in ("zh", "en"):
        if not isinstance(msg.get(lang), str) or not msg[lang].strip():
            ctx.fail(f"{where}.{lang}", "missing: every message has a Chinese and an English text")
    return msg["zh"].strip(), msg["en"].strip()


DETECTOR_KEYS = {"id", "kind", "clause", "severity", "message", "enabled", "experimental", "note", "options",
                 "messages"}


@dataclass(frozen=True)
class Entry:
    """What every id of the catalogue has: a condition rule (``rules.Rule``) or a detector entry."""

    id: str
    kind: str
    clause: str
    severity: str
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class DetectorEntry(Entry):
    """A rule judged by its own code (a whole movement, an appearance check), not by a condition.

    The common keys are checked here; ``options`` (thresholds) and ``messages``
    (event texts) are checked by the code that uses them, through
    :meth:`build_options` and :meth:`texts`, whose errors name this place.
    """

    enabled: bool
    experimental: bool
    options: Mapping[str, object]
    messages: Mapping[str, Mapping[str, str]]
    path: str  # the rules file
    place: str  # e.g. "detectors[0] (hand.guide_form)"

    @property
    def where(self) -> str:
        return f"{self.path}: {self.place}"

    def fail(self, key: str, msg: str) -> None:
        raise RulesError(f"{self.where}.{key}: {msg}")

    def build_options(self, cls):
        """``cls`` (a dataclass) from ``options``: every field given, each a number or a [low, high] pair."""
        return build_options(cls, self.options, f"{self.where}.options")

    def read_options(self, cls, keys: Iterable[str]) -> Dict[str, object]:
        """Some fields of ``cls`` from ``options`` (exactly ``keys``), for an options object built from several places."""
        return read_thresholds(cls, self.options, f"{self.where}.options", keys)

    def texts(self, names: Iterable[str]) -> Dict[str, Dict[str, str]]:
        """``messages`` with exactly ``names``: name -> {zh, en[, clause]}."""
        names = list(names)
        given = self.messages or {}
        if not isinstance(given, dict):
            self.fail("messages", f"expected a mapping of texts ({', '.join(names)}), got {type(given).__name__}")
        _unknown(self.where + ".messages", given, names)
        out = {}
        for name in names:
            if name not in given:
                self.fail("messages", f"missing '{name}'")
            zh, en = _message(Ctx(self.path), f"{self.place}.messages.{name}", given[name], extra=("clause",))
            out[name] = {"zh": zh, "en": en, "clause": str(given[name].get("clause", self.clause))}
        return out


def _unknown(where: str, given: Mapping, allowed: Iterable[str]) -> None:
    allowed = sorted(allowed)
    for k in given:
        if k not in allowed:
            hint = difflib.get_close_matches(str(k), allowed, n=1)
            tip = f"; did you mean '{hint[0]}'?" if hint else f"; allowed keys: {', '.join(allowed)}"
            raise RulesError(f"{where}.{k}: unknown key{tip}")


def read_thresholds(cls, given, where: str, keys: Optional[Iterable[str]] = None) -> Dict[str, object]:
    """Values for fields of the dataclass ``cls`` from a rules-file mapping: unknown keys get a did-you-mean,
    missing ones are named; a field annotated as a Tuple takes a [low, high] pair. ``keys``: the fields
    this mapping must give (default: all)."""
    if not isinstance(given, dict):
        raise RulesError(f"{where}: expected a mapping of thresholds, got {type(given).__name__}")
    specs = {f.name: f for f in fields(cls)}
    wanted = list(keys) if keys is not None else list(specs)
    _unknown(where, given, wanted)
    values: Dict[str, object] = {}
    for name in wanted:
        if name not in given:
            raise RulesError(f"{where}: missing '{name}' (every threshold is set in the rules file)")
        v = given[name]
        pair = "Tuple" in str(specs[name].type)
        if pair and not (isinstance(v, list) and len(v) == 2):
            raise RulesError(f"{where}.{name}: must be a list of 2 numbers [low, high], got {v!r}")
        for x in (v if pair else [v]):
            if isinstance(x, bool) or not isinstance(x, (int, float)):
                raise RulesError(f"{where}.{name}: must be a number, got {x!r}")
        values[name] = tuple(float(x) for x in v) if pair else float(v)
    return values


def build_options(cls, given, where: str):
    """The dataclass ``cls`` with every field from a rules-file mapping (see :func:`read_thresholds`)."""
    values = read_thresholds(cls, given, where)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise RulesError(f"{where}: {exc}") from None


def parse_detectors(ctx: Ctx, raw, defaults: dict) -> List[DetectorEntry]:
    """``detectors: [{id, kind, clause, severity, message, enabled, experimental, options, messages}, ...]``."""
    if not isinstance(raw, list):
        ctx.fail("detectors", "must be a list of entries like the rules (id, clause, message, options, ...)")
    out = []
    for i, obj in enumerate(raw):
        did = obj.get("id") if isinstance(obj, dict) else None
        where = f"detectors[{i}]" + (f" ({did})" if did else "")
        head = parse_head(ctx, where, obj, defaults, DETECTOR_KEYS)
        out.append(DetectorEntry(**head, options=obj.get("options") or {}, messages=obj.get("messages") or {},
                                 path=ctx.path, place=where))
    return out

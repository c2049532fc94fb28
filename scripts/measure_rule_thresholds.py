#!/usr/bin/env python3
"""Where the thresholds of rules.yaml's `rules:` section sit on the `split: tune` entries.

    python scripts/measure_rule_thresholds.py --runs RUNS [--labels ../shared/media/labels.yaml] [--rules rules.yaml]
        [--rule ID ...]

RUNS holds analysed run folders of the labelled files (landmark caches). Only `split: tune` entries are read:
`check` entries are never measured here. Each run's subject is judged again from its cache the way
``--reanalyze`` does (smoothing, features, calibrated baseline), and every comparison of every rule prints the
feature (minus the person's baseline where the comparison is ``relative``) per frame:

* ``in``: frames where the rule is labelled (a video's `events` intervals, a still listing it `present`);
* ``out``: frames of entries listing the rule `absent`, frames of a labelled video outside its intervals, and
  frames where the opposite state is labelled (:data:`OPPOSITE`: e.g. upright standing for leaning);

as n, p1, p5, p50, p95, p99, max, and how many ``out`` frames the enter threshold alone would flag (and ``in``
frames it would pass). Rules labelled nowhere on tune measure ``out`` over every tune frame.
"""
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from tune_data import judge_as_run, tune_args, tune_subjects  # noqa: E402
from vision.judge.rules import Comparison, Group, load_rules  # noqa: E402

#: A violation and the desired state that excludes it (and back): frames labelled with one are "out" of the other.
OPPOSITE = {"stand.no_leaning": ("stand.upright",), "sit.slouch": ("sit.upright",),
            "sit.lean_back": ("sit.upright",), "face.frown": ("face.smile",),
            "sit.upright": ("sit.slouch", "sit.lean_back"), "stand.upright": ("stand.no_leaning",)}
PCTS = (1, 5, 50, 95, 99)


def comparisons(group: Group, path: str = ""):
    """(where, comparison) of every comparison of a condition, `where` naming the nesting (e.g. `any.1.all`)."""
    for k, item in enumerate(group.items):
        if isinstance(item, Comparison):
            yield f"{path}{group.mode}", item
        else:
            yield from comparisons(item, f"{path}{group.mode}.{k}.")


def stats(v: np.ndarray) -> str:
    v = v[~np.isnan(v)]
    if not len(v):
        return "n 0"
    p = np.percentile(v, PCTS)
    return f"n {len(v)}, " + ", ".join(f"p{q} {x:.3g}" for q, x in zip(PCTS, p)) + f", max {v.max():.3g}"


def intervals(clip: dict, rule: str):
    """The labelled intervals of ``rule`` in an entry (a still's `present`: all of it), or []."""
    out = [(float(e["start"]), float(e["end"])) for e in clip.get("events") or [] if e["rule"] == rule]
    return out + ([(-np.inf, np.inf)] if rule in (clip.get("present") or []) else [])


def within(t: np.ndarray, spans) -> np.ndarray:
    out = np.zeros(len(t), bool)
    for s, e in spans:
        out |= (t >= s - 1e-9) & (t <= e + 1e-9)
    return out


def in_out(clip: dict, rule: str, t: np.ndarray):
    """Masks of the frames inside and outside labelled ``rule`` (see the module doc); None where not assessed."""
    spans = intervals(clip, rule)
    inside = within(t, spans)
    outside = np.zeros(len(t), bool)
    if rule in (clip.get("absent") or []):
        outside[:] = True
    elif spans and clip["kind"] == "video":
        outside = ~inside
    for other in OPPOSITE.get(rule, ()):
        outside |= within(t, intervals(clip, other))
    return inside, outside & ~inside


def judged_tables(labels: Path, runs: str, rules):
    """(clip, timestamps, feature table, baseline) of every complete tune run, judged as ``--reanalyze`` does."""
    for run in tune_subjects(labels, runs):
        _, engine, table = judge_as_run(run, rules)
        yield run.clip, table.timestamp_s, table.values, engine.baseline


def measure(rules, tables, only=None) -> None:
    for rule in rules.rules:
        if only and rule.id not in only:
            continue
        labelled = any(intervals(c, rule.id) or rule.id in (c.get("absent") or []) for c, *_ in tables)
        print(f"\n== {rule.id}" + ("" if labelled else "  (labelled nowhere on tune: out = every tune frame)"))
        both = [0, 0, 0, 0]  # the whole condition's enter (in the rule's views): in passing / in, out flagged / out
        for clip, t, values, baseline in tables:
            enter = rule.masks(values, baseline)[0] & rule.view_ok(values)
            inside, outside = in_out(clip, rule.id, t) if labelled else (np.zeros(len(t), bool), np.ones(len(t), bool))
            both = [both[0] + int((enter & inside).sum()), both[1] + int(inside.sum()),
                    both[2] + int((enter & outside).sum()), both[3] + int(outside.sum())]
        print(f"  whole condition enters on in frames {both[0]}/{both[1]}, on out frames {both[2]}/{both[3]}")
        for where, c in comparisons(rule.condition):
            ins, outs, n_in, n_out = [], [], 0, 0
            for clip, t, values, baseline in tables:
                v = values[c.feature] - (baseline.get(c.feature, np.nan) if c.relative else 0.0)
                inside, outside = in_out(clip, rule.id, t) if labelled else (np.zeros(len(t), bool), ~np.isnan(v))
                ins.append(v[inside])
                outs.append(v[outside])
                n_in += int(inside.any())
                n_out += int(outside.any())
            ins, outs = np.concatenate(ins), np.concatenate(outs)
            hit = (lambda x: x > c.enter) if c.op == "above" else (lambda x: x < c.enter)
            i_seen, o_seen = ins[~np.isnan(ins)], outs[~np.isnan(outs)]
            print(f"  [{where}] {c.feature}{' (relative)' if c.relative else ''} {c.op} {c.enter:g} exit {c.exit:g}")
            print(f"    in  ({n_in} entries): {stats(ins)}; passing {int(hit(i_seen).sum())}/{len(i_seen)}")
            print(f"    out ({n_out} entries): {stats(outs)}; flagged {int(hit(o_seen).sum())}/{len(o_seen)}")


def main() -> int:
    ap = tune_args(__doc__.splitlines()[0])
    ap.add_argument("--rule", nargs="*", help="only these rule ids")
    args = ap.parse_args()
    labels = Path(args.labels).resolve()
    rules = load_rules(args.rules)
    np.seterr(all="ignore")
    tables = list(judged_tables(labels, args.runs, rules))
    print(f"tune entries measured: {len(tables)} (runs {args.runs}, labels {labels})")
    measure(rules, tables, set(args.rule or ()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A rules file judged on the tune split and on its copies through other cameras, at once: what a threshold costs.

    python scripts/rejudge_versions.py --runs RUNS [--copies DIR ...] [--rules rules.yaml] [--split tune]
        [--families phone,face_touch,eating,posture_bad,smile]

RUNS holds analysed runs of ``../shared/media`` (``vision evaluate --analyze``); each DIR is an ``--out`` of
``scripts/augment_eval.py`` (``DIR/media/labels.yaml`` and ``DIR/runs``). Every runs folder is copied to a scratch
folder, judged again from its landmark cache with ``--rules`` (``vision evaluate --reanalyze``: no model runs, a
few seconds a version), and scored with the hidden set's scorer on the entries of ``--split``. One line a version
and family, then the sum over the versions: a change that moves the sum only on one version is noise (a re-encode
alone moves one episode), one that adds false events across versions is a cost. A version some of whose runs
re-judge with a warning (landmarks or object hits cached by another detection version: judged unlike a fresh
analysis) says so above its lines, naming the fix. The scratch copies are removed; the runs given are never written.

Only ``tune`` is for choosing: ``--split check`` measures a choice already made.
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

import yaml

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def judge(labels: Path, runs: Path, rules: str, split: str, scratch: Path, notes: Optional[list] = None) -> dict:
    """The scorer's families on ``split`` for ``runs`` judged again with ``rules`` (in a copy under ``scratch``);
    ``notes`` gets ``(run folder name, warning)`` for every run the re-judging warned about (``run.json``
    ``reanalysis.warnings``: e.g. object hits cached by an older object pass, judged unlike a fresh analysis)."""
    copy = scratch / "runs"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(runs, copy)
    done = subprocess.run([sys.executable, "-m", "vision", "evaluate", "--labels", str(labels), "--runs", str(copy),
                           "--reanalyze", "--rules", rules], cwd=str(REPO), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    # evaluate's per-run "note:" lines are summed up by the caller (``notes``); anything else it says is shown
    sys.stderr.write("".join(ln for ln in done.stderr.splitlines(keepends=True) if not ln.startswith("note:")))
    done.check_returncode()
    if notes is not None:
        for doc_path in sorted(copy.glob("**/run.json")):
            doc = json.loads(doc_path.read_text(encoding="utf-8"))
            notes += [(doc_path.parent.name, w.replace(str(copy.resolve()), str(runs)).replace(str(copy), str(runs)))
                      for w in (doc.get("reanalysis") or {}).get("warnings") or []]  # the fix names the given runs
    doc = yaml.safe_load(labels.read_text(encoding="utf-8"))
    part = scratch / "labels.yaml"
    part.write_text(yaml.safe_dump({**doc, "clips": [c for c in doc["clips"] if c.get("split") == split]},
                                   allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = subprocess.run([sys.executable, str(SHARED / "tools" / "score.py"), str(part), str(copy), "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["families"]


def line(name: str, fam: str, s: dict) -> str:
    tp, fp, fn = s["tp"], s["fp"], s["fn"]
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return f"{name:10s} {fam:12s} tp {tp:3d} fp {fp:3d} fn {fn:3d}  P {p:.2f} R {r:.2f} F1 {f1:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", required=True, help="runs of ../shared/media")
    ap.add_argument("--labels", default=str(SHARED / "media" / "labels.yaml"))
    ap.add_argument("--copies", nargs="*", default=[], help="augment_eval.py --out folders")
    ap.add_argument("--rules", default=str(REPO / "rules.yaml"))
    ap.add_argument("--split", default="tune")
    ap.add_argument("--families", default="phone,face_touch,eating,posture_bad,smile")
    args = ap.parse_args()
    versions = [("original", Path(args.labels), Path(args.runs))]
    versions += [(Path(d).name, Path(d) / "media" / "labels.yaml", Path(d) / "runs") for d in args.copies]
    families = args.families.split(",")
    total = {f: {"tp": 0, "fp": 0, "fn": 0} for f in families}
    print(f"rules {args.rules}, split {args.split}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, labels, runs in versions:
            notes: list = []
            scores = judge(labels.resolve(), runs.resolve(), args.rules, args.split, Path(tmp), notes)
            if notes:  # stale caches are judged unlike a fresh analysis: say so before the figures
                print(f"warning: {name}: {len(notes)} run(s) re-judged with a warning, e.g. {notes[0][0]}: "
                      f"{notes[0][1]}")
            for fam in families:
                s = scores.get(fam, {"tp": 0, "fp": 0, "fn": 0})
                print(line(name, fam, s))
                for k in total[fam]:
                    total[fam][k] += s[k]
    for fam in families:
        print(line("all", fam, total[fam]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

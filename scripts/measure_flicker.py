#!/usr/bin/env python3
"""Flicker of the rules with the landmark filter off and on, over the `split: tune` videos' landmark caches.

    python scripts/measure_flicker.py --runs RUNS [--labels ../shared/media/labels.yaml] [--rules rules.yaml]

Each tune video's subject is judged from its cache twice, rules.yaml ``smoothing:`` off and on (the rest of the
rules as they are), and for each it prints, summed over the videos:

* ``onsets/min``: how often a rule's condition starts to hold (enter threshold, then hysteresis on the exit
  threshold, in the views the rule is judged from), per minute of video: jitter across a threshold shows as
  extra onsets;
* ``runs < 0.3 s``: condition runs shorter than 0.3 s (three analysed frames at 10 fps), the flicker that
  ``min_duration_s`` has to swallow, and the logged events (rules and gestures) shorter than 0.3 s;
* ``events``: the events logged.
"""
import dataclasses
import sys
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tune_data import judge_as_run, tune_args, tune_subjects  # noqa: E402
from vision.judge.rules import load_rules  # noqa: E402

SHORT_S = 0.3


def condition_runs(enter: np.ndarray, stay: np.ndarray, t: np.ndarray):
    """(start_s, end_s) of each run of the condition with hysteresis: on at ``enter``, held while ``stay``."""
    runs, on, start = [], False, 0.0
    for i in range(len(t)):
        if not on and enter[i]:
            on, start = True, t[i]
        elif on and not stay[i]:
            on = False
            runs.append((start, t[i]))
    if on:
        runs.append((start, t[-1]))
    return runs


def judge(run, rules):
    events, engine, table = judge_as_run(run, rules)
    t = table.timestamp_s
    onsets, short = Counter(), Counter()
    for r in rules.enabled:
        if not hasattr(r, "view_ok"):
            continue
        enter, stay = r.masks(table.values, engine.baseline)
        ok = r.view_ok(table.values)
        for a, b in condition_runs(enter & ok, stay & ok, t):
            onsets[r.id] += 1
            short[r.id] += (b - a) < SHORT_S
    return events, onsets, short


def main() -> int:
    args = tune_args(__doc__.splitlines()[0]).parse_args()
    labels = Path(args.labels).resolve()
    base = load_rules(args.rules)
    configs = {"off": dataclasses.replace(base, smoothing=dataclasses.replace(base.smoothing, enabled=False)),
               "on": dataclasses.replace(base, smoothing=dataclasses.replace(base.smoothing, enabled=True))}
    totals = {k: {"onsets": Counter(), "short": Counter(), "events": Counter(), "short_events": Counter()}
              for k in configs}
    minutes, clips = 0.0, 0
    for run in tune_subjects(labels, args.runs):
        track = run.track
        if len(track) < 3:  # a still: nothing flickers
            continue
        clips += 1
        minutes += float(track.timestamp_s[-1] - track.timestamp_s[0]) / 60.0
        for name, rules in configs.items():
            events, onsets, short = judge(run, rules)
            totals[name]["onsets"] += onsets
            totals[name]["short"] += short
            for e in events:
                totals[name]["events"][e.rule] += 1
                totals[name]["short_events"][e.rule] += (e.end_s - e.start_s) < SHORT_S
    print(f"tune videos: {clips}, {minutes:.2f} min of video (runs {args.runs})\n")
    print(f"{'':26s} {'onsets/min':>10s} {'runs<0.3s':>9s} {'events':>6s} {'events<0.3s':>11s}")
    for name, tot in totals.items():
        print(f"{'all rules, smoothing ' + name:26s} {sum(tot['onsets'].values()) / minutes:10.1f} "
              f"{sum(tot['short'].values()):9d} {sum(tot['events'].values()):6d} "
              f"{sum(tot['short_events'].values()):11d}")
    print("\nper rule (off -> on): onsets, condition runs < 0.3 s, events (of which < 0.3 s)")
    ids = sorted(set(totals["off"]["onsets"]) | set(totals["on"]["onsets"]) | set(totals["off"]["events"])
                 | set(totals["on"]["events"]))
    for rid in ids:
        off, on = totals["off"], totals["on"]
        print(f"  {rid:28s} {off['onsets'][rid]:4d} -> {on['onsets'][rid]:4d}   {off['short'][rid]:4d} -> "
              f"{on['short'][rid]:4d}   {off['events'][rid]:3d} ({off['short_events'][rid]}) -> "
              f"{on['events'][rid]:3d} ({on['short_events'][rid]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

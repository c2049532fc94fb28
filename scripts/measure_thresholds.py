#!/usr/bin/env python3
"""Where the hand-gesture and appearance thresholds of rules.yaml sit on the `split: tune` entries.

    python scripts/measure_thresholds.py --runs RUNS [--labels ../shared/media/labels.yaml] [--rules rules.yaml]

RUNS holds analysed run folders of the labelled files (landmark caches; e.g. a copy of a full analysis).
Only `split: tune` entries are read: `check` entries are never measured here. For each threshold it prints
the feature inside labelled episodes ("in": a `hand.guide_form` label) and outside them ("out": entries
whose `absent` lists the rule), as n, min, p5, p50, p95, max, and how many "out" values the threshold alone
rejects. Sections:

* ``hand.guide_form``: every arm excursion found with the finding options opened wide (a candidate); its
  rest level, peak, travel, sweep, forearm drop, hold speed, duration, hand share and the shape criteria.
* ``hand.two_hand_give``/``take``: per frame, the farther wrist's reach, its elbow angle, and the gain of
  the reach over the look-back, on entries where hand-overs are absent (tune has no labelled hand-over).
* ``appearance``: per frame with a face mesh, the face's roll, height in pixels and eye opening, and how
  long a face stays frontal; on tune stills, the CIELAB distance of skin to the other cheek patches and of
  the hair band to the nearest cheek patch (pixels: the image is read from the labels' folder).
"""
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vision.features.hands import hand_features  # noqa: E402
from vision.judge.appearance_measure import (CHEEKS, FRONTAL_POINTS, HAIR_BAND, OVAL_TOP, KeptView,  # noqa: E402
                                            _disc_mask, _lab, _poly_mask, _skin_distance, frontalness,
                                            measure_fringe, measure_hair_colour, measure_jacket)
from vision.judge.appearance import appearance_settings  # noqa: E402
from vision.judge.gestures import GuideGestureDetector  # noqa: E402
from vision.judge.handover import HandoverDetector  # noqa: E402
from vision.judge.rules import load_rules  # noqa: E402
from tune_data import tune_args, tune_subjects  # noqa: E402

STILLS = {".jpg", ".jpeg", ".png"}
GUIDE = "hand.guide_form"
HANDOVER = ("hand.two_hand_give", "hand.two_hand_take")
#: Finding options opened wide, so every arm excursion becomes a candidate whose values can be read.
WIDE = dict(out_enter=0.45, rest_out=0.45, lookback_s=3.0, min_travel=0.0, min_sweep_deg=0.0, height_band=[-5.0, 5.0],
            forearm_drop_deg=[-90.0, 90.0], max_out_deg=180.0, hold_speed_max=1e9, min_duration_s=0.0,
            max_duration_s=10.0, min_hand_share=0.0)


def stats(v) -> str:
    v = np.asarray([x for x in v if x == x], dtype=float)
    if not len(v):
        return "n 0"
    p = np.percentile(v, [5, 50, 95])
    return f"n {len(v)}, min {v.min():.2f}, p5 {p[0]:.2f}, p50 {p[1]:.2f}, p95 {p[2]:.2f}, max {v.max():.2f}"


def line(name: str, value, op: str, inside, outside, note: str = "") -> None:
    """One threshold: where ``value`` sits between the feature inside and outside labelled episodes."""
    out = np.asarray([x for x in outside if x == x], dtype=float)
    keeps = {">=": out >= value, "<=": out <= value}.get(op) if np.ndim(value) == 0 else \
        (out >= value[0]) & (out <= value[1])
    passed = f"; out passing it {int(keeps.sum())}/{len(out)}" if len(out) else ""
    print(f"  {name} {value} ({op}){' ' + note if note else ''}")
    print(f"    in:  {stats(inside)}\n    out: {stats(out)}{passed}")


class _Probe(GuideGestureDetector):
    """The guide detector with its finding values recorded for every candidate (scored or not)."""

    found: list

    def _score(self, side, rows):
        t = np.array([r[0] for r in rows])
        x = np.stack([r[2] for r in rows])
        out, fwd, down, drop, forearm, palm = x[:, 0], x[:, 1], x[:, 2], x[:, 7], x[:, 6], x[:, 8]
        peak = int(np.nanargmax(out))
        wrist = np.stack([out, fwd, down], axis=1)
        present = out >= self.o.present_share * out[peak]
        speed = np.r_[np.nan, np.linalg.norm(np.diff(wrist, axis=0), axis=1) / np.diff(t)][present]
        turn = forearm[: peak + 1][~np.isnan(forearm[: peak + 1])]
        ev = super()._score(side, rows)
        self.found.append({
            "t0": t[0], "t1": t[-1], "rest": out[0],
            "rise": t[int(np.argmax(out >= self.o.out_enter))] - t[0], "peak": out[peak], "duration": t[-1] - t[0],
            "travel": float(np.nanmax(np.linalg.norm(wrist - wrist[0], axis=1))),
            "sweep": float(np.degrees(np.ptp(np.unwrap(np.radians(turn))))) if len(turn) else np.nan,
            "drop": drop[peak], "hold": float(np.nanmedian(speed)) if np.any(speed == speed) else np.nan,
            "hand_share": float(np.mean(~np.isnan(palm[present]))),
            "evidence": ev.evidence if ev is not None else {}})
        return ev

    def finish(self):
        """An excursion still out at the end of the input is measured too (the detector drops it)."""
        for arm in self.arms:
            if arm.state == "open":
                self._score(arm.side, list(arm.rows)[arm.start:])
        return super().finish()


def guide_section(clips, rules) -> None:
    entry = rules.detectors[GUIDE]
    o = GuideGestureDetector(entry).o
    inside, outside, peaks_in, lows_in, frames_out, clip_max_out = [], [], [], [], [], []
    for clip, _, track in clips:
        if clip["kind"] != "video":
            continue
        feats = hand_features(track)
        episodes = [(e["start"], e["end"]) for e in clip.get("events") or [] if e["rule"] == GUIDE]
        absent = GUIDE in (clip.get("absent") or [])
        det = _Probe(entry, **WIDE)
        det.found = []
        for i, (t, f) in enumerate(zip(track.timestamp_s, track.frame_index)):
            det.push(t, f, {k: v[i] for k, v in feats.items()})
        det.finish()
        for c in det.found:
            if any(c["t0"] <= e + 0.25 and c["t1"] >= s - 0.25 for s, e in episodes):
                inside.append(c)
            elif absent:
                outside.append(c)
        wo = np.fmax(feats["left_wrist_out"], feats["right_wrist_out"])
        for s, e in episodes:
            sel = (track.timestamp_s >= s) & (track.timestamp_s <= e)
            peaks_in.append(np.nanmax(wo[sel]))
            after = wo[sel][int(np.nanargmax(wo[sel])):]
            lows_in.append(np.nanmin(after))
        if absent:
            frames_out += list(wo)
            clip_max_out.append(np.nanmax(wo) if np.any(wo == wo) else np.nan)
    ev = lambda cs, k: [c["evidence"].get(k, {}).get("value", np.nan) for c in cs]  # noqa: E731
    get = lambda cs, k: [c[k] for c in cs]  # noqa: E731
    print(f"\n== {GUIDE}: {len(peaks_in)} labelled episodes; candidates (finding options opened wide) "
          f"{len(inside)} in them, {len(outside)} in entries where it is absent")
    line("out_enter", o.out_enter, ">=", peaks_in, clip_max_out, "- in: wrist-out peak of each episode; "
         "out: each absent entry's highest wrist_out")
    line("out_exit", o.out_exit, ">=", lows_in, frames_out, "- in: lowest wrist_out after each episode's peak; "
         "out: every frame's wrist_out (an arm at rest sits below it)")
    line("lookback_s", o.lookback_s, "<=", get(inside, "rise"), get(outside, "rise"),
         "- set-off to out_enter (searched up to 3 s)")
    line("rest_out", o.rest_out, "<=", get(inside, "rest"), get(outside, "rest"), "- wrist_out where the arm set off")
    for name, key, op in (("min_travel", "travel", ">="), ("min_sweep_deg", "sweep", ">="),
                          ("forearm_drop_deg", "drop", "in"), ("hold_speed_max", "hold", "<="),
                          ("min_duration_s", "duration", ">="), ("max_duration_s", "duration", "<="),
                          ("min_hand_share", "hand_share", ">=")):
        line(name, getattr(o, name) if op != "in" else list(getattr(o, name)), op, get(inside, key),
             get(outside, key))
    for name, key, op in (("fingers_together_max", "fingers_together", "<="), ("thumb_bent_max", "thumb_bent", "<="),
                          ("elbow_pivot_max", "elbow_pivot", "<="), ("right_front_min_deg", "right_front", ">=")):
        line(name, getattr(o, name), op, ev(inside, key), ev(outside, key), "- scored candidates")


def handover_section(clips, rules) -> None:
    o = rules.detectors[HANDOVER[0]].options
    reach, elbow, gain, gaps, spans = [], [], [], [], []
    wide = dict(one_forward_min=1.0, one_elbow_min_deg=0.0, min_reach_gain=0.0, min_duration_s=0.0)
    n = 0
    for clip, _, track in clips:
        if clip["kind"] != "video" or not all(r in (clip.get("absent") or []) for r in HANDOVER):
            continue
        n += 1
        f = hand_features(track)
        fwd = np.stack([f["left_wrist_forward"], f["right_wrist_forward"]])
        far = np.nanargmax(np.where(np.isnan(fwd), -np.inf, fwd), axis=0)
        idx = np.arange(len(track))
        best = fwd[far, idx]
        reach += list(best)
        el = np.stack([f["left_elbow_deg"], f["right_elbow_deg"]])[far, idx]
        elbow += list(el[best >= 1.0])
        t = track.timestamp_s
        seen = ~np.isnan(fwd).all(axis=0)
        edges = np.flatnonzero(np.diff(np.r_[1, seen.astype(int), 1]))
        gaps += [t[min(b, len(t) - 1)] - t[a - 1] for a, b in zip(edges[::2], edges[1::2]) if a > 0 and b < len(t)]
        det = HandoverDetector(rules.detectors[HANDOVER[0]], **wide)
        evs = [e for i in range(len(t)) for e in det.push(t[i], track.frame_index[i], {k: v[i] for k, v in f.items()})]
        spans += [e.end_s - e.start_s for e in evs + det.finish()]
        for i in np.flatnonzero(best >= 1.0):
            before = best[(t < t[i]) & (t >= t[i] - o["lookback_s"])]
            if np.any(before == before):
                gain.append(best[i] - np.nanmin(before))
    print(f"\n== {', '.join(HANDOVER)}: no labelled hand-over on tune; {n} videos where both are absent, per frame")
    line("one_forward_min", o["one_forward_min"], ">=", [], reach, "- the farther wrist's reach")
    line("one_elbow_min_deg", o["one_elbow_min_deg"], ">=", [], elbow, "- its elbow, where it reaches >= 1.0 SW")
    line("min_reach_gain", o["min_reach_gain"], ">=", [], gain, "- reach gain over lookback_s, where >= 1.0 SW")
    line("min_duration_s", o["min_duration_s"], ">=", [], spans, "- hand-over postures found with the reach "
         "options opened (one_forward_min 1.0, any elbow, any gain), s")
    line("merge_gap_s", o["merge_gap_s"], ">=", [], gaps, "- gaps where neither wrist was seen, s")


def face_px_of(track, i) -> np.ndarray:
    return track.face_xyz[i, :, :2].astype(np.float64) * np.array(track.image_wh, dtype=np.float64)


def appearance_section(clips, rules) -> None:
    sh = rules.appearance
    roll, px, eyes, spells, skin_skin, hair_skin, views = [], [], [], [], [], [], {}
    th = appearance_settings(rules).thresholds
    for clip, path, track in clips:
        frontal = []
        for i in range(len(track)):
            face = face_px_of(track, i)
            if not np.all(np.isfinite(face[FRONTAL_POINTS])):
                frontal.append(False)
                continue
            fr = frontalness(face)
            ok = fr["yaw_deg"] <= sh["max_yaw_deg"]
            frontal.append(ok and fr["roll_deg"] <= sh["max_roll_deg"])
            if ok:
                roll.append(fr["roll_deg"])
                px.append(fr["face_px"])
                eyes.append(fr["eye_open"])
        if clip["kind"] == "video":
            t, run = track.timestamp_s, None
            for i, f in enumerate(frontal + [False]):
                if f and run is None:
                    run = i
                elif not f and run is not None:
                    spells.append(t[i - 1] - t[run] + (np.median(np.diff(t)) if len(t) > 1 else 0))
                    run = None
        if path.suffix.lower() in STILLS and frontal and frontal[0]:
            view = still_view(cv2.imread(str(path)), track)
            skin_skin_i, hair_i = colour_distances(view)
            skin_skin += skin_skin_i
            hair_skin += hair_i
            for measure in (measure_hair_colour, measure_fringe, measure_jacket):
                for k, v in measure(view, th).items():
                    views.setdefault(k, []).append(v)
    print("\n== appearance sampler (every tune frame with a face mesh turned <= max_yaw_deg)")
    line("max_roll_deg", sh["max_roll_deg"], "<=", [], roll, "- |roll| of frontal faces")
    line("min_face_px", sh["min_face_px"], ">=", [], px, "- face height (mesh 10 -> 152), px")
    line("eyes_closed_below", sh["eyes_closed_below"], ">=", [], eyes, "- lid gap over eye width")
    line("min_gap_s", sh["min_gap_s"], "<=", [], spells, "- how long a face stays frontal (s)")
    print("\n== colour distances on tune stills with a frontal face (CIELAB, skin distance as the detector's)")
    line("skin_delta_e", sh["skin_delta_e"], ">=", hair_skin, skin_skin,
         "- in: hair-band pixels to the nearest cheek; out: a cheek patch's pixels to the other patches")
    print("  the three measurements on the same stills (no look.* labels on tune; every person's hair is natural):")
    for k in ("hair_unusual_share", "hair_sat", "hair_hue_deg", "hair_kept_share", "brow_hair_share",
              "forehead_hair_share", "centre_unlike_share", "side_delta_e"):
        print(f"    {k}: {stats(views.get(k, []))}")


def still_view(bgr: np.ndarray, track) -> KeptView:
    """A still's whole image as a kept view of its subject (pose points NaN below visibility 0.5)."""
    wh = np.array(track.image_wh, dtype=np.float64)
    pose = track.pose_xyz[0, :, :2].astype(np.float64) * wh
    pose[track.pose_visibility[0] < 0.5] = np.nan
    hands = np.vstack([track.left_hand_xyz[0, :, :2], track.right_hand_xyz[0, :, :2]]).astype(np.float64) * wh
    return KeptView(score=0.0, frame_index=0, timestamp_s=0.0, person_id=0, crop_bgr=bgr, face_px=face_px_of(track, 0),
                    pose_px=pose, hands_px=hands)


def colour_distances(view: KeptView):
    """Skin-to-skin (each cheek patch against the others' medians) and hair-band-to-skin ΔE, per pixel."""
    bgr, face = view.crop_bgr, view.face_px
    lab, shape, fh = _lab(bgr), bgr.shape[:2], float(np.linalg.norm(face[10] - face[152]))
    none = np.zeros(shape, bool)
    skin = []
    for k, i in enumerate(CHEEKS):
        others = KeptView(**{**view.__dict__, "face_px": face.copy()})
        others.face_px[i] = np.nan  # this patch is measured against the other three
        d = _skin_distance(lab, others, none)
        sel = _disc_mask(shape, face[[i]], 0.04 * fh)
        if d is not None and sel.sum():
            skin += list(d[sel])
    up = (face[10] - face[152]) / fh
    top = face[OVAL_TOP]
    band = _poly_mask(shape, np.vstack([top + up * HAIR_BAND[0] * fh, (top + up * HAIR_BAND[1] * fh)[::-1]]))
    d = _skin_distance(lab, view, none)
    return skin, (list(d[band]) if d is not None else [])


def main() -> int:
    args = tune_args(__doc__.splitlines()[0]).parse_args()
    labels = Path(args.labels).resolve()
    rules = load_rules(args.rules)
    clips = [(r.clip, r.path, r.track) for r in tune_subjects(labels, args.runs)]
    print(f"tune entries measured: {len(clips)} (runs {args.runs}, labels {labels})")
    np.seterr(all="ignore")
    guide_section(clips, rules)
    handover_section(clips, rules)
    appearance_section(clips, rules)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Still frames on the `split: tune` videos: is interpolating them as good as running the models?

    python scripts/measure_still.py --runs RUNS [--labels ../shared/media/labels.yaml]

RUNS holds runs of the labelled files made with the gate off and at every frame (``analyze --every-frame
--fps 0``): every frame's landmarks are the models' own (at the default 10 fps no frame can be still). For each
threshold on the picture's change (``vision.detect.still``: the largest mean grey-level change of a cell of the
person's size, to the frame before and to the frame after), the frames the gate would call still (as
``analyze`` does, landmarked frames at most ``MAX_SPAN_S`` apart) and, on those frames, how far the
interpolated landmarks are from the models' own, per family (pose, face, hands):

* ``still``: the share of the analysed frames the gate lets through (the models' time saved);
* ``med/noise``, ``p95/noise``: the median and 95th percentile of the interpolation error over what the models'
  own frame-to-frame noise gives on a point that does not move. A point with white noise of std s (the
  estimator of ``measure_jitter.py``, pooled over the clips: median absolute second difference /
  (0.6745 sqrt 6)) has interpolation error x[t] - (x[t-1] + x[t+1]) / 2 of std s sqrt(1.5) per coordinate,
  whose norm over the two coordinates is Rayleigh-distributed; the same figures with every other frame
  interpolated (threshold inf, no gate) show what moving frames cost;
* ``p95 err``: the 95th percentile of the error, in shoulder widths.

``STILL_MAX_CHANGE`` is the threshold at which the body points' ``p95 err`` is lowest: below it only frames
where the model itself jumps on an unchanged picture are let through, above it moving frames are.
"""
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vision.detect.landmarks import PersonLandmarks  # noqa: E402
from vision.detect.still import MAX_SPAN_S, StillGate, small_grey, still_flags  # noqa: E402
from vision.track.tracker import MIN_POINTS, person_size, seen_mask  # noqa: E402
from measure_jitter import STILL_SUFFIXES  # noqa: E402
from tune_data import clip_scale, tune_args, tune_subjects  # noqa: E402

THRESHOLDS = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 12.0, 16.0, 24.0, float("inf"))
FAMILIES = {"pose": ("pose_xyz",), "face": ("face_xyz",), "hands": ("left_hand_xyz", "right_hand_xyz")}


def body_px(track) -> float:
    """The subject's body size in pixels as the people probe measures it (median over frames; NaN: never seen)."""
    sizes = []
    for t in range(0, len(track), max(1, len(track) // 20)):  # about as many frames as the probe looks at
        p = PersonLandmarks(0, pose_xyz=track.pose_xyz[t], pose_visibility=track.pose_visibility[t])
        if seen_mask(p).sum() >= MIN_POINTS:
            sizes.append(person_size(p, track.image_wh))
    return float(np.median(sizes)) if sizes else float("nan")


def greys_at(path: Path, frame_index: np.ndarray, gate: StillGate) -> list:
    """The small grey pictures of the source frames ``frame_index`` (decoded in order), as ``gate`` sees them."""
    wanted, out = set(int(i) for i in frame_index), {}
    cap = cv2.VideoCapture(str(path))
    i = 0
    while len(out) < len(wanted):
        ok, image = cap.read()
        if not ok:
            break
        if i in wanted:
            out[i] = small_grey(image, gate.cell_px(image.shape[1], image.shape[0]))
        i += 1
    cap.release()
    return [out.get(int(i)) for i in frame_index]


def main() -> int:
    args = tune_args(__doc__.splitlines()[0], rules=False).parse_args()
    mm = {thr: {f: [] for f in FAMILIES} for thr in THRESHOLDS}  # errors in shoulder widths
    d2 = {f: [] for f in FAMILIES}  # every frame's second differences, for the models' noise
    shares = {thr: [0, 0] for thr in THRESHOLDS}
    clips = 0
    for run in tune_subjects(Path(args.labels).resolve(), args.runs):
        track = run.track
        if run.path.suffix.lower() in STILL_SUFFIXES or run.path.is_dir() or len(track) < 3:
            continue
        greys = greys_at(run.path, track.frame_index, StillGate.for_person(body_px(track)))
        if any(g is None for g in greys):
            print(f"skipped {run.path.name}: frames missing on decoding", file=sys.stderr)
            continue
        scale = clip_scale(track)
        if scale is None:
            continue
        clips += 1
        t = track.timestamp_s
        fam_x = {}
        for fam, names in FAMILIES.items():
            x = np.concatenate([getattr(track, n)[..., :2].astype(np.float64) for n in names], axis=1)
            x[..., 0] *= track.aspect
            fam_x[fam] = x / scale
        for fam, x in fam_x.items():
            d2[fam].append((x[2:] - 2 * x[1:-1] + x[:-2]).ravel())
        for thr in THRESHOLDS:
            flags = np.array(list(still_flags(zip(t, greys), thr, MAX_SPAN_S)) if np.isfinite(thr) else
                             [0 < i < len(greys) - 1 and i % 2 == 1 for i in range(len(greys))])
            idx = np.flatnonzero(flags)
            seen = np.flatnonzero(~flags)  # the frames either side of each still one that the models saw
            after = seen[np.searchsorted(seen, idx)]
            before = seen[np.searchsorted(seen, idx) - 1]
            shares[thr][0] += len(idx) if np.isfinite(thr) else 0
            shares[thr][1] += len(flags)
            if not len(idx):
                continue
            w = ((t[idx] - t[before]) / (t[after] - t[before]))[:, None, None]
            for fam, x in fam_x.items():
                e = np.linalg.norm(x[idx] - ((1 - w) * x[before] + w * x[after]), axis=-1).ravel()
                e = e[np.isfinite(e)]
                mm[thr][fam].append(e)
    # the estimator of measure_jitter.py, pooled over the clips: median |second difference| / (0.6745 sqrt 6)
    sigma = {fam: float(np.nanmedian(np.abs(np.concatenate(v)))) / (0.6745 * np.sqrt(6)) for fam, v in d2.items()}
    print(f"{clips} tune videos (runs in {args.runs}); the models' noise on a still point, shoulder widths: "
          + ", ".join(f"{fam} {s:.4f}" for fam, s in sigma.items()))
    print(f"{'threshold':>9}  {'still':>6}  " + "  ".join(f"{f + ' med/noise':>15} {'p95/noise':>9} {'p95 err':>7}" for f in FAMILIES))
    # the error of a still point with white noise of std s is the norm of two coordinates' errors of std
    # s sqrt(1.5) each: Rayleigh, whose quantile q is s sqrt(1.5) sqrt(-2 ln(1 - q))
    rayleigh = np.sqrt(1.5)
    for thr in THRESHOLDS:
        n_still, n = shares[thr]
        cells = []
        for fam in FAMILIES:
            m = mm[thr][fam]
            e = np.concatenate(m) / sigma[fam] if m else np.full(1, np.nan)
            r50 = np.median(e) / (rayleigh * np.sqrt(np.log(4)))
            r95 = np.percentile(e, 95) / (rayleigh * np.sqrt(2 * np.log(20)))
            p95 = float(np.percentile(np.concatenate(m), 95)) if m else float("nan")
            cells.append(f"{r50:15.2f} {r95:9.2f} {p95:7.3f}")
        share = f"{100 * n_still / max(n, 1):5.1f}%" if np.isfinite(thr) else "   all"
        print(f"{thr:9.1f}  {share}  " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())

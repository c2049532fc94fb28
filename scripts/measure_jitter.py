#!/usr/bin/env python3
"""Landmark jitter on the `split: tune` videos, for the One Euro parameters of rules.yaml ``smoothing:``.

    python scripts/measure_jitter.py --runs /work/media-base [--labels ../shared/media/labels.yaml]

The 1€ paper's tuning (Casiez et al., CHI 2012, section 4): with beta = 0, lower min_cutoff until a still
point's jitter is acceptable; then raise beta until fast moves do not lag. Per landmark family (pose, face,
hands), over the subject's cached landmarks of every tune video (stills have no jitter to measure):

* ``jitter``: the noise of a still point, in shoulder widths (``body_scale``): the median absolute second
  difference of each coordinate (x[t+1] - 2 x[t] + x[t-1]: a constant speed cancels, white noise of std s
  gives std sqrt(6) s), divided by 0.6745 * sqrt(6). The median keeps the still frames and ignores the moves.
* ``speed p90``: the 90th percentile of the family's per-frame speed (shoulder widths / s): a fast move.
* for each candidate (min_cutoff_hz, beta): the jitter left after the filter (same estimator on the filtered
  coordinates) and the lag of a ramp at the p90 speed (s), measured by running the filter on a synthetic ramp.

The filter measures speed in the person's shoulder widths (``vision.features.smoothing``), so ``beta`` here,
per shoulder width per second, is the ``beta`` of rules.yaml as it is. (Here each clip's coordinates are divided
by the clip's median ``body_scale``; the filter divides by a running median of it.)
"""
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vision.features.smoothing import FAMILIES, OneEuroFilter, OneEuroParams  # noqa: E402
from tune_data import clip_scale, tune_args, tune_subjects  # noqa: E402

STILL_SUFFIXES = {".jpg", ".jpeg", ".png"}
CANDIDATES = [(mc, b) for mc in (0.5, 1.0, 1.5, 2.0, 3.0) for b in (0.0, 0.5, 1.0, 2.0, 4.0)]


def noise(x: np.ndarray) -> float:
    """Robust std of the white noise on (T, ...) coordinates, from second differences (NaN ignored)."""
    d2 = (x[2:] - 2 * x[1:-1] + x[:-2]).ravel()
    d2 = d2[~np.isnan(d2)]
    return float(np.median(np.abs(d2)) / (0.6745 * np.sqrt(6))) if len(d2) else float("nan")


def filtered(x: np.ndarray, t: np.ndarray, p: OneEuroParams) -> np.ndarray:
    f = OneEuroFilter(p)
    return np.stack([f(row, ti) for row, ti in zip(x, t)])


def ramp_lag(speed: float, p: OneEuroParams, fps: float = 10.0) -> float:
    """Seconds a filtered ramp at ``speed`` trails the ramp, after 2 s of moving."""
    t = np.arange(0, 3.0, 1 / fps)
    x = np.where(t < 1.0, 0.0, (t - 1.0) * speed)[:, None]
    y = filtered(x, t, p)
    return float((x[-1, 0] - y[-1, 0]) / speed) if speed > 0 else 0.0


def main() -> int:
    args = tune_args(__doc__.splitlines()[0], rules=False).parse_args()
    labels = Path(args.labels).resolve()
    fams = {f: {"x": [], "t": [], "speed": []} for f in FAMILIES}
    clips, scales = 0, []
    for run in tune_subjects(labels, args.runs):
        track = run.track
        if run.path.suffix.lower() in STILL_SUFFIXES or len(track) < 3:  # stills have no jitter to measure
            continue
        scale = clip_scale(track)
        if scale is None:
            continue
        clips += 1
        scales.append(scale)
        for fam, names in FAMILIES.items():
            # image coordinates (x in widths -> heights) over the person's size; world points are metres: skipped
            arrs = [getattr(track, n)[..., :2].astype(np.float64) for n in names if n != "pose_world_xyz"]
            x = np.concatenate([a.reshape(len(track), -1, 2) for a in arrs], axis=1)
            x[..., 0] *= track.aspect
            x /= scale
            fams[fam]["x"].append(x.reshape(len(track), -1))
            fams[fam]["t"].append(track.timestamp_s)
            v = np.linalg.norm(np.diff(x, axis=0), axis=-1) / np.diff(track.timestamp_s)[:, None]
            fams[fam]["speed"].append(v[~np.isnan(v)])
    print(f"tune videos measured: {clips} (runs {args.runs}); body_scale (image heights) median "
          f"{np.median(scales):.3f}, range {min(scales):.3f}-{max(scales):.3f}; beta per shoulder width / s")
    for fam, d in fams.items():
        if not d["x"]:
            continue
        raw = np.nanmedian([noise(x) for x in d["x"]])
        p90 = float(np.percentile(np.concatenate(d["speed"]), 90))
        print(f"\n{fam}: still jitter {raw:.4f} shoulder widths (median over clips), speed p90 {p90:.2f} sw/s")
        print(f"  {'min_cutoff_hz':>13s} {'beta':>5s} {'jitter left':>11s} {'ratio':>6s} {'lag at p90 (s)':>14s}")
        for mc, b in CANDIDATES:
            p = OneEuroParams(min_cutoff_hz=mc, beta=b, d_cutoff_hz=1.0)
            left = np.nanmedian([noise(filtered(x, t, p)) for x, t in zip(d["x"], d["t"])])
            print(f"  {mc:13.1f} {b:5.1f} {left:11.4f} {left / raw:6.2f} {ramp_lag(p90, p):14.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

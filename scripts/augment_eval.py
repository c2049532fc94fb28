#!/usr/bin/env python3
"""How the scores hold when the same footage is seen by another camera: mirrored, at half the resolution, darker.

    python scripts/augment_eval.py --aug none|flip|half|dark|far|nohead --out DIR [--labels ../shared/media/labels.yaml]
        [--split all|tune|check] [--fps 10] [--threads 1] [--runs RUNS]

Each labelled file is written again under ``DIR/media`` with one change to every picture (outside the repo:
the media never come into it), keeping every frame's time, so the labels hold unchanged:

* ``none``: re-encoded only (H.264 4:4:4, CRF 18 for videos; JPEG 95 / PNG for stills): the control, since
  re-encoding alone moves a model's landmarks a little;
* ``flip``: mirrored left to right (a person's left hand becomes the right one in the picture: code with a side
  bias shows here);
* ``half``: half the width and height (a farther or cheaper camera);
* ``dark``: a dim room: the picture's levels times 0.45, plus sensor noise (sigma 4 grey levels), fixed seed;
* ``far``: a wide or far camera: the picture shrunk to 0.4 of its width and height in the middle of a mid-grey
  frame of the original size (people 0.4 of their size in pixels: the CCTV-size people of issue 7);
* ``nohead``: the top of every picture cut off below the subject's lowest face point over the whole file (its
  face mesh, else the pose's face points, in the runs of the originals: ``--runs RUNS``), plus 2 % of the height,
  so the face is never in the picture; the copied labels say ``face_visible: false``, and the hidden set's scorer
  fails any face-family event there (face touch family, eating, smile: printed as ``face-family events with the
  face out of view``). Files where less than 40 % of the height would be left are not copied.

Videos that are not MP4 (GIF, AVI) become ``NAME.mp4`` beside the name (the copied labels say so). Then
``vision evaluate --analyze`` runs on the copies and ``score_splits.py`` scores them with the hidden set's
scorer, per split. Compare ``--aug none`` against the others: a family that drops only under ``flip`` has a
side bias; one that drops under ``half`` leans on resolution.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict

import cv2
import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))

from vision.evaluate import find_runs  # noqa: E402
from vision.io.cache import load_tracks  # noqa: E402
from vision.io.frames import FrameSource  # noqa: E402
from vision.io.video_out import fps_fraction  # noqa: E402

DARK_GAIN, DARK_NOISE = 0.45, 4.0
#: far: the picture's scale and the grey around it.
FAR_SCALE, FAR_GREY = 0.4, 128


#: nohead: the cut's margin below the lowest face point, and the least share of the height that must be left.
NOHEAD_MARGIN, NOHEAD_KEEP = 0.02, 0.4


def transform(name: str, top: float = 0.0) -> Callable[[np.ndarray], np.ndarray]:
    """The change made to every picture (BGR uint8 in, BGR uint8 out); ``top``: nohead's cut, a share of the height."""
    if name == "nohead":
        return lambda im: im[int(round(top * im.shape[0])):]
    if name == "none":
        return lambda im: im
    if name == "flip":
        return lambda im: cv2.flip(im, 1)
    if name == "half":
        return lambda im: cv2.resize(im, (max(2, im.shape[1] // 2), max(2, im.shape[0] // 2)),
                                     interpolation=cv2.INTER_AREA)
    if name == "dark":
        rng = np.random.default_rng(0)

        def dark(im: np.ndarray) -> np.ndarray:
            noisy = im.astype(np.float32) * DARK_GAIN + rng.normal(0.0, DARK_NOISE, im.shape)
            return np.clip(noisy, 0, 255).astype(np.uint8)
        return dark
    if name == "far":
        def far(im: np.ndarray) -> np.ndarray:
            h, w = im.shape[:2]
            sw, sh = max(2, int(round(w * FAR_SCALE))), max(2, int(round(h * FAR_SCALE)))
            out = np.full_like(im, FAR_GREY)
            x, y = (w - sw) // 2, (h - sh) // 2
            out[y:y + sh, x:x + sw] = cv2.resize(im, (sw, sh), interpolation=cv2.INTER_AREA)
            return out
        return far
    raise ValueError(f"unknown --aug {name!r}: none, flip, half, dark, far or nohead")


def face_bottom(runs: Path, labels_dir: Path, clip_file: str):
    """The subject's lowest face point over the file (a share of the height) in the original's run, None: no run or
    no face seen."""
    run = find_runs(runs).get((labels_dir / clip_file).resolve())
    if run is None:
        return None
    sid = json.loads((run / "run.json").read_text(encoding="utf-8"))["subject"]["id"]
    track = load_tracks(run).get(sid)
    if track is None:
        return None
    ys = [track.face_xyz[..., 1], track.pose_xyz[:, :11, 1]]
    seen = [y[(y >= 0) & (y <= 1)] for y in ys]
    for y in seen:
        if y.size:
            return float(y.max())
    return None


def write_still(src: Path, dst: Path, fn) -> None:
    image = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"{src}: not an image OpenCV can read")
    dst.parent.mkdir(parents=True, exist_ok=True)
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if dst.suffix.lower() in (".jpg", ".jpeg") else []
    cv2.imwrite(str(dst), fn(image), params)


def write_video(src: Path, dst: Path, fn) -> int:
    """Every frame of ``src`` changed by ``fn`` into an H.264 MP4 at ``dst``, each at its own time."""
    import av

    dst.parent.mkdir(parents=True, exist_ok=True)
    with FrameSource(src) as source:
        rate = fps_fraction(source.info.fps)
        out = av.open(str(dst), "w", format="mp4")
        stream = None
        last_pts, n = -1, 0
        for frame in source:
            image = np.ascontiguousarray(fn(frame.image_bgr))
            if stream is None:
                stream = out.add_stream("libx264", rate=rate, options={"crf": "18", "preset": "veryfast"})
                stream.width, stream.height = image.shape[1], image.shape[0]
                stream.pix_fmt = "yuv444p"  # odd sides allowed, no chroma loss
            vf = av.VideoFrame.from_ndarray(image, format="bgr24")
            vf.pts = max(last_pts + 1, int(round(frame.timestamp_s * rate)))
            last_pts = vf.pts
            for packet in stream.encode(vf):
                out.mux(packet)
            n += 1
        for packet in stream.encode():
            out.mux(packet)
        out.close()
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--aug", required=True, choices=("none", "flip", "half", "dark", "far", "nohead"))
    ap.add_argument("--runs", help="nohead: runs of the original files (vision evaluate --analyze), to find the face")
    ap.add_argument("--out", required=True)
    ap.add_argument("--labels", default=str(SHARED / "media" / "labels.yaml"))
    ap.add_argument("--split", default="all", choices=("all", "tune", "check"))
    ap.add_argument("--fps", default="10")
    ap.add_argument("--threads", default="1")
    args = ap.parse_args()
    labels = Path(args.labels).resolve()
    src_root = labels.parent
    out = Path(args.out).resolve()
    media = out / "media"
    if args.aug == "nohead" and not args.runs:
        ap.error("--aug nohead needs --runs: the runs of the original files, to find the face")
    doc = yaml.safe_load(labels.read_text(encoding="utf-8"))
    clips = [c for c in doc["clips"] if args.split == "all" or c.get("split") == args.split]
    written: Dict[str, str] = {}
    for clip in clips:
        src = src_root / clip["file"]
        name = clip["file"]
        top = 0.0
        if args.aug == "nohead":
            bottom = face_bottom(Path(args.runs), src_root, clip["file"])
            if bottom is None or bottom + NOHEAD_MARGIN > 1.0 - NOHEAD_KEEP:
                print(f"{args.aug}: {name}: left out (face not found, or too little below it)", flush=True)
                continue
            top = bottom + NOHEAD_MARGIN
        fn = transform(args.aug, top)
        if src.is_dir():
            for f in sorted(p for p in src.iterdir() if p.is_file()):
                if not (media / name / f.name).exists():
                    write_still(f, media / name / f.name, fn)
        elif clip.get("kind") == "image":
            if not (media / name).exists():
                write_still(src, media / name, fn)
        else:
            if src.suffix.lower() != ".mp4":
                name = name + ".mp4"
            if not (media / name).exists():
                tmp = media / (name + ".part.mp4")
                write_video(src, tmp, fn)
                tmp.replace(media / name)
        written[clip["file"]] = name
        print(f"{args.aug}: {name}", flush=True)
    copy = {**doc, "clips": [{**c, "file": written[c["file"]], **({"face_visible": False} if args.aug == "nohead" else {})}
                             for c in clips if c["file"] in written]}
    (media / "labels.yaml").write_text(yaml.safe_dump(copy, allow_unicode=True, sort_keys=False), encoding="utf-8")
    py = sys.executable
    subprocess.check_call([py, "-m", "vision", "evaluate", "--labels", str(media / "labels.yaml"),
                           "--runs", str(out / "runs"), "--analyze", "--fps", args.fps, "--threads", args.threads],
                          cwd=str(REPO))
    status = subprocess.call([py, str(REPO / "scripts" / "score_splits.py"), "--labels", str(media / "labels.yaml"),
                              "--runs", str(out / "runs")])
    if args.aug == "nohead":  # the hidden set's own check: no face-family event with the face out of the picture
        status |= subprocess.call([py, str(SHARED / "tools" / "score.py"), str(media / "labels.yaml"),
                                   str(out / "runs"), "--need", "face_touch=0", "--details"])
    return status


if __name__ == "__main__":
    sys.exit(main())

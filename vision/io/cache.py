"""Stage 3: the landmark cache of a run, so rules can be re-run without models.

Layout inside a run folder::

    landmarks/meta.json          image size, fps, source, chunk size
    landmarks/part-00000.npz     analysed frames [0, CHUNK) and their people
    landmarks/part-00001.npz     ...

Each part is written whole as soon as it fills (and at the end), so an
interrupted run keeps every complete part. Arrays in a part: ``frame_index``
and ``timestamp_s`` (one row per analysed frame), and one row per detected
person: ``row_frame`` (position in the part), ``person_id`` and the arrays of
:data:`vision.detect.landmarks.PERSON_ARRAYS`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from vision.detect.landmarks import PERSON_ARRAYS, FrameLandmarks, LandmarkTrack

CHUNK = 256
FORMAT_VERSION = 1


class CacheError(Exception):
    """The landmark cache is missing or unreadable (one-line message)."""


class LandmarkCacheWriter:
    def __init__(self, run_dir: str | Path, image_wh: tuple, meta: Optional[dict] = None,
                 chunk: int = CHUNK):
        self.dir = Path(run_dir) / "landmarks"
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.glob("part-*.npz"):
            old.unlink()
        self.chunk = chunk
        self._frames: List[FrameLandmarks] = []
        self._part = 0
        meta = dict(meta or {})
        meta.update(format=FORMAT_VERSION, image_wh=list(image_wh))
        _write_json_atomic(self.dir / "meta.json", meta)

    def append(self, frame: FrameLandmarks) -> None:
        self._frames.append(frame)
        if len(self._frames) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        if not self._frames:
            return
        arrays: Dict[str, np.ndarray] = {
            "frame_index": np.array([f.frame_index for f in self._frames], np.int64),
            "timestamp_s": np.array([f.timestamp_s for f in self._frames], np.float64),
        }
        rows = [(i, p) for i, f in enumerate(self._frames) for p in f.people]
        arrays["row_frame"] = np.array([i for i, _ in rows], np.int64)
        arrays["person_id"] = np.array([p.person_id for _, p in rows], np.int64)
        for name, shape in PERSON_ARRAYS.items():
            arrays[name] = (np.stack([getattr(p, name) for _, p in rows]) if rows
                            else np.zeros((0,) + shape, np.float32))
        path = self.dir / f"part-{self._part:05d}.npz"
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
        self._part += 1
        self._frames = []

    def close(self) -> None:
        self.flush()


def _write_json_atomic(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def load_meta(run_dir: str | Path) -> dict:
    path = Path(run_dir) / "landmarks" / "meta.json"
    if not path.exists():
        raise CacheError(f"{run_dir}: no landmark cache (landmarks/meta.json); run `analyze` on the video first")
    return json.loads(path.read_text(encoding="utf-8"))


def load_tracks(run_dir: str | Path) -> Dict[int, LandmarkTrack]:
    """Every person of the cached run as a track over *all* analysed frames."""
    meta = load_meta(run_dir)
    parts = sorted((Path(run_dir) / "landmarks").glob("part-[0-9]*.npz"))
    parts = [p for p in parts if not p.name.endswith(".tmp.npz")]
    if not parts:
        raise CacheError(f"{run_dir}: the landmark cache holds no frames")
    datas = []
    for part in parts:
        try:
            with np.load(part) as z:
                datas.append({k: z[k] for k in z.files})
        except Exception as exc:  # a damaged part: say which
            raise CacheError(f"{part}: unreadable landmark cache part ({exc})") from None
    offsets = np.cumsum([0] + [len(d["frame_index"]) for d in datas])
    n = int(offsets[-1])
    times = np.concatenate([d["timestamp_s"] for d in datas])
    index = np.concatenate([d["frame_index"] for d in datas])
    rows = np.concatenate([d["row_frame"] + off for d, off in zip(datas, offsets[:-1])])
    pids = np.concatenate([d["person_id"] for d in datas])
    ids = sorted(set(pids.tolist())) or [0]
    wh = tuple(meta["image_wh"])
    tracks = {}
    for pid in ids:
        mine = pids == pid
        arrays = {}
        for name, shape in PERSON_ARRAYS.items():
            arr = np.full((n,) + shape, np.nan, np.float32)
            arr[rows[mine]] = np.concatenate([d[name] for d in datas])[mine]
            arrays[name] = arr
        tracks[pid] = LandmarkTrack(pid, wh, times, index, **arrays)
    return tracks

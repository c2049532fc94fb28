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

A part also holds what the outputs draw, one row per analysed frame, under
names starting ``px_`` (the subject's pose points, face regions and hand
points in source pixels, as the features measured them; see
``vision.pipeline.subject_pixels``). The writer gets them from a ``derive``
function handed in by the pipeline, so the outputs read what the run stored
and this package never computes features.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
import shutil
from typing import Callable, Dict, List, Optional

import numpy as np

from vision.detect.landmarks import PERSON_ARRAYS, FrameLandmarks, LandmarkTrack

CHUNK = 256
FORMAT_VERSION = 2  # 2: parts hold the px_ arrays the outputs draw
PX_PREFIX = "px_"
#: The subject's track over some frames -> per-frame arrays (names start with ``px_``).
Derive = Callable[[LandmarkTrack], Dict[str, np.ndarray]]


class CacheError(Exception):
    """The landmark cache is missing or unreadable (one-line message)."""


class LandmarkCacheWriter:
    def __init__(self, run_dir: str | Path, image_wh: tuple, meta: Optional[dict] = None,
                 chunk: int = CHUNK, derive: Optional[Derive] = None, subject: int = 0):
        self.derive, self.subject, self.image_wh = derive, subject, tuple(image_wh)
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
        if self.derive is not None:
            arrays.update(_derived(self.derive, LandmarkTrack.from_frames(self._frames, self.subject,
                                                                          self.image_wh)))
        _save_part(self.dir / f"part-{self._part:05d}.npz", arrays)
        self._part += 1
        self._frames = []

    def close(self) -> None:
        self.flush()


def _derived(derive: Derive, track: LandmarkTrack) -> Dict[str, np.ndarray]:
    out = derive(track)
    for k, v in out.items():
        if not k.startswith(PX_PREFIX) or len(v) != len(track):
            raise ValueError(f"derived array {k}: must start with {PX_PREFIX!r} and have {len(track)} rows")
    return out


def _save_part(path: Path, arrays: Dict[str, np.ndarray]) -> None:
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def _parts(run_dir: str | Path) -> List[Path]:
    parts = sorted((Path(run_dir) / "landmarks").glob("part-[0-9]*.npz"))
    return [p for p in parts if not p.name.endswith(".tmp.npz")]


def copy_cache(src_run: str | Path, dst_run: str | Path, derive: Optional[Derive] = None, subject: int = 0) -> None:
    """The landmark cache of ``src_run`` into ``dst_run`` (the same folder works), its ``px_`` arrays
    derived afresh from the landmarks when ``derive`` is given."""
    meta = load_meta(src_run)
    tracks = load_tracks(src_run)
    track = tracks.get(subject) or next(iter(tracks.values()))
    fresh = _derived(derive, track) if derive is not None else None
    datas = []
    for part in _parts(src_run):
        with np.load(part) as z:
            datas.append((part.name, {k: z[k] for k in z.files}))
    out = Path(dst_run) / "landmarks"
    out.mkdir(parents=True, exist_ok=True)
    same = out.resolve() == (Path(src_run) / "landmarks").resolve()
    if not same:
        for old in out.glob("part-*.npz"):
            old.unlink()
    row = 0
    for name, arrays in datas:
        n = len(arrays["frame_index"])
        if fresh is not None:
            arrays = {k: v for k, v in arrays.items() if not k.startswith(PX_PREFIX)}
            arrays.update({k: v[row:row + n] for k, v in fresh.items()})
        row += n
        if same and fresh is None:
            continue
        _save_part(out / name, arrays)
    if fresh is not None:
        meta["format"] = FORMAT_VERSION
    _write_json_atomic(out / "meta.json", meta)


def load_pixels(run_dir: str | Path) -> Dict[str, np.ndarray]:
    """The ``px_`` arrays of every part, joined (one row per analysed frame); empty for an older cache."""
    load_meta(run_dir)
    found: Dict[str, List[np.ndarray]] = {}
    for part in _parts(run_dir):
        try:
            with np.load(part) as z:
                names = [k for k in z.files if k.startswith(PX_PREFIX)]
                if not names:
                    return {}
                for k in names:
                    found.setdefault(k, []).append(z[k])
        except Exception as exc:  # a damaged part: say which
            raise CacheError(f"{part}: unreadable landmark cache part ({exc})") from None
    return {k: np.concatenate(v) for k, v in found.items()}


def clear_cache(run_dir: str | Path) -> None:
    shutil.rmtree(Path(run_dir) / "landmarks", ignore_errors=True)


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
    parts = _parts(run_dir)
    if not parts:
        raise CacheError(f"{run_dir}: the landmark cache holds no frames")
    datas = []
    for part in parts:
        try:
            with np.load(part) as z:
                datas.append({k: z[k] for k in z.files if not k.startswith(PX_PREFIX)})
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

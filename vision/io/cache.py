"""Stage 3: the landmark cache of a run, so rules can be re-run without models.

Layout inside a run folder::

    landmarks/meta.json          image size, fps, source, chunk size
    landmarks/part-00000.npz     analysed frames [0, CHUNK) and their people
    landmarks/px-00000.npz       the same frames: what the outputs draw
    landmarks/part-00001.npz     ...

Each part is written whole as soon as it fills (and at the end), so an
interrupted run keeps every complete part. Arrays in a part: ``frame_index``
and ``timestamp_s`` (one row per analysed frame), and one row per detected
person: ``row_frame`` (position in the part), ``person_id`` and the arrays of
:data:`vision.detect.landmarks.PERSON_ARRAYS`.

Beside each part, ``px-*.npz`` holds the subject's points as the features
measured them, in source pixels, one row per analysed frame, under names
starting ``px_`` (see ``vision.run_record.subject_pixels``). The writer gets
them from a ``derive`` function handed in by the pipeline: the outputs read
what the run stored, and this package never computes features. A
re-analysis rewrites only these small files.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

from vision.detect.landmarks import PERSON_ARRAYS, FrameLandmarks, LandmarkTrack

CHUNK = 256
FORMAT_VERSION = 2  # 2: px-*.npz beside the parts hold what the outputs draw
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
        for old in [*self.dir.glob("part-*.npz"), *self.dir.glob("px-*.npz")]:
            old.unlink()
        self.chunk = chunk
        self._frames: List[FrameLandmarks] = []
        self._part = 0
        meta = dict(meta or {})
        meta.update(format=FORMAT_VERSION, image_wh=list(image_wh))
        _write_json_atomic(self.dir / "meta.json", meta)

    def append(self, frame: FrameLandmarks) -> None:
        ids = [p.person_id for p in frame.people]
        if len(set(ids)) != len(ids):  # a reader takes one row per person and frame: which one would be a guess
            raise ValueError(f"frame {frame.frame_index} holds person ids {ids}: each person once a frame")
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
        if self.derive is not None:  # written first: a part never lacks its points
            track = LandmarkTrack.from_frames(self._frames, self.subject, self.image_wh)
            _save(self.dir / f"px-{self._part:05d}.npz", _derived(self.derive, track))
        _save(self.dir / f"part-{self._part:05d}.npz", arrays, compress=True)
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


def _save(path: Path, arrays: Dict[str, np.ndarray], compress: bool = False) -> None:
    tmp = path.with_suffix(".tmp.npz")
    (np.savez_compressed if compress else np.savez)(tmp, **arrays)
    os.replace(tmp, path)


def _parts(run_dir: str | Path) -> List[Path]:
    parts = sorted((Path(run_dir) / "landmarks").glob("part-[0-9]*.npz"))
    return [p for p in parts if not p.name.endswith(".tmp.npz")]


def _px_path(part: Path) -> Path:
    return part.with_name("px-" + part.name[len("part-"):])


def copy_cache(src_run: str | Path, dst_run: str | Path) -> None:
    """The landmark cache of ``src_run`` (meta and landmark parts, not the points) into ``dst_run``."""
    src, out = Path(src_run) / "landmarks", Path(dst_run) / "landmarks"
    load_meta(src_run)
    if out.resolve() == src.resolve():
        return
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for path in [src / "meta.json", *_parts(src_run)]:
        shutil.copyfile(path, out / path.name)


def write_pixels(run_dir: str | Path, arrays: Dict[str, np.ndarray]) -> None:
    """Store the ``px_`` arrays of a whole run (one row per analysed frame) beside its parts."""
    parts = _parts(run_dir)
    row = 0
    for part in parts:
        with np.load(part) as z:
            n = len(z["frame_index"])
        for k, v in arrays.items():
            if not k.startswith(PX_PREFIX):
                raise ValueError(f"pixel array {k}: must start with {PX_PREFIX!r}")
        _save(_px_path(part), {k: v[row:row + n] for k, v in arrays.items()})
        row += n
    if any(len(v) != row for v in arrays.values()):
        raise ValueError(f"pixel arrays must have {row} rows, one per analysed frame")
    meta = load_meta(run_dir)
    meta["format"] = FORMAT_VERSION
    _write_json_atomic(Path(run_dir) / "landmarks" / "meta.json", meta)


def load_pixels(run_dir: str | Path) -> Dict[str, np.ndarray]:
    """The ``px_`` arrays of every part, joined (one row per analysed frame); empty for an older cache."""
    load_meta(run_dir)
    parts = _parts(run_dir)
    have = [_px_path(p).is_file() for p in parts]
    if not any(have):
        return {}
    if not all(have):
        missing = next(_px_path(p).name for p, h in zip(parts, have) if not h)
        raise CacheError(f"{run_dir}: the landmark cache is damaged ({missing} is missing)")
    found: Dict[str, List[np.ndarray]] = {}
    for part in parts:
        try:
            with np.load(_px_path(part)) as z:
                for k in z.files:
                    found.setdefault(k, []).append(z[k])
        except Exception as exc:  # a damaged file: say which
            raise CacheError(f"{_px_path(part)}: unreadable ({exc})") from None
    return {k: np.concatenate(v) for k, v in found.items()}


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
            if not all(name in d for d in datas):  # a cache older than the array (object hits): not seen
                arrays[name] = arr
                continue
            stored = np.concatenate([d[name] for d in datas])[mine]
            if stored.shape[1:] != shape:  # a cache with fewer object crops (before the lap crop): the rest not run
                stored = _pad_nan(stored, shape)
            arr[rows[mine]] = stored
            arrays[name] = arr
        tracks[pid] = LandmarkTrack(pid, wh, times, index, **arrays)
    return tracks


def _pad_nan(values: np.ndarray, shape: tuple) -> np.ndarray:
    """``values`` (rows + a smaller trailing shape) in the leading corner of NaN arrays of ``shape``."""
    out = np.full((len(values),) + shape, np.nan, np.float32)
    out[(slice(None),) + tuple(slice(0, k) for k in values.shape[1:])] = values
    return out


def store_person_array(run_dir: str | Path, person_id: int, name: str, values: np.ndarray) -> None:
    """Rewrite one per-person array (e.g. ``objects``, added after the landmarks) of ``person_id`` in every part;
    ``values`` has one row per analysed frame (rows where the person is absent are ignored)."""
    shape = PERSON_ARRAYS[name]
    row = 0
    for part in _parts(run_dir):
        with np.load(part) as z:
            arrays = {k: z[k] for k in z.files}
        n = len(arrays["frame_index"])
        mine = arrays["person_id"] == person_id
        stored = arrays.get(name)
        if stored is None or stored.shape[1:] != shape:  # absent, or older with fewer object crops: written anew
            stored = np.full((len(arrays["person_id"]),) + shape, np.nan, np.float32)
        stored[mine] = values[row:row + n][arrays["row_frame"][mine]]
        arrays[name] = stored
        _save(part, arrays, compress=True)
        row += n
    if row != len(values):
        raise ValueError(f"{name}: expected {row} rows, one per analysed frame, got {len(values)}")

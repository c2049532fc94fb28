"""The pose ``.task`` bundle, built on first use from the models inside the mediapipe wheel.

The Tasks ``PoseLandmarker`` (several people a frame) needs a ``.task``
bundle. ``mediapipe==0.10.21`` ships none, but it ships the tflite files
Holistic runs (pose_detection + pose_landmark_full); :func:`pose_bundle`
wraps them into a bundle (:func:`vision.detect.tasks.build_bundled_task`,
see ``../shared/notes/mediapipe-offline.md`` point 3) the first time it is
needed and keeps it in a cache folder, so a fresh ``pip install`` is enough:
no network, no extra step. The cache file name carries the mediapipe version
and a hash of the source tflite files, so an upgraded wheel gets a new bundle.

Cache folder: ``$CONDUCT_COACH_CACHE`` if set, else
``$XDG_CACHE_HOME/conduct-coach``, else ``~/.cache/conduct-coach``.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Optional

#: Environment variable naming the cache folder (overrides the XDG default).
CACHE_ENV = "CONDUCT_COACH_CACHE"


def cache_dir() -> Path:
    """Where built bundles are kept: ``$CONDUCT_COACH_CACHE``, ``$XDG_CACHE_HOME/conduct-coach`` or ``~/.cache/conduct-coach``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "conduct-coach"


def _source_tag(kind: str) -> str:
    """mediapipe version + the first 12 hex digits of a sha256 over the wheel's source tflite files."""
    import mediapipe as mp  # only to locate the wheel's files; no graph is started

    from vision.detect.bundles import BUNDLED

    modules = Path(mp.__file__).parent / "modules"
    digest = hashlib.sha256()
    for source, _, _ in BUNDLED[kind].values():
        digest.update((modules / source).read_bytes())
    return f"mediapipe{mp.__version__}-{digest.hexdigest()[:12]}"


def pose_bundle(folder: Optional[Path] = None) -> Path:
    """Path of the pose bundle made from the wheel's models, built (atomically) if not cached yet.

    The bundle is written to a temporary file in the same folder and renamed
    into place, so a crash or two processes starting at once never leave a
    half-written bundle behind; a later call reuses it.
    """
    from vision.detect.native import filtered_stderr
    from vision.detect.bundles import build_bundled_task

    folder = Path(folder) if folder is not None else cache_dir()
    out = folder / f"pose_landmarker_full-{_source_tag('pose')}.task"
    if out.is_file() and out.stat().st_size > 0:
        return out
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out.stem + ".", suffix=".part", dir=folder)
    os.close(fd)
    try:
        with filtered_stderr():
            build_bundled_task("pose", Path(tmp))
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out

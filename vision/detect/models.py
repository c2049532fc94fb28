"""Where model files live, which ones a folder holds, and how a run names them (no MediaPipe here).

The models folder is, first to last: ``--models DIR``, ``$CONDUCT_COACH_MODELS``,
then the one shipped inside the package (``vision/models``; in a checkout a
link to the repository's ``models/``, whose README gives each file's licence
and provenance). Holistic needs nothing from it: its models are inside the
mediapipe wheel. A run names every model file it loaded with its sha256
(:func:`file_entry`), for run.json's ``models.files``.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional, Sequence

MODELS_ENV = "CONDUCT_COACH_MODELS"
#: The folder shipped inside the package (a link to the repository's ``models/`` in a checkout).
PACKAGED_MODELS = Path(__file__).resolve().parent.parent / "models"
#: What the detection stage (``vision.detect`` but the object pass, and ``vision.track``) makes of the same frames
#: with the same model files: bump it with any change that moves a landmark, a track or a subject choice, so a run
#: judged again from an older landmark cache says it is stale (``vision.reanalysis``). run.json
#: ``models.detection_version``; a run that records none was made by version 1 or older.
DETECTION_VERSION = 1
#: Pose files in order of preference when several are present: the most accurate wins.
POSE_FILES = ("pose_landmarker_heavy.task", "pose_landmarker_full.task", "pose_landmarker_lite.task")


class ModelsError(Exception):
    """A models folder or model file that is not there (one-line message for the user)."""


def models_dir(explicit: Optional[str | Path] = None) -> Path:
    """The models folder to use: ``explicit`` (``--models``), else ``$CONDUCT_COACH_MODELS``, else the packaged one.

    A folder that was asked for and does not exist is an error; the packaged
    one is returned even when absent (it then holds nothing).
    """
    for given, how in ((explicit, "--models"), (os.environ.get(MODELS_ENV), f"${MODELS_ENV}")):
        if given:
            path = Path(given).expanduser()
            if not path.is_dir():
                raise ModelsError(f"{how} {given}: no such folder")
            return path.resolve()
    return PACKAGED_MODELS.resolve()


@dataclass(frozen=True)
class TaskFiles:
    """The MediaPipe Tasks ``.task`` files found in a models folder (None where absent)."""

    pose: Optional[Path] = None
    face: Optional[Path] = None
    hand: Optional[Path] = None


def _first(folder: Path, stem: str, preferred: Sequence[str] = ()) -> Optional[Path]:
    named = [folder / n for n in preferred]
    found = named + sorted(p for p in folder.glob(f"{stem}*.task") if p not in named)
    return next((p for p in found if p.is_file()), None)


def find_task_files(folder: Path) -> TaskFiles:
    """The pose (heavy > full > lite > other ``pose_landmarker*.task`` by name), face and hand files found."""
    folder = Path(folder)
    if not folder.is_dir():
        return TaskFiles()
    return TaskFiles(pose=_first(folder, "pose_landmarker", POSE_FILES),
                     face=_first(folder, "face_landmarker", ("face_landmarker.task",)),
                     hand=_first(folder, "hand_landmarker", ("hand_landmarker.task",)))


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@lru_cache(maxsize=None)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    return sha256_of(Path(path).read_bytes())


def file_entry(path: Path, name: Optional[str] = None) -> Dict[str, str]:
    """``{file, sha256}`` for run.json: ``name`` (default the file name) and the sha256 of the file's bytes."""
    path = Path(path)
    st = path.stat()
    return {"file": name or path.name, "sha256": _file_sha256(str(path), st.st_size, st.st_mtime_ns)}


def wheel_entry(mediapipe_dir: Path, relative: str) -> Dict[str, str]:
    """``{file, sha256}`` of a model inside the mediapipe wheel, named ``mediapipe/<relative>``."""
    return file_entry(Path(mediapipe_dir) / relative, f"mediapipe/{relative}")

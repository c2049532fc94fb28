"""The one landmark-detector interface, and the one place a backend is chosen.

Two backends fill :class:`~vision.detect.landmarks.PersonLandmarks`:

* ``holistic`` (default): MediaPipe Holistic, models inside the mediapipe
  wheel, nothing else needed (:mod:`vision.detect.holistic`);
* ``tasks``: MediaPipe's Tasks API with the ``.task`` files of a models folder
  (:mod:`vision.detect.tasks`), several people a frame if asked.

The backend is always chosen by name (``analyze --backend``), never by
what a folder happens to hold: ``tasks`` without a pose ``.task`` file is an
error that names the files and the folder looked in.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Protocol, runtime_checkable

import numpy as np

from vision.detect.landmarks import PersonLandmarks
from vision.detect.models import POSE_FILES, ModelsError, TaskFiles, find_task_files, models_dir

BACKENDS = ("holistic", "tasks")
DEFAULT_BACKEND = "holistic"


@runtime_checkable
class LandmarkDetector(Protocol):
    """Landmarks of the people in a frame. Use as a context manager (``with open_detector(...) as det``).

    ``detect`` returns the people found, in order of ``person_id`` ([] when
    nobody is), with NaN for every landmark not seen. In tracking mode
    (``still_images=False``) timestamps must strictly increase.
    ``model_names`` is run.json's ``models`` block:
    ``{backend, models_dir, files: {role: {file, sha256}}}``.
    """

    @property
    def model_names(self) -> Dict[str, object]: ...

    def detect(self, image_bgr: np.ndarray, timestamp_s: float) -> List[PersonLandmarks]: ...

    def close(self) -> None: ...

    def __enter__(self) -> "LandmarkDetector": ...

    def __exit__(self, *exc) -> None: ...


@dataclass(frozen=True)
class DetectorChoice:
    """A backend and the model files it will load, checked; :meth:`open` starts it."""

    backend: str
    models_dir: Path
    files: TaskFiles = TaskFiles()

    def open(self, still_images: bool = False, num_poses: int = 1) -> LandmarkDetector:
        """The detector, loaded. ``num_poses`` (people a frame) is for ``tasks``; Holistic follows one."""
        if self.backend == "holistic":
            from vision.detect.holistic import HolisticDetector

            return HolisticDetector(still_images=still_images)
        from vision.detect.tasks import TasksDetector

        return TasksDetector(self.files.pose, still_images=still_images, num_poses=num_poses,
                             face_task=self.files.face, hand_task=self.files.hand)


def choose_detector(backend: str = DEFAULT_BACKEND, models: Optional[str | Path] = None) -> DetectorChoice:
    """Check ``backend`` and its model files before anything runs; raises :class:`ModelsError` in one line.

    ``models``: the ``--models`` folder, else ``$CONDUCT_COACH_MODELS``, else
    the one inside the package (:func:`vision.detect.models.models_dir`).
    """
    if backend not in BACKENDS:
        raise ModelsError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    folder = models_dir(models)
    if backend == "holistic":
        return DetectorChoice(backend, folder)
    files = find_task_files(folder)
    if files.pose is None:
        wanted = ", ".join(POSE_FILES[:-1]) + " or " + POSE_FILES[-1]
        raise ModelsError(f"--backend tasks needs a pose model in {folder}: {wanted} "
                          "(see models/README.md; scripts/make_pose_bundle.py builds one offline)")
    return DetectorChoice(backend, folder, files)


def open_detector(backend: str = DEFAULT_BACKEND, models: Optional[str | Path] = None,
                  still_images: bool = False, num_poses: int = 1) -> LandmarkDetector:
    """The landmark detector of ``backend`` (``holistic`` or ``tasks``), loaded; see :func:`choose_detector`."""
    return choose_detector(backend, models).open(still_images=still_images, num_poses=num_poses)

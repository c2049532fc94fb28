"""Conduct coach: code-of-conduct moments found in video, offline.

Data flows one way, one module a stage:

    frames.py -> detector.py (+ detector_tasks.py for models/*.task: the only MediaPipe code)
    -> landmarks.py, cache.py
    -> features.py (skeleton, feat_body, feat_face, feat_touch; hands.py for gestures)
    -> calibration.py -> rules.py -> engine.py (movements.py, gestures.py for whole movements)
    -> events.py (events.jsonl, CSV) -> outputs: render.py, clips.py, report.py

``analyzer.py`` judges one person (live or offline), ``pipeline.py`` runs a
whole input, ``appearance.py`` adds the once-per-recording appearance checks,
``evaluate.py`` scores runs against labels and ``cli.py`` is the command line.
"""

import os

# FFmpeg (inside OpenCV) prints its own complaints about damaged files; the
# tool says what went wrong in one line of its own instead.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")

__version__ = "0.1.0"

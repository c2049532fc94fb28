"""Conduct coach: code-of-conduct moments found in video, offline.

Data flows one way, one module a stage:

    frames.py -> detector.py (MediaPipe, the only place) -> landmarks.py
    -> features.py -> calibration.py -> rules.py -> engine.py -> events.py
    -> outputs (cache.py, run.json, CSV, evaluate.py)

``pipeline.py`` wires the stages together; ``cli.py`` is the command line.
"""

import os

# FFmpeg (inside OpenCV) prints its own complaints about damaged files; the
# tool says what went wrong in one line of its own instead.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

__version__ = "0.1.0"

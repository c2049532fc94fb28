"""Conduct coach: code-of-conduct moments found in video, offline.

Data flows one way, one subpackage a stage::

    io.frames -> detect (the only MediaPipe code) -> io.cache
    -> features (body-scaled, NaN where not seen) -> judge (calibration, rules, engine, gestures, appearance)
    -> io.events (events.jsonl) -> review (render, clips, report: from the run folder only)

``pipeline`` runs one input, ``run_record`` writes its ``run.json``,
``evaluate`` scores runs against labels and ``cli`` is the command line.
"""

import os

# FFmpeg (inside OpenCV) prints its own complaints about damaged files; the
# tool says what went wrong in one line of its own instead.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")

__version__ = "0.1.0"

"""Conduct coach: code-of-conduct moments found in video, offline.

Data flows one way, one module a stage:

    frames.py -> detector.py (MediaPipe, the only place) -> landmarks.py
    -> features.py -> calibration.py -> rules.py -> engine.py -> events.py
    -> outputs (cache.py, run.json, CSV, evaluate.py)

``pipeline.py`` wires the stages together; ``cli.py`` is the command line.
"""

__version__ = "0.1.0"

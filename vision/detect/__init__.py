"""Stage 2: pictures to landmarks. The only package that imports MediaPipe.

``landmarks`` holds the containers every later stage reads (NaN = not seen);
``holistic`` (MediaPipe Holistic, models from the wheel) and ``tasks``
(official ``.task`` bundles) fill them behind one ``LandmarkDetector`` protocol.
"""

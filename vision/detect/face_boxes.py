"""Every face in a frame as a box: MediaPipe's bundled face detection, for blurring bystanders.

Used by :mod:`vision.review.privacy` on each output frame; the landmarks the
rules read come from the landmark detectors, not from here.
"""
from __future__ import annotations

import numpy as np

from vision.detect.native import ModelHandle, quiet_native_stderr


class FaceBoxDetector(ModelHandle):
    """Every face in a frame, as boxes.

    Uses ``mp.solutions.face_detection`` with ``model_selection=1`` (the
    full-range model, faces up to about 5 m away; bundled in the 0.10.21
    wheel, so it runs offline). Each frame is judged on its own. Use as a
    context manager.
    """

    def __init__(self, min_confidence: float = 0.5):
        import mediapipe as mp  # imported here so that tests of other stages never load it

        with quiet_native_stderr():
            self._model = mp.solutions.face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=min_confidence)
        self._warm = False

    def detect(self, image_bgr: np.ndarray) -> tuple:
        """``(xyxy, score)``: boxes (N, 4) in pixels (x0, y0, x1, y1), clipped to the image, and scores (N,)."""
        h, w = image_bgr.shape[:2]
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        rgb.flags.writeable = False
        if self._warm:
            res = self._model.process(rgb)
        else:
            with quiet_native_stderr():
                res = self._model.process(rgb)
            self._warm = True
        boxes, scores = [], []
        for d in res.detections or []:
            b = d.location_data.relative_bounding_box
            x0, y0 = max(0.0, b.xmin * w), max(0.0, b.ymin * h)
            x1, y1 = min(float(w), (b.xmin + b.width) * w), min(float(h), (b.ymin + b.height) * h)
            if x1 > x0 and y1 > y0:
                boxes.append((x0, y0, x1, y1))
                scores.append(float(d.score[0]) if d.score else 0.0)
        return (np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32))

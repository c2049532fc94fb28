"""Stage 2b: who is who across frames, and which person is the trainee.

Between detection (:mod:`vision.detect`, several bodies a frame) and features:
:mod:`vision.track.tracker` gives every body a stable integer id across frames
(norfair on the pose keypoints, re-identification after short occlusions);
:mod:`vision.track.subject` picks the trainee (the subject) and the customer
among the tracks and writes run.json's ``subject``, ``customer`` and ``people``.
No MediaPipe here: everything is tested on synthetic skeletons.
"""

"""Stage 2: pictures to landmarks. The only package that imports MediaPipe.

``landmarks`` holds the containers every later stage reads (NaN = not seen);
``base`` the one ``LandmarkDetector`` protocol and ``open_detector``, which
opens the backend asked for: ``holistic`` (models from the mediapipe wheel)
or ``tasks`` (``.task`` files of a models folder, see ``models``), with
``people`` (faces and hands given to poses, no MediaPipe) and ``bundles``
(``.task`` files built from the wheel). ``face_boxes`` finds faces to blur;
``native`` keeps MediaPipe's native logging quiet.
"""

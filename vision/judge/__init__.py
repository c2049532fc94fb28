"""Stage 4-5: features to rule states to events.

``rules`` loads and checks ``rules.yaml``; ``calibration`` takes each
person's neutral; ``engine`` is the per-rule state machine; ``gestures`` and
``gesture_registry`` segment whole movements; ``appearance`` judges the
once-per-recording checks; ``analyzer`` runs them for one person.
"""

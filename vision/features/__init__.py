"""Stage 3: landmarks to named, body-scaled features (NaN where not seen).

``geometry`` and ``skeleton`` are the shared maths; ``body``, ``face``,
``touch`` and ``hands`` compute one family each; ``table`` lists every
feature with its unit and builds the per-frame table the rules read.
"""

"""The edges of the pipeline: what goes in and what is kept.

``frames`` reads every kind of input as timed frames; ``cache`` keeps the
landmarks of a run; ``events`` is the event log; ``run_folder`` reads a
finished run back for the outputs; ``video_in``/``video_out`` re-read the
source and write browser-playable H.264.
"""

"""The edges of the pipeline: what goes in and what is kept.

``frames`` reads every kind of input as timed frames; ``cache`` keeps the
landmarks of a run and the points the outputs draw; ``events`` is the event
log; ``run_meta`` is ``run.json`` (schema, checks, atomic writes);
``run_folder`` is the folder's layout and reads a run back for the outputs;
``video_in``/``video_out`` re-read the source and write browser-playable
H.264. Nothing here imports ``vision.features`` or ``vision.judge``.
"""

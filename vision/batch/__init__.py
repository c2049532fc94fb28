"""Many recordings at once: ``python -m vision batch INPUT... --out DIR``.

The batch is a thin layer over :func:`vision.pipeline.analyze`, one run
folder per recording, in the order data flows::

    plan.py        inputs (files, folders, globs) -> jobs: one recording, one run folder, a trainee
    state.py       batch.json beside each run's run.json: the input's fingerprint, the rules' sha256,
                   the trainee; decides which runs are done (skipped) and which are (re-)analysed
    worker.py      one job in one process, numeric libraries pinned to one thread
    local.py       the jobs on a pool of worker processes (the default engine)
    ray_engine.py  the same jobs as Ray tasks (``--engine ray``, ``pip install .[ray]``)
    index.py       index.csv, one row per run;  index_html.py  index.html with each trainee's progress
    cli.py         the ``batch`` sub-command

Nothing here imports a model or reads a frame: that is ``analyze``'s work,
done in the workers.
"""

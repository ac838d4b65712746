"""``toolgym view``: a local web page over eval and train runs, and ``toolgym play --web``.

``index`` reads a trajectories JSONL once into columns (offsets and the figures the table filters on),
``query`` filters, sorts and pages them, ``summary`` runs the eval table's own metrics over them,
``compare`` pairs two runs by task, ``runs`` finds the files of the paths given, ``episode`` shapes one
trajectory for the page, ``play`` keeps the playground's env sessions, ``app`` is the FastAPI server
and ``export`` writes one self-contained HTML file. Nothing here is imported by ``toolgym --help``: the server
loads with the command.
"""

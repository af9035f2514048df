"""Locust load for the stack: users (`locustfile.py`), shapes (`shapes.py`, `schedule.py`) and
the headless runner (`python -m load SHAPE`, what `nox -s load` and grader/loadgen.py run).

Nothing is imported here: `python -m load` must monkey-patch with gevent before anything
else is imported (see `__main__.py`).
"""

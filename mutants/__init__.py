"""The grader's mutation suite: `python -m mutants` (or `nox -s mutants`).

Each mutant is one realistic mistake a student could make, written as a patch against this
repository (`mutants/<id>.patch`), and the checklist item it must fail
(`mutants/catalog.yaml`). The runner copies the repository, applies one patch, brings the
mutated stack up beside any other at a port offset, grades that item with the unmutated
grader, and says whether the grader caught the mistake (docs/grading.md, "Mutation suite").
"""

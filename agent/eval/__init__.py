"""Evals: a suite of tasks run under several models or routing profiles, results per run, and the report
(pass rate against dollars, the Pareto front, a recommendation per tag)."""

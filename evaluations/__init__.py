"""Offline evaluations (datasets, evaluators, runner): arrives with the evaluation issue."""

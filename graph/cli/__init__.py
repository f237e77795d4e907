"""The ``support-agent`` command line, one module per command group."""

from graph.cli.app import app, main
from graph.cli.common import load_settings, print_json, progress_bar, run_command

__all__ = ["app", "load_settings", "main", "print_json", "progress_bar", "run_command"]

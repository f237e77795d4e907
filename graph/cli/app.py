"""The ``support-agent`` Typer app: the product's commands, plus plugins' (how eval joins).

Plugins are functions named in the ``support_agent.commands`` entry-point group
(``[project.entry-points."support_agent.commands"]`` in a pyproject); each receives
the app and adds its commands. That way ``graph`` never imports ``evaluations``, and a
plugin that fails to load costs only its own commands (a warning on stderr).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

import typer

from graph.cli.common import err
from graph.cli.conversation import ask, chat, resume
from graph.cli.doctor import doctor
from graph.cli.forget import forget
from graph.cli.kb import kb_app
from graph.cli.memory import memory_app
from graph.cli.threads import threads_app
from graph.cli.tickets import tickets_app

__all__ = ["PLUGIN_GROUP", "app", "main"]

PLUGIN_GROUP = "support_agent.commands"

app = typer.Typer(
    name="support-agent",
    help="A customer-support agent that answers from your knowledge base, with citations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(kb_app, name="kb")
app.add_typer(memory_app, name="memory")
app.add_typer(tickets_app, name="tickets")
app.add_typer(threads_app, name="threads")
# Registration order is the order ``--help`` lists the commands in.
app.command("ask")(ask)
app.command("chat")(chat)
app.command("forget")(forget)
app.command("resume")(resume)
app.command("doctor")(doctor)

_loaded: set[str] = set()


def _load_plugins(target: typer.Typer) -> None:
    """Let every installed plugin add its commands; one that fails is left out, with a warning."""
    for entry in entry_points(group=PLUGIN_GROUP):
        if entry.name in _loaded:
            continue
        _loaded.add(entry.name)
        commands, groups = len(target.registered_commands), len(target.registered_groups)
        try:
            register: Callable[[typer.Typer], object] = entry.load()
            register(target)
        except Exception as exc:
            del target.registered_commands[commands:], target.registered_groups[groups:]
            err.print(
                f"warning: command plugin {entry.name!r} ({entry.value}) failed to load, "
                f"its commands are unavailable: {type(exc).__name__}: {exc}",
                style="yellow",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )


def main() -> None:
    """The ``support-agent`` console script (and ``python -m graph.cli``)."""
    _load_plugins(app)
    app(prog_name="support-agent")

"""``python -m graph.cli``: the same command line as the ``support-agent`` script."""

from graph.cli.app import main

__all__: list[str] = []

if __name__ == "__main__":  # pragma: no cover (pytest's doctest collection imports this)
    main()

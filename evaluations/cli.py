"""``support-agent eval`` and ``support-agent eval-data``: the evaluation commands.

A plugin of the ``support-agent`` command line (``graph.cli``): pyproject names
``register`` in the ``support_agent.commands`` entry-point group and ``graph.cli.main``
calls it with the app, because imports go one way (``graph`` must not import
``evaluations``). Everything else about the command line (settings, ``--json``,
exit codes) is graph.cli's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from graph.cli.common import (
    JsonOpt,
    console,
    err,
    load_settings,
    print_json,
    progress_bar,
    run_command,
)

if TYPE_CHECKING:
    from evaluations.dataset import Case

__all__ = ["eval_command", "eval_data", "register"]


def register(app: typer.Typer) -> None:
    """Add ``eval`` and ``eval-data`` to the ``support-agent`` app (the entry point's hook)."""
    app.command("eval")(eval_command)
    app.command("eval-data")(eval_data)


def eval_command(
    dataset: Annotated[
        Path, typer.Argument(help="JSONL dataset (see README: Offline evaluations).")
    ],
    kb: Annotated[
        list[Path] | None,
        typer.Option("--kb", help="Ingest into an isolated, cached store for this run."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Report directory (default: eval-results/...).")
    ] = None,
    repeat: Annotated[int, typer.Option("--repeat", min=1, max=50, help="Trials per case.")] = 1,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=32, help="Cases run at once.")
    ] = 1,
    retrieval_k: Annotated[
        int | None,
        typer.Option("--retrieval-k", min=1, max=50, help="Override SUPPORT_RETRIEVAL_K."),
    ] = None,
    compare_to: Annotated[
        Path | None, typer.Option("--compare", help="A previous report.json to compare with.")
    ] = None,
    fail_on_regression: Annotated[
        bool, typer.Option("--fail-on-regression", help="Exit 1 when --compare finds any.")
    ] = False,
    charts: Annotated[bool, typer.Option("--charts/--no-charts", help="Write PNG charts.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Replay a labelled dataset through the agent and report its metrics."""
    from evaluations.dataset import load_dataset
    from evaluations.langsmith_upload import upload_run
    from evaluations.report import build_report, compare, render_comparison, write_report
    from evaluations.runner import run_dataset

    settings = load_settings()
    if retrieval_k is not None:
        settings = settings.model_copy(update={"retrieval_k": retrieval_k})
    if not dataset.is_file():
        err.print(f"[red]dataset not found: {dataset}[/red]")
        raise typer.Exit(2)
    for path in kb or []:
        if not path.exists():
            err.print(f"[red]--kb path not found: {path}[/red]")
            raise typer.Exit(2)
    previous = None
    if compare_to is not None:
        try:
            previous = json.loads(compare_to.read_text())
        except (OSError, ValueError) as exc:
            err.print(f"[red]cannot read --compare {compare_to}: {exc}[/red]")
            raise typer.Exit(2) from exc
    data = load_dataset(dataset)
    for problem in [*map(str, data.errors), *data.warnings]:
        err.print(f"[yellow]{dataset}: {problem}[/yellow]")
    if not data.cases:
        err.print("[red]no valid case to run[/red]")
        raise typer.Exit(2)

    async def main() -> dict[str, Any]:
        with progress_bar(as_json) as progress:
            task = progress.add_task(f"Evaluating {data.name}", total=None)

            def report_progress(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            run = await run_dataset(
                data,
                settings,
                kb=kb or [],
                repeat=repeat,
                concurrency=concurrency,
                progress=report_progress,
            )
        return build_report(run, langsmith=await upload_run(run, settings))

    report = run_command(main)
    out_dir = out or Path("eval-results") / f"{data.name}-{report['run']['id']}"
    paths = write_report(report, out_dir, charts=charts)
    diff = compare(previous, report) if previous is not None else None
    if as_json:
        summary = {k: v for k, v in report.items() if k != "cases"}
        summary["files"] = [str(p) for p in paths]
        if diff is not None:
            summary["comparison"] = diff
        print_json(summary)
    else:
        from rich.markdown import Markdown

        markdown = (out_dir / "report.md").read_text()
        console.print(Markdown(markdown.split("\n## Failed trials")[0]))
        console.print(f"wrote {', '.join(str(p) for p in paths)}")
        if diff is not None:
            console.print(render_comparison(diff))
    if diff is not None and fail_on_regression and diff["regressions"]:
        raise typer.Exit(1)


def _build(
    source: str, out: Path, data: Path, sample: int, oos: int, variant: str, seed: int
) -> tuple[dict[str, list[Case]], Path]:
    """The datasets (file stem -> cases) a source makes, and the KB to run them against."""
    from evaluations import adapters

    if source == "tau2":
        cases = adapters.tau2_cases(data, variant)  # type: ignore[arg-type]
        return {f"tau2-{variant}": cases}, adapters.tau2_kb(data).resolve()
    if source == "clinc150":
        cases, faq = adapters.clinc150_cases(data, in_scope=sample, out_of_scope=oos, seed=seed)
        return {"clinc150": cases}, adapters.write_kb(out / "clinc150-kb.jsonl", faq)
    if source in ("bitext", "nlupp"):  # requests for a person: escalation only
        cases = (adapters.bitext_cases if source == "bitext" else adapters.nlupp_cases)(data)
        return {source: cases}, (Path(__file__).resolve().parents[1] / "sample_kb").resolve()
    if source == "dstc10":
        kb = adapters.write_dstc10_kb(data, out / "dstc10-kb.jsonl")
        return {"dstc10": adapters.dstc10_cases(data)}, kb
    if source == "mtrag":  # the rewrite questions score query rewriting on the same KB
        kb = adapters.write_mtrag_kb(data, out / "mtrag-kb.jsonl")
        datasets = {"mtrag": adapters.mtrag_cases(data)}
        datasets["mtrag_rewrite"] = adapters.mtrag_rewrite_cases(data)
        return datasets, kb
    cases, faq = adapters.banking77_cases(data, sample=sample, seed=seed)
    return {"banking77": cases}, adapters.write_kb(out / "banking77-kb.jsonl", faq)


def eval_data(
    source: Annotated[
        str,
        typer.Argument(help="tau2, clinc150, banking77, bitext, nlupp, dstc10 or mtrag."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Directory for the dataset (and KB).")],
    data: Annotated[Path, typer.Option("--data", help="The shared datasets folder.")] = Path(
        "../shared/data"
    ),
    sample: Annotated[
        int, typer.Option("--sample", min=1, help="In-scope queries (clinc150, banking77).")
    ] = 500,
    oos: Annotated[
        int, typer.Option("--oos", min=0, help="Out-of-scope queries (clinc150).")
    ] = 500,
    variant: Annotated[
        str, typer.Option("--variant", help="tau2: instructions | dialogue.")
    ] = "instructions",
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed.")] = 13,
    as_json: JsonOpt = False,
) -> None:
    """Turn a public dataset (../shared/data) into evaluation datasets (and their KB).

    ``mtrag`` writes two: ``mtrag.jsonl`` (answers, abstentions) and ``mtrag_rewrite.jsonl``
    (follow-up questions with gold standalone rewrites).
    """
    from evaluations import adapters
    from evaluations.dataset import write_dataset

    if source not in adapters.SOURCES or variant not in ("instructions", "dialogue"):
        err.print(
            f"[red]source is one of {', '.join(adapters.SOURCES)}; variant "
            "instructions or dialogue[/red]"
        )
        raise typer.Exit(2)
    try:
        datasets, kb_path = _build(source, out, data, sample, oos, variant, seed)
    except adapters.DataMissingError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    written = []
    for name, cases in datasets.items():
        path = out / f"{name}.jsonl"
        count = write_dataset(path, cases)
        command = f"support-agent eval {path} --kb {kb_path}"
        written.append(
            {"dataset": str(path), "cases": count, "kb": str(kb_path), "command": command}
        )
    if as_json:
        print_json({**written[0], "datasets": written})
    else:
        for item in written:
            console.print(
                f"wrote {item['cases']} cases to {item['dataset']}; run:\n  {item['command']}"
            )


if __name__ == "__main__":  # pragma: no cover
    from graph.cli import main

    main()

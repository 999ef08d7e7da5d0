"""The ``xsite`` command: each command is a few lines that call one public function."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from xsite.config import CONFIG_FILE, SiteConfig, find_config, load_config
from xsite.errors import ConfigError, XsiteError
from xsite.importers import import_runs
from xsite.publish.github import deploy
from xsite.publish.report import markdown_report
from xsite.runner import run_command
from xsite.runner.scrape import PatternError
from xsite.serve import LOOPBACK, Events, serve
from xsite.site.build import BuildReport, build
from xsite.store import compact as compact_store
from xsite.store import get_model, load_models, load_runs, set_model_alias
from xsite.store.sql import sql as run_sql
from xsite.store.values import parse_value

if TYPE_CHECKING:
    import pandas as pd

app = typer.Typer(
    help="Publish machine-learning experiments: Parquet run store → static site.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
console = Console()
err_console = Console(stderr=True)

StoreDir = Annotated[
    str | None,
    typer.Argument(
        help="The run store (a folder or s3:// URI). Default: $XSITE_DIR, else ./xsite-runs.",
        show_default=False,
    ),
]


@app.command("ls")
def list_runs(
    dir: StoreDir = None,
    project: Annotated[str | None, typer.Option(help="Only runs of this project.")] = None,
    query: Annotated[
        str | None,
        typer.Option(
            "--query",
            "-q",
            help="Only runs this query matches (docs/query.md), e.g. "
            "'metrics.val/acc > 0.9 and tags contains \"cnn\"'.",
        ),
    ] = None,
    metrics: Annotated[
        int, typer.Option(help="How many metric columns to show (last values).")
    ] = 3,
    json: Annotated[
        bool, typer.Option("--json", help="Every column as JSON, one object a run: for scripts.")
    ] = False,
) -> None:
    """List the runs in a store as a table, oldest first."""
    with _user_errors():
        runs = load_runs(dir, project=project, query=query)
    if json:
        _print_frame(runs, "json")
        return
    if runs.empty and query is not None:
        console.print("No run matches the query.")
        return
    if runs.empty:
        console.print("No runs yet. Start one with [bold]xsite.init(...)[/] in training code.")
        return
    metric_columns = [c for c in runs.columns if c.startswith("metrics.")][:metrics]
    table = Table(title=f"{len(runs)} runs", header_style="bold")
    table.add_column("run_id", no_wrap=True)
    for column in ["project", "name", "status", "started", "duration", "tags"]:
        table.add_column(column)
    for column in metric_columns:
        table.add_column(column.removeprefix("metrics."), justify="right")
    for record in runs.to_dict("records"):
        table.add_row(
            record["run_id"],
            record["project"],
            record["name"],
            _status_markup(record["status"]),
            record["started_at"].strftime("%Y-%m-%d %H:%M"),
            _format_duration(record["duration_s"]),
            ", ".join(record["tags"]),
            *(_format_number(record[column]) for column in metric_columns),
        )
    console.print(table)


@app.command("build")
def build_site(
    dir: StoreDir = None,
    out: Annotated[
        str | None,
        typer.Option("--out", "-o", help="Output folder (default: site, or `out` in the config)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Config file (default: ./xsite.toml, else pyproject.toml's tool.xsite)."),
    ] = None,
    theme: Annotated[
        str | None, typer.Option(help="Theme folder overriding default templates/static files.")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Site title.")] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Public URL, e.g. https://me.github.io/repo/ (sitemap).")
    ] = None,
    notes: Annotated[
        str | None,
        typer.Option(help="Folder of Markdown notes (default: ./notes when it exists)."),
    ] = None,
    select: Annotated[
        str | None,
        typer.Option(
            help="Publish only the runs this picks: a query (docs/query.md), a run id or a "
            "name, e.g. \"tags contains 'paper'\"."
        ),
    ] = None,
    redact: Annotated[
        bool | None,
        typer.Option(
            "--redact/--no-redact",
            help="Leave out user and host names, absolute paths, e-mail addresses and git "
            "remotes (for double-blind review).",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            help="Exit 1 on any skipped file, broken internal link or warning, such as a note "
            "referring to no run (for CI)."
        ),
    ] = False,
) -> None:
    """Render the run store into a static site (runs tables, run pages, charts, notes)."""
    with _user_errors():
        settings = load_config(
            config,
            store=dir,
            out=out,
            theme=theme,
            title=title,
            base_url=base_url,
            notes=notes,
            select=select,
            redact=redact,
        )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, advance: int, total: int | None) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.advance(tasks[stage], advance)

            report = build(settings, progress=progress)
    console.print(
        f"Built [bold]{report.runs}[/] runs into [bold]{report.out}[/] in {report.seconds:.1f} s: "
        f"{report.pages} pages ({report.pages_rendered} rendered), "
        f"{report.files_written} files written, {report.files_unchanged} unchanged, "
        f"{report.files_removed} removed, {report.bytes / 1e6:.1f} MB in all."
    )
    for skipped in report.skipped:
        err_console.print(f"[yellow]Skipped[/] {skipped}")
    for link in report.broken_links:
        err_console.print(f"[red]Broken link[/] {link}")
    for warning in report.warnings:
        err_console.print(f"[yellow]Warning[/] {escape(warning)}", highlight=False)
    if strict and (report.skipped or report.broken_links or report.warnings):
        err_console.print(
            "[bold red]--strict:[/] skipped files, broken links or warnings (listed above)"
        )
        raise typer.Exit(1)


@app.command("serve")
def serve_site(
    dir: StoreDir = None,
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on. Anything but 127.0.0.1 lets other machines see "
            "your runs: only with a reason."
        ),
    ] = LOOPBACK,
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8000,
    out: Annotated[
        str | None, typer.Option("--out", "-o", help="Output folder (default: as for build).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Config file (default: ./xsite.toml, else pyproject.toml's tool.xsite)."),
    ] = None,
    theme: Annotated[str | None, typer.Option(help="Theme folder.")] = None,
    notes: Annotated[str | None, typer.Option(help="Folder of Markdown notes.")] = None,
    poll: Annotated[
        bool,
        typer.Option(help="Look for changes by polling (network drives, containers, WSL)."),
    ] = False,
) -> None:
    """Build the site, serve it at http://localhost:8000/ and rebuild it as runs, notes,
    config or theme change; open pages reload by themselves. Ctrl-C stops it."""

    def load() -> SiteConfig:
        return load_config(config, store=dir, out=out, theme=theme, notes=notes)

    source = find_config(config)
    with _user_errors():
        if host != LOOPBACK:
            err_console.print(f"[yellow]Listening on {host}:[/] other machines can see this site.")
        serve(
            load,
            host=host,
            port=port,
            # Without a config file yet, watch for one to appear.
            watch=(source,) if source else (Path(CONFIG_FILE), Path("pyproject.toml")),
            poll=poll,
            events=_TerminalEvents(),
        )
    console.print("Stopped.")


class _TerminalEvents(Events):
    def serving(self, url: str, watched: list[Path]) -> None:
        console.print(f"Serving [bold]{url}[/] (Ctrl-C to stop)")
        console.print("Watching " + ", ".join(escape(str(path)) for path in watched), style="dim")

    def built(self, report: BuildReport) -> None:
        console.print(
            f"Built {report.runs} runs in {report.seconds:.1f} s: "
            f"{len(report.changed)} files changed"
        )
        for warning in report.warnings:
            err_console.print(f"[yellow]Warning[/] {escape(warning)}", highlight=False)

    def failed(self, message: str) -> None:
        err_console.print(
            f"[bold red]Build failed[/] (still serving the last good site): {escape(message)}",
            highlight=False,
        )


@app.command("check")
def check(
    query: Annotated[
        str, typer.Argument(help="A query (docs/query.md), e.g. 'metrics.val/acc >= 0.9'.")
    ],
    dir: StoreDir = None,
    project: Annotated[str | None, typer.Option(help="Only runs of this project.")] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Config file whose store to check (default: ./xsite.toml, if any)."),
    ] = None,
) -> None:
    """Exit 0 when some run matches the query, 1 when none does: a gate for CI.
    A query with a mistake, or no store, exits 2."""
    try:
        store = load_config(config, store=dir).store_location
        runs = load_runs(store, project=project, query=query)
    except XsiteError as error:  # a mistake in the query, or no store: nothing was checked
        err_console.print(f"[bold red]Error:[/] {escape(str(error))}")
        raise typer.Exit(2) from error
    if runs.empty:
        err_console.print(f"No run matches {escape(query)}", highlight=False)
        raise typer.Exit(1)
    names = ", ".join(runs["name"].iloc[::-1].head(5))
    more = f" and {len(runs) - 5} more" if len(runs) > 5 else ""
    console.print(f"{len(runs)} run(s) match: {escape(names)}{more}", highlight=False)


@app.command("report")
def report(
    dir: StoreDir = None,
    against: Annotated[
        str | None,
        typer.Option(
            help="The baseline: a git ref (its runs, against those of HEAD) or a run id, "
            "run name or query (its runs, against the others)."
        ),
    ] = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Markdown, for a pull request comment.")
    ] = True,
    site_url: Annotated[
        str | None, typer.Option(help="The published site, for links (default: base_url).")
    ] = None,
    top: Annotated[int, typer.Option(help="Best runs listed per project.")] = 5,
    config: Annotated[
        Path | None,
        typer.Option(help="Config file (default: ./xsite.toml, else pyproject.toml's tool.xsite)."),
    ] = None,
) -> None:
    """Print a Markdown summary of the runs: the best per project and, with --against, what
    changed against a baseline (as DVC/CML users post on pull requests)."""
    with _user_errors():
        settings = load_config(config, store=dir)
        print(markdown_report(settings, against=against, site_url=site_url, top=top))


@app.command("deploy")
def deploy_site(
    dir: StoreDir = None,
    remote: Annotated[str, typer.Option(help="The git remote to push to.")] = "origin",
    branch: Annotated[str, typer.Option(help="The branch GitHub Pages serves.")] = "gh-pages",
    message: Annotated[str | None, typer.Option(help="The commit message.")] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Config file (default: ./xsite.toml, else pyproject.toml's tool.xsite)."),
    ] = None,
    out: Annotated[
        str | None, typer.Option("--out", "-o", help="Output folder (default: as for build).")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Deploy nothing when the build has warnings.")
    ] = False,
) -> None:
    """Build the site and push it to the gh-pages branch of this git repository (as
    `mkdocs gh-deploy`). Your working tree and current branch are not touched."""
    with _user_errors():
        settings = load_config(config, store=dir, out=out)
        result = build(settings)
        for warning in result.warnings:
            err_console.print(f"[yellow]Warning[/] {escape(warning)}", highlight=False)
        if strict and (result.warnings or result.skipped or result.broken_links):
            err_console.print("[bold red]--strict:[/] not deployed (warnings above)")
            raise typer.Exit(1)
        commit = deploy(Path(settings.out), remote=remote, branch=branch, message=message)
    console.print(f"Pushed {result.runs} runs to {branch} on {remote} ({commit[:10]}).")


@app.command("compact")
def compact(dir: StoreDir = None) -> None:
    """Merge each run's small part files into one per kind and write the store index (fast
    load_runs on large stores). Safe while training writes."""
    with _user_errors():
        report = compact_store(dir)
    console.print(
        f"Compacted {report.runs} runs: {report.parts_before} part files → "
        f"{report.parts_after}; removed {report.tmp_files_removed} stale temporary files; "
        f"{report.runs_indexed} ended runs in the store index."
    )


@app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def run(
    command: Annotated[
        list[str],
        typer.Argument(help="The command to run, after `--`.", show_default=False),
    ],
    project: Annotated[str, typer.Option(help="The run's project.")] = "default",
    name: Annotated[
        str | None, typer.Option(help="The run's name (default: the script's name).")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag; repeat for more.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(help="A param as key=value (typed: 32 int, 0.1 float, true bool); repeat."),
    ] = None,
    params_from_args: Annotated[
        bool, typer.Option(help="Also take the command's own --flag value arguments as params.")
    ] = False,
    pattern: Annotated[
        list[str] | None,
        typer.Option(
            help="A regular expression for metrics in the output, with groups (?P<key>…) and "
            "(?P<value>…), or one group per metric, e.g. 'loss=(?P<loss>\\S+)'; (?P<step>…) "
            "gives the step. Replaces the built-in forms; repeat for more."
        ),
    ] = None,
    metrics: Annotated[
        bool, typer.Option(help="Read metrics from the output (--no-metrics: don't).")
    ] = True,
    dir: Annotated[
        str | None,
        typer.Option(
            help="The run store (folder or s3:// URI). Default: $XSITE_DIR, else ./xsite-runs."
        ),
    ] = None,
    capture: Annotated[
        bool, typer.Option(help="Record git state, environment and hardware.")
    ] = True,
) -> None:
    """Run a command and record it as a run, with no change to its code.

    Output goes to the terminal as it comes and into the run's output.log artifact.
    Metrics are read from lines like [bold]step 10: loss=0.31 acc=0.9[/], [bold]loss: 0.31[/]
    or one JSON object a line. xsite.init() inside the command joins this run. The run
    ends finished (exit 0), failed (other exit) or killed (Ctrl-C, SIGTERM: passed on to
    the command). Exits with the command's status.

    Example: [bold]xsite run --project mnist --params-from-args -- python train.py --lr 0.1[/]
    """
    try:
        params = dict(_key_value(text) for text in param or [])
        done = run_command(
            command,
            project=project,
            name=name,
            tags=tag or [],
            params=params,
            params_from_args=params_from_args,
            scrape=metrics,
            patterns=pattern or [],
            dir=dir,
            capture=capture,
        )
    except (XsiteError, PatternError, FileNotFoundError, ValueError) as error:
        err_console.print(f"[bold red]Error:[/] {escape(str(error))}", highlight=False)
        raise typer.Exit(2) from error
    run_ = done.run
    err_console.print(
        f"xsite: run {run_.id} ({escape(run_.project)}/{escape(run_.name)}) "
        f"{_status_markup(run_.status)}, exit status {done.exit_code}, in {escape(run_.dir)}",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(done.exit_code)


@app.command("import")
def import_(
    tool: Annotated[
        str,
        typer.Argument(
            help="What kept the runs: mlflow, tensorboard, trackio, csv or jsonl.",
            show_default=False,
        ),
    ],
    source: Annotated[
        str,
        typer.Argument(
            help="mlflow: an mlruns folder, an mlflow.db file or a tracking URI; tensorboard: "
            "a log directory; trackio: a <project>.db file or its folder; csv/jsonl: a file or a "
            "folder of them.",
            show_default=False,
        ),
    ],
    project: Annotated[
        str | None,
        typer.Option(help="Put every run in this project (default: as the source has it)."),
    ] = None,
    dir: Annotated[
        str | None,
        typer.Option(help="The run store. Default: $XSITE_DIR, else ./xsite-runs."),
    ] = None,
) -> None:
    """Bring runs kept by another tool into the store. Importing again is safe: unchanged
    runs are left alone, changed ones replaced. What cannot be read is listed, and the rest
    imported."""
    with _user_errors(), console.status(f"Importing from {escape(source)}…") as status:
        report = import_runs(
            tool, source, dir=dir, project=project,
            progress=lambda name: status.update(f"Imported {escape(name)}"),
        )  # fmt: skip
    for skipped in report.skipped:
        err_console.print(f"[yellow]Skipped[/] {escape(str(skipped))}", highlight=False)
    console.print(
        f"{len(report.imported)} runs imported, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped."
    )


@app.command("models")
def models(
    dir: StoreDir = None,
    project: Annotated[str | None, typer.Option(help="Only models of this project.")] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Only this model.")] = None,
    version: Annotated[
        int | None,
        typer.Option(help="With --download or --set-alias: this version (default: the latest)."),
    ] = None,
    alias: Annotated[
        str | None, typer.Option(help="With --download: the version this alias points at.")
    ] = None,
    download: Annotated[
        Path | None,
        typer.Option(help="Copy the files of model --name into this folder.", show_default=False),
    ] = None,
    set_alias: Annotated[
        str | None,
        typer.Option(help="Point this alias of model --name at --version (or the latest)."),
    ] = None,
    remove_alias: Annotated[
        str | None, typer.Option(help="Remove this alias of model --name.")
    ] = None,
    note: Annotated[
        str | None, typer.Option(help="With --set-alias or --remove-alias: why, for the history.")
    ] = None,
    metrics: Annotated[
        int, typer.Option(help="How many metric columns to show (when logged).")
    ] = 3,
    json: Annotated[
        bool, typer.Option("--json", help="Every column as JSON, one object a version.")
    ] = False,
) -> None:
    """List the model versions in a store (run.log_model), download one, or move an alias:
    [bold]xsite models --name digits-cnn --alias production --download deploy/[/],
    [bold]xsite models --name digits-cnn --version 3 --set-alias production --note "why"[/]."""
    with _user_errors():
        if name is None and (download or set_alias or remove_alias):
            raise ConfigError("--download, --set-alias and --remove-alias need the model's --name")
        if name is not None and (set_alias or remove_alias):
            if set_alias and version is None:
                version = get_model(name, project=project, dir=dir).version
            try:
                moved = set_model_alias(
                    name,
                    set_alias or remove_alias or "",
                    version if set_alias else None,
                    project=project,
                    note=note,
                    dir=dir,
                )
            except ValueError as exc:  # a name no alias can have
                raise ConfigError(str(exc)) from exc
            where = "removed" if moved.version is None else f"→ v{moved.version}"
            console.print(f"{escape(moved.name)}: {escape(moved.alias)} {where}")
            return
        if name is not None and download is not None:
            chosen = get_model(name, version, alias=alias, project=project, dir=dir)
            folder = chosen.download(download)
            files = f"{len(chosen.files)} file{'s' if len(chosen.files) != 1 else ''}"
            console.print(
                f"{escape(chosen.name)} v{chosen.version} ({files}, from run {chosen.run_id})"
                f" → {escape(str(folder))}"
            )
            return
        versions = load_models(dir, project=project, name=name)
    if json:
        _print_frame(versions, "json")
        return
    if versions.empty:
        console.print("No models yet. Log one with [bold]run.log_model(path, name)[/].")
        return
    metric_columns = [c for c in versions.columns if c.startswith("metrics.")][:metrics]
    table = Table(title=f"{len(versions)} model versions", header_style="bold")
    for column in ["project", "name", "version", "aliases", "run", "logged", "commit"]:
        table.add_column(column, justify="right" if column == "version" else "left")
    for column in metric_columns:
        table.add_column(column.removeprefix("metrics."), justify="right")
    for record in versions.to_dict("records"):
        table.add_row(
            escape(record["project"]),
            escape(record["name"]),
            str(record["version"]),
            escape(", ".join(record["aliases"])),
            escape(record["run_name"]),
            record["logged_at"].strftime("%Y-%m-%d %H:%M"),
            (record["git_commit"] or "–")[:10],
            *(_format_number(record[column]) for column in metric_columns),
        )
    console.print(table)


@app.command("query")
def query_store(
    sql: Annotated[
        str,
        typer.Argument(
            help="One SELECT over the views runs, metrics and models, e.g. 'SELECT name, "
            '"metrics.val/acc" FROM runs ORDER BY 2 DESC LIMIT 5\'.',
            show_default=False,
        ),
    ],
    dir: StoreDir = None,
    json: Annotated[bool, typer.Option("--json", help="Rows as a JSON array of objects.")] = False,
    csv: Annotated[bool, typer.Option("--csv", help="Rows as CSV with a header.")] = False,
) -> None:
    """Run a read-only SQL query (DuckDB) over the store. [bold]runs[/]: one row per run, as
    load_runs() gives it (columns "params.<key>", "metrics.<key>"). [bold]metrics[/]: every
    point (run_id, key, step, value, time), read from the Parquet parts in place.
    [bold]models[/]: one row per model version, as load_models() gives it. Statements that
    would change anything are refused."""
    with _user_errors():
        result = run_sql(sql, dir)
    _print_frame(result, "json" if json else "csv" if csv else "table")


def _print_frame(frame: pd.DataFrame, form: str) -> None:
    if form == "json":
        sys.stdout.write(frame.to_json(orient="records", date_format="iso", date_unit="us") + "\n")
    elif form == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    else:
        table = Table(title=f"{len(frame)} rows", header_style="bold")
        for column in frame.columns:
            table.add_column(str(column))
        for row in frame.itertuples(index=False):
            table.add_row(*(escape(_format_number(value)) for value in row))
        console.print(table)


def _key_value(text: str) -> tuple[str, object]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise ValueError(f"--param {text!r}: write it as key=value, e.g. --param lr=0.1")
    return key, parse_value(value)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn an :class:`XsiteError` into its message and exit code 1, without a traceback."""
    try:
        yield
    except XsiteError as exc:
        err_console.print(f"[bold red]Error:[/] {exc}")
        raise typer.Exit(1) from exc


def _status_markup(status: str) -> str:
    colour = {"finished": "green", "running": "cyan", "failed": "red", "crashed": "red"}
    return f"[{colour.get(status, 'yellow')}]{status}[/]"


def _format_duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _format_number(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "tolist"):  # a NumPy array (a list column) or scalar
        value = value.tolist()
    if isinstance(value, list):
        return ", ".join(map(_format_number, value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


if __name__ == "__main__":
    app()

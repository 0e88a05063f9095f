"""One demo run: server, providers, instrumentation, workload, report, in that order.

Everything started here is stopped here, in reverse order, whatever happens:
the instrumentation is removed, the chaos server stopped, the exporters
flushed (with a bounded wait, so an unreachable collector cannot hang the
demo). The numbers printed are those of `report.build_report` over the
exported telemetry; Ctrl-C during the workload ends it early and still prints
the report of what was done.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import openai

from otel_aierrors import AIErrorsInstrumentor
from otel_aierrors import _names as n
from otel_aierrors.chaos import ChaosServer
from otel_aierrors.cli._main import MAX_DURATION
from otel_aierrors.cli.demo.pipeline import Pipeline, otlp_endpoint_configured
from otel_aierrors.cli.demo.report import DemoReport, build_report, render_report
from otel_aierrors.cli.demo.workload import ProgressHook, Scenario, run_workload
from otel_aierrors.version import __version__

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["DEFAULT_OUTPUT_DIR", "DemoOptions", "run_demo"]

DEFAULT_OUTPUT_DIR: Final = Path("aierrors-demo")
REPORT_FILE: Final = "report.json"
#: The HTML report (`otel_aierrors.cli.report`), written beside the OTLP JSON files it is drawn from.
HTML_REPORT_FILE: Final = "report.html"
#: Extra seconds the embedded server may outlive the planned run before stopping itself.
_SERVER_GRACE: Final = 120.0
#: Seconds an OTLP export may take, retries included; a collector that did not
#: answer the pre-flight probe gets one second, so the end of the run is not held up.
_OTLP_TIMEOUT: Final = 5.0
_DEAD_COLLECTOR_TIMEOUT: Final = 1.0


@dataclass(frozen=True)
class DemoOptions:
    """The command line of ``otel-aierrors demo``."""

    duration: float = 20.0
    #: Run exactly this many scenarios, whatever the time they take (tests, reproducible reports).
    scenarios: int | None = None
    seed: int = 0
    #: Where the OTLP JSON files and ``report.json`` go; None means the default
    #: (``./aierrors-demo``) when no collector is configured, and no files when one is.
    output_dir: Path | None = None
    prometheus_port: int | None = None
    #: Seconds to keep serving ``/metrics`` after the report, for a Prometheus to scrape.
    linger: float = 0.0
    progress: bool = True
    quiet: bool = False
    #: Print the report as JSON instead of tables.
    json: bool = False
    #: Also tell the LiteLLM stories (`otel_aierrors.cli.demo.litellm_workload`); needs litellm.
    litellm: bool = False


def run_demo(options: DemoOptions, out: Console, err: Console) -> int:
    """Run the demo and print its report on ``out`` (progress and notes on ``err``).

    Returns:
        0, or 1 when the spans and the metrics disagree (a bug worth reporting).

    Raises:
        ImportError: With ``options.litellm``, if litellm is not installed (checked before anything starts).
    """
    extra = _litellm_scenarios(err, quiet=options.quiet) if options.litellm else ()
    use_otlp = otlp_endpoint_configured()
    collector_down = use_otlp and not _collector_answers(err)
    output_dir = options.output_dir
    if output_dir is None and (not use_otlp or collector_down):
        output_dir = DEFAULT_OUTPUT_DIR
    pipeline = Pipeline.create(
        output_dir=output_dir,
        use_otlp=use_otlp,
        prometheus_port=options.prometheus_port,
        otlp_timeout=_DEAD_COLLECTOR_TIMEOUT if collector_down else _OTLP_TIMEOUT,
    )
    try:
        if not options.quiet:
            for destination in pipeline.destinations:
                err.print(f"[dim]telemetry → {destination}[/dim]", soft_wrap=True)
        started = time.monotonic()
        interrupted = False
        with _instrumented(pipeline):
            lifetime = (MAX_DURATION if options.scenarios is not None else options.duration) + _SERVER_GRACE
            with ChaosServer(seed=options.seed, max_seconds=lifetime) as server:
                try:
                    with _progress(pipeline, options, err) as hook:
                        run_workload(
                            server.base_url,
                            pipeline.tracer_provider.get_tracer("otel_aierrors.demo", __version__),
                            duration=options.duration,
                            scenarios=options.scenarios,
                            seed=options.seed,
                            on_scenario=hook,
                            extra=extra,
                        )
                except KeyboardInterrupt:
                    interrupted = True
            telemetry = pipeline.finish()
        elapsed = time.monotonic() - started
        report = build_report(
            telemetry,
            run={
                "seed": options.seed,
                "duration": options.duration,
                "elapsed": round(elapsed, 3),
                "interrupted": interrupted,
                "openai": openai.__version__,
                **({"litellm": _version("litellm")} if options.litellm else {}),
                "otel_aierrors": __version__,
                "destinations": pipeline.destinations,
                "files": [str(path) for path in pipeline.files] if pipeline.files else [],
                "otlp_exports": {
                    "succeeded": sum(tally.succeeded for tally in pipeline.otlp),
                    "failed": sum(tally.failed for tally in pipeline.otlp),
                },
            },
        )
        html: Path | None = None
        if output_dir is not None:
            output_dir.mkdir(parents=True, exist_ok=True)
            (output_dir / REPORT_FILE).write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
            html = _write_html(pipeline, output_dir, err)
        if options.json:
            out.file.write(json.dumps(report.to_json(), indent=2) + "\n")
        else:
            _print_report(report, pipeline, output_dir, out, html)
        _linger(pipeline, options, err)
    finally:
        pipeline.shutdown()
    disagreements = [agreement for agreement in report.agreements if not agreement.agrees]
    for agreement in disagreements:
        err.print(f"[red]spans and metrics disagree on {agreement.what}: {agreement.spans:g} vs {agreement.metrics:g}")
    return 1 if disagreements else 0


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"


def _litellm_scenarios(err: Console, *, quiet: bool) -> tuple[Scenario, ...]:
    """Import litellm (before instrumenting, so its hooks are in place when the workload starts)."""
    from otel_aierrors.cli.demo.litellm_workload import LITELLM_SCENARIOS, import_litellm

    if not quiet:
        err.print("[dim]importing litellm (takes a few seconds)[/dim]")
    import_litellm()
    return LITELLM_SCENARIOS


def _collector_answers(err: Console) -> bool:
    """Probe the OTLP endpoint once (as ``doctor`` does); warn when nothing answers."""
    from otel_aierrors.cli.doctor import Status, otlp_endpoint, probe_endpoint

    url, protocol = otlp_endpoint("traces")
    check = probe_endpoint(url, protocol, timeout=1.0)
    if check.status is not Status.ERROR:
        return True
    err.print(f"[yellow]warning:[/yellow] {check.summary}", soft_wrap=True)
    err.print("The demo also writes its telemetry to files, and `otel-aierrors doctor` tells more.", soft_wrap=True)
    return False


@contextmanager
def _instrumented(pipeline: Pipeline) -> Iterator[None]:
    """Instrument with the demo's providers, replacing (then leaving off) any earlier instrumentation."""
    instrumentor = AIErrorsInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    instrumentor.instrument(tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider)
    try:
        yield
    finally:
        instrumentor.uninstrument()


@contextmanager
def _progress(pipeline: Pipeline, options: DemoOptions, err: Console) -> Iterator[ProgressHook | None]:
    """A progress bar over the run's duration, with live counts read from the finished spans."""
    if options.quiet or not options.progress:
        yield None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[counts]}"),
        console=err,
        transient=True,
    )
    task = progress.add_task("starting", total=options.duration, counts="")
    started = time.monotonic()
    stop = threading.Event()
    current = ["starting"]

    def hook(index: int, name: str) -> None:
        current[0] = f"#{index + 1} {name}"

    def tick() -> None:
        while not stop.wait(0.2):
            calls = errors = 0
            for span in pipeline.finished_spans():
                attributes = span.attributes or {}
                if n.ATTEMPT_COUNT in attributes:
                    calls += 1
                    errors += attributes.get(n.OUTCOME) == n.OUTCOME_ERROR
            progress.update(
                task,
                description=current[0],
                completed=min(time.monotonic() - started, options.duration),
                counts=f"{calls} calls, {errors} failed",
            )

    ticker = threading.Thread(target=tick, name="demo-progress", daemon=True)
    with progress:
        ticker.start()
        try:
            yield hook
        finally:
            stop.set()
            ticker.join()


def _write_html(pipeline: Pipeline, output_dir: Path, err: Console) -> Path | None:
    """Draw the HTML report from the OTLP JSON files just written; None (and a note) when it cannot be."""
    if pipeline.files is None or not all(path.exists() for path in pipeline.files):
        return None
    from otel_aierrors.cli.report import write_report

    path = output_dir / HTML_REPORT_FILE
    try:
        write_report(list(pipeline.files), path)
    except (OSError, ValueError) as error:
        err.print(f"[yellow]warning:[/yellow] the HTML report was not written: {error}", soft_wrap=True)
        return None
    return path


def _print_report(
    report: DemoReport, pipeline: Pipeline, output_dir: Path | None, out: Console, html: Path | None = None
) -> None:
    run = report.run
    out.print(
        f"\n[bold]otel-aierrors demo[/bold]: {len(report.scenarios)} scenarios, "
        f"{report.retries.calls} calls in {run['elapsed']:.1f} s (seed {run['seed']}, openai {run['openai']})"
        + (" [yellow]interrupted[/yellow]" if run["interrupted"] else "")
        + "\n[dim]Every number below is counted from the exported spans and metric points.[/dim]\n"
    )
    render_report(report, out)
    if pipeline.files is not None and output_dir is not None:
        from rich.markup import escape

        traces, metrics = pipeline.files
        slowest = report.slowest[0].trace_id if report.slowest else "TRACE_ID"
        query = f'.resourceSpans[].scopeSpans[].spans[] | select(.traceId == "{slowest}") | [.name, .status]'
        # soft_wrap: paths and commands are copied and pasted, so they are never broken across lines.
        out.print(
            f"Telemetry: {traces}, {metrics} (OTLP JSON, one export request per line), {output_dir / REPORT_FILE}",
            soft_wrap=True,
        )
        out.print(f"The slowest trace's spans: [bold]{escape(f'jq -c {query!r} {traces}')}[/bold]", soft_wrap=True)
    if pipeline.otlp:
        out.print(_otlp_outcome(pipeline), soft_wrap=True)
    if pipeline.prometheus_url:
        out.print(f"Prometheus metrics: {pipeline.prometheus_url}")
    if html is not None:
        # Last, so that it is what the user sees when the demo ends.
        out.print(f"HTML report (open it in a browser, works offline): [bold]{html}[/bold]", soft_wrap=True)


def _otlp_outcome(pipeline: Pipeline) -> str:
    """What became of the OTLP exports, as the exporters reported it (claimed sent only if all succeeded)."""
    succeeded = sum(tally.succeeded for tally in pipeline.otlp)
    failed = sum(tally.failed for tally in pipeline.otlp)
    destination = pipeline.otlp_destination
    if succeeded and not failed:
        return f"Traces and metrics were sent over {destination}: search the trace ids above in your tracing backend."
    where = "the files above" if pipeline.files else "no file (add --output-dir DIR to keep a copy)"
    if not succeeded and not failed:
        return f"[yellow]Nothing was exported over {destination}[/yellow]; the telemetry is in {where}."
    got = "nothing" if not succeeded else "only part of the telemetry"
    return (
        f"[red]{failed} of {succeeded + failed} exports over {destination} failed[/red]: the collector got {got}; "
        f"it is in {where}. `otel-aierrors doctor` says why."
    )


def _linger(pipeline: Pipeline, options: DemoOptions, err: Console) -> None:
    if not pipeline.prometheus_url or options.linger <= 0:
        return
    if not options.quiet:
        err.print(f"serving {pipeline.prometheus_url} for {options.linger:g} s more (Ctrl-C to stop)")
    with suppress(KeyboardInterrupt):
        time.sleep(options.linger)

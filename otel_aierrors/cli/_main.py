"""The ``otel-aierrors`` command: ``demo``, ``report``, ``chaos`` and ``doctor``.

Only argument parsing lives here. Each command's work is in its own module,
imported when the command runs, so ``otel-aierrors --version`` and
``otel-aierrors chaos`` work on a bare install, and a missing ``cli`` extra
is reported as an install hint instead of a traceback (httpx's optional CLI).
``python -m otel_aierrors`` runs the same `main`.

Exit codes: 0 success, 1 a problem was found (doctor) or the command failed,
2 bad usage, 3 a dependency of the command is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Final, TypeVar

from otel_aierrors.version import __version__

if TYPE_CHECKING:
    from otel_aierrors.chaos import ChaosServer, Profile

__all__ = ["build_parser", "main"]

INSTALL_HINT: Final = "install the command-line extra: pip install 'otel-aierrors[cli]'"
#: How to get what ``demo --litellm`` needs.
LITELLM_INSTALL: Final = "pip install 'otel-aierrors[litellm]'"
EXIT_PROBLEM: Final = 1
EXIT_USAGE: Final = 2
EXIT_MISSING_DEPENDENCY: Final = 3
#: ``otel-aierrors chaos`` listens here unless told otherwise (``serve``'s default).
CHAOS_PORT: Final = 8700
#: Upper bound of ``demo --duration``: the demo is a demonstration, not a load test.
MAX_DURATION: Final = 600.0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otel-aierrors",
        description="See the failures of AI API calls: a demo, an HTML report, a fault server and a diagnosis.",
    )
    parser.add_argument("--version", action="version", version=f"otel-aierrors {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run a realistic failing workload against an embedded fault server and report what the telemetry shows",
        description="Start the fault server on 127.0.0.1, instrument the openai SDK, run a workload of normal "
        "calls, rate limits, quota errors, an outage with fallback, broken and filtered streams for --duration "
        "seconds, then print a report counted from the exported spans and metrics. Without "
        "OTEL_EXPORTER_OTLP_ENDPOINT the telemetry is written as OTLP JSON to --output-dir; with it, it goes "
        "to that collector.",
    )
    demo.add_argument(
        "--duration",
        type=_bounded_float(0.5, MAX_DURATION),
        default=20.0,
        help="seconds of workload (default: 20, at most 600)",
    )
    demo.add_argument(
        "--scenarios",
        type=_bounded_int(1, 10_000),
        default=None,
        help="run exactly this many scenarios instead of running for --duration (reproducible on any machine)",
    )
    demo.add_argument("--seed", type=int, default=0, help="seed of the scenario order and delays (default: 0)")
    demo.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="write traces.jsonl, metrics.jsonl (OTLP JSON) and report.json here "
        "(default: ./aierrors-demo when no OTLP endpoint is set)",
    )
    demo.add_argument(
        "--prometheus-port",
        type=_port,
        default=None,
        help="also serve the metrics for Prometheus on http://127.0.0.1:PORT/metrics",
    )
    demo.add_argument(
        "--linger",
        type=_bounded_float(0.0, 3600.0),
        default=0.0,
        help="with --prometheus-port: keep serving /metrics this many seconds after the report",
    )
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.add_argument("--quiet", "-q", action="store_true", help="print only the report")
    demo.add_argument("--json", action="store_true", help="print the report as JSON")
    demo.add_argument(
        "--litellm",
        action="store_true",
        help="also run LiteLLM scenarios: a Router falling back from a 429/503 deployment to another, and an "
        f"anthropic/ model through LiteLLM's own handler (needs litellm: {LITELLM_INSTALL}; its import takes seconds)",
    )
    demo.set_defaults(handler=_run_demo)

    report = commands.add_parser(
        "report",
        help="draw OTLP JSON files (the demo's, the collector file exporter's) as one self-contained HTML page",
        description="Read OTLP JSON lines (traces and metrics, as `otel-aierrors demo` writes them to "
        "aierrors-demo/ and as the collector's file exporter writes them: collector-config/file-export.yaml) "
        "and write one HTML file that opens offline: calls and attempts over time by error class, waterfalls "
        "of the slowest and failing traces, retry cost by class, soft failures, fallback flows and the alert "
        "thresholds the data crossed, with their runbook links.",
    )
    report.add_argument(
        "files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="OTLP JSON lines files, or directories whose *.jsonl / *.json files are read",
    )
    report.add_argument(
        "--output",
        "-o",
        type=Path,
        default=None,
        help="the HTML file to write (default: report.html beside the first FILE)",
    )
    report.add_argument(
        "--runbooks-url",
        default=None,
        metavar="URL",
        help="base of the runbook links, the URL of docs/runbooks.md where your team reads it",
    )
    report.set_defaults(handler=_run_report)

    chaos = commands.add_parser(
        "chaos",
        help="run the OpenAI- and Anthropic-compatible fault server for your own application",
        description="Serve an OpenAI-compatible API (and Anthropic's /v1/messages) that fails on purpose. Point "
        "your application's base_url at the printed URL. A request header x-chaos-script scripts the answers of "
        "one call, one step per attempt; GET/POST /_chaos reads or changes the profile while it runs.",
        epilog="scripted answers (request header x-chaos-script; --list-faults lists every fault):\n"
        "  rate_limit;retry_after_ms=200,ok     a 429, then a 200 on the SDK's retry\n"
        "  ok;finish_reason=length              a length-truncated answer (stop_reason max_tokens on /v1/messages)\n"
        "  ok;refusal=I+cannot+help+with+that   a refusal (null content; stop_reason refusal on /v1/messages)\n"
        "  silent_cut;after=3                   a stream that ends after 3 events with no terminal marker\n"
        "  overloaded                           503 (529 overloaded_error on /v1/messages)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    chaos.add_argument("--profile", default=None, help="named fault mix (default: flaky); see --list-profiles")
    chaos.add_argument(
        "--rate",
        action="append",
        default=[],
        metavar="FAULT=P",
        help="probability of a fault per request, e.g. --rate rate_limit=0.2 --rate "
        "'server_error;retry_after=1=0.05'; repeatable; replaces or extends --profile's mix",
    )
    chaos.add_argument(
        "--latency",
        type=_latency,
        default=None,
        metavar="SECONDS|LOW-HIGH",
        help="added latency per request, fixed or uniform in a range (e.g. 0.2 or 0.1-0.5)",
    )
    chaos.add_argument("--seed", type=int, default=0, help="seed of the fault draws (default: 0)")
    chaos.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    chaos.add_argument("--port", type=_port, default=CHAOS_PORT, help=f"port (default: {CHAOS_PORT}; 0 picks one)")
    chaos.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (the server echoes API keys and answers anyone)",
    )
    chaos.add_argument(
        "--max-seconds", type=_bounded_float(0.1, 7 * 86400.0), default=None, help="stop by itself after this long"
    )
    chaos.add_argument("--quiet", "-q", action="store_true", help="no log line per request")
    chaos.add_argument("--list-profiles", action="store_true", help="print the named profiles and exit")
    chaos.add_argument(
        "--list-faults", action="store_true", help="print every fault with its status and parameters and exit"
    )
    chaos.set_defaults(handler=_run_chaos)

    doctor = commands.add_parser(
        "doctor",
        help="explain why no telemetry shows up",
        description="Check the instrumented SDKs and their versions, the patches, the entry point, the "
        "OpenTelemetry SDK and exporters, the OTEL_* variables and whether the OTLP endpoint answers. "
        "Exits with 1 when something is wrong.",
    )
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")
    doctor.add_argument(
        "--timeout",
        type=_bounded_float(0.05, 10.0),
        default=1.0,
        help="seconds allowed to each network probe (default: 1)",
    )
    doctor.set_defaults(handler=_run_doctor)
    return parser


# --- argument types --------------------------------------------------------------------
_Number = TypeVar("_Number", int, float)


def _bounded(kind: Callable[[str], _Number], low: _Number, high: _Number) -> Callable[[str], _Number]:
    """An argparse type: ``kind`` (int or float) between ``low`` and ``high``."""

    def parse(text: str) -> _Number:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {'whole ' if kind is int else ''}number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}, got {value:g}")
        return value

    return parse


def _bounded_float(low: float, high: float) -> Callable[[str], float]:
    return _bounded(float, low, high)


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    return _bounded(int, low, high)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"ports are 0-65535, got {value}")
    return value


def _latency(text: str) -> tuple[float, float]:
    low_text, _, high_text = text.replace(",", "-").partition("-")
    try:
        low = float(low_text)
        high = float(high_text) if high_text else low
    except ValueError:
        raise argparse.ArgumentTypeError(f"latency is SECONDS or LOW-HIGH, got {text!r}") from None
    if not 0 <= low <= high <= 60:
        raise argparse.ArgumentTypeError(f"latency must satisfy 0 <= LOW <= HIGH <= 60, got {text!r}")
    return low, high


def _rate(text: str) -> tuple[str, float]:
    """``FAULT[;params]=P``: the probability is after the last ``=`` (params hold ``=`` too)."""
    spec, sep, raw = text.rpartition("=")
    if not sep or not spec.strip():
        raise ValueError(f"--rate takes FAULT=PROBABILITY, got {text!r}")
    try:
        rate = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"--rate {text!r}: {raw!r} is not a probability") from None
    if not 0 <= rate <= 1:
        raise ValueError(f"--rate {text!r}: the probability must be between 0 and 1")
    return spec.strip(), rate


# --- commands ------------------------------------------------------------------------------
def _missing(*modules: str) -> str | None:
    """The modules among ``modules`` that cannot be imported, comma-separated; None if all can."""
    from otel_aierrors.cli.doctor import module_found

    absent = [module for module in modules if not module_found(module)]
    return ", ".join(absent) if absent else None


def _hint(command: str, missing: str) -> int:
    verb = "are" if "," in missing else "is"
    print(f"otel-aierrors {command}: {missing} {verb} not installed; {INSTALL_HINT}", file=sys.stderr)
    return EXIT_MISSING_DEPENDENCY


def _run_demo(args: argparse.Namespace) -> int:
    if args.linger and args.prometheus_port is None:
        print(
            "otel-aierrors demo: --linger keeps the Prometheus endpoint up after the report; "
            "it needs --prometheus-port",
            file=sys.stderr,
        )
        return EXIT_USAGE
    needed = ["rich", "openai", "opentelemetry.sdk"]
    if args.prometheus_port is not None:
        needed += ["opentelemetry.exporter.prometheus", "prometheus_client"]
    missing = _missing(*needed)
    if missing is not None:
        return _hint("demo", missing)
    if args.litellm and _missing("litellm") is not None:
        print(
            f"otel-aierrors demo: --litellm needs litellm, which is not installed; install it: {LITELLM_INSTALL}",
            file=sys.stderr,
        )
        return EXIT_MISSING_DEPENDENCY
    from rich.console import Console

    from otel_aierrors.cli.demo import DemoOptions, run_demo

    options = DemoOptions(
        duration=args.duration,
        scenarios=args.scenarios,
        seed=args.seed,
        output_dir=args.output_dir,
        prometheus_port=args.prometheus_port,
        linger=args.linger,
        progress=not args.no_progress,
        quiet=args.quiet,
        json=args.json,
        litellm=args.litellm,
    )
    try:
        return run_demo(options, Console(), Console(stderr=True))
    except OSError as error:
        print(f"otel-aierrors demo: {error}", file=sys.stderr)
        return EXIT_PROBLEM


def _run_report(args: argparse.Namespace) -> int:
    from otel_aierrors.cli.report import RUNBOOKS_URL, write_report

    inputs: list[Path] = []
    for path in args.files:
        if path.is_dir():
            found = sorted([*path.glob("*.jsonl"), *path.glob("*.json")])
            inputs += [file for file in found if file.name != "report.json"]
        else:
            inputs.append(path)
    if not inputs:
        print("otel-aierrors report: no *.jsonl or *.json file in " + ", ".join(map(str, args.files)), file=sys.stderr)
        return EXIT_USAGE
    first = args.files[0]
    output = args.output or (first if first.is_dir() else first.parent) / "report.html"
    try:
        report = write_report(inputs, output, args.runbooks_url or RUNBOOKS_URL)
    except (OSError, ValueError) as error:
        print(f"otel-aierrors report: {error}", file=sys.stderr)
        return EXIT_PROBLEM
    print(f"{report.totals.calls} calls, {report.spans} spans from {len(inputs)} files: {output}")
    return 0


def _run_doctor(args: argparse.Namespace) -> int:
    import json

    from otel_aierrors.cli.doctor import diagnose, exit_code, render, render_plain

    checks = diagnose(timeout=args.timeout)
    if args.json:
        print(json.dumps({"ok": exit_code(checks) == 0, "checks": [check.to_json() for check in checks]}, indent=2))
    elif _missing("rich") is None:
        from rich.console import Console

        render(checks, Console())
    else:
        render_plain(checks, print)
        print(f"(plain output: rich is not installed; {INSTALL_HINT})", file=sys.stderr)
    return exit_code(checks)


def _run_chaos(args: argparse.Namespace) -> int:
    from otel_aierrors.chaos import PROFILES, serve
    from otel_aierrors.chaos.faults import describe
    from otel_aierrors.chaos.server import is_loopback

    if args.list_faults:
        print("\n".join(describe()))
        return 0
    if args.list_profiles:
        for name, named in PROFILES.items():
            rates = ", ".join(f"{spec} {rate:.0%}" for spec, rate in named.rates().items())
            latency = f"; latency {named.latency[0]:g}-{named.latency[1]:g} s" if named.latency else ""
            print(f"{name:14} {rates}{latency}")
        return 0
    if not is_loopback(args.host) and not args.allow_remote:
        print(
            f"otel-aierrors chaos: refusing to listen on {args.host}: the fault server answers anyone with fake "
            "completions and echoes their API keys; add --allow-remote to do it anyway",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        profile = _chaos_profile(args)
    except ValueError as error:
        print(f"otel-aierrors chaos: {error}", file=sys.stderr)
        return EXIT_USAGE
    log: Callable[[str], None] | None = None if args.quiet else _print_line
    try:
        with _sigterm_as_interrupt():
            serve(
                host=args.host,
                port=args.port,
                profile=profile,
                seed=args.seed,
                allow_remote=args.allow_remote,
                log=log,
                max_seconds=args.max_seconds,
                on_ready=_print_usage,
            )
    except OSError as error:
        print(f"otel-aierrors chaos: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        if args.port:
            print("  (pick another --port, or --port 0 for any free one)", file=sys.stderr)
        return EXIT_PROBLEM
    except ValueError as error:
        print(f"otel-aierrors chaos: {error}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def _chaos_profile(args: argparse.Namespace) -> str | Profile:
    """The named profile, or a custom one when ``--rate`` / ``--latency`` adjust it."""
    from otel_aierrors.chaos import Profile, get_profile

    base = get_profile(args.profile or ("healthy" if args.rate else "flaky"))
    if not args.rate and args.latency is None:
        return base
    rates = {step.spec: rate for rate, step in base.entries}
    rates.update(_rate(text) for text in args.rate)
    name = base.name if not args.rate else f"{base.name}+rates" if args.profile else "custom"
    return Profile.from_rates(
        rates,
        latency=args.latency if args.latency is not None else base.latency,
        default=base.default.spec,
        name=name,
    )


def _print_line(line: str) -> None:
    print(line, flush=True)


def _print_usage(server: ChaosServer) -> None:
    url = server.base_url
    profile = server.profile.describe()
    print(
        f"\nbase URL: {url}\n"
        f"profile:  {profile['name']} {profile['rates']}"
        + (f", latency {profile['latency']}" if profile["latency"] else "")
        + "\n\nPoint the openai SDK at it:\n"
        f"  export OPENAI_BASE_URL={url} OPENAI_API_KEY=sk-chaos\n"
        f'  or: openai.OpenAI(base_url="{url}", api_key="sk-chaos")\n'
        "Script one call's answers with a request header:\n"
        '  extra_headers={"x-chaos-script": "rate_limit;retry_after_ms=200,ok"}\n'
        "Change the profile while it runs:\n"
        f'  curl -s {server.url}/_chaos -d \'{{"profile": "outage"}}\'\n'
        "Ctrl-C to stop.\n",
        flush=True,
    )


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Let ``kill PID`` stop the server as Ctrl-C does (connections closed, threads joined)."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

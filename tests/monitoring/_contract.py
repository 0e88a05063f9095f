"""The metric and label names of ``docs/telemetry.md``, in their Prometheus form.

The document's translation rule (its introduction): ``.`` becomes ``_``, a
unit of ``s`` appends ``_seconds``, a counter appends ``_total``, a
curly-brace unit (``{call}``) appends nothing, and histograms are scraped as
``_bucket``/``_sum``/``_count``. :func:`load` applies that rule to the metrics
tables and checks it against the tables' own "Prometheus name" column.

Two tables: *Metrics* (what is exported by default) and *Metrics under the
latest GenAI conventions* (the ``gen_ai.*`` metrics that replace the default
ones under ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "telemetry.md"

_TICKED = re.compile(r"`([^`]+)`")
_ATTRIBUTE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")

#: Labels Prometheus adds (``job``, ``instance`` from the scrape; ``le`` of histogram buckets).
PROMETHEUS_LABELS = frozenset({"job", "instance", "le"})
#: Labels the OpenTelemetry Prometheus exporters add to every series (not in the document).
EXPORTER_LABELS = frozenset({"otel_scope_name", "otel_scope_version", "otel_scope_schema_url"})


def prometheus_label(attribute: str) -> str:
    """``aierrors.error.class`` -> ``aierrors_error_class``."""
    return attribute.replace(".", "_")


@dataclass
class Metric:
    name: str
    instrument: str
    unit: str
    #: Attribute names, call attributes included.
    attributes: set[str]
    #: The document's "Prometheus name" column.
    documented_prometheus_name: str

    @property
    def prometheus_name(self) -> str:
        """The name the document's translation rule gives."""
        name = prometheus_label(self.name)
        if self.unit == "s":
            name += "_seconds"
        if self.instrument in ("counter", "observable counter"):
            name += "_total"
        return name

    @property
    def series_names(self) -> set[str]:
        """The names of the series scraped for this metric."""
        if self.instrument == "histogram":
            return {f"{self.prometheus_name}{suffix}" for suffix in ("_bucket", "_sum", "_count")}
        return {self.prometheus_name}

    @property
    def labels(self) -> set[str]:
        """Label names of its series, the ones Prometheus and the exporters add included."""
        labels = {prometheus_label(a) for a in self.attributes} | PROMETHEUS_LABELS | EXPORTER_LABELS
        if self.instrument != "histogram":
            labels.discard("le")
        return labels


#: The values of ``OTEL_SEMCONV_STABILITY_OPT_IN`` the contract describes ("" is the default).
SWITCHES = ("", "gen_ai_latest_experimental")
LATEST_HEADING = "## Metrics under the latest GenAI conventions"


@dataclass
class Contract:
    #: Exported by default.
    metrics: dict[str, Metric] = field(default_factory=dict)
    #: The ``gen_ai.*`` metrics exported instead of the default ones under ``gen_ai_latest_experimental``.
    latest: dict[str, Metric] = field(default_factory=dict)
    #: Every span attribute (the "Span attributes" table).
    span_attributes: set[str] = field(default_factory=set)

    def exported(self, switch: str) -> dict[str, Metric]:
        """The metrics an application exports with ``OTEL_SEMCONV_STABILITY_OPT_IN=switch``."""
        if switch == "":
            return dict(self.metrics)
        if switch != "gen_ai_latest_experimental":
            raise ValueError(f"not a switch of the contract: {switch!r}")
        kept = {name: metric for name, metric in self.metrics.items() if not name.startswith("gen_ai.")}
        return kept | self.latest

    def series(self, switch: str | None = None) -> dict[str, Metric]:
        """Scraped series name -> its metric, under ``switch`` (``None``: under either)."""
        metrics = (self.metrics | self.latest) if switch is None else self.exported(switch)
        return {series: metric for metric in metrics.values() for series in metric.series_names}

    def all_labels(self) -> set[str]:
        return set().union(*(metric.labels for metric in (self.metrics | self.latest).values()))


def _table_rows(text: str, heading: str) -> list[list[str]]:
    """The body rows of the first table after ``heading``, as lists of cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == heading)
    rows: list[list[str]] = []
    in_table = False
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            in_table = True
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(set(cell) <= {"-", ":", " "} for cell in cells):
                rows.append(cells)
        elif in_table or line.startswith("#"):
            break
    return rows[1:]  # without the header row


def load(doc: Path = DOC) -> Contract:
    """Parse the contract; raise AssertionError where the document contradicts itself."""
    text = doc.read_text(encoding="utf-8")
    contract = Contract()
    for row in _table_rows(text, "## Span attributes"):
        contract.span_attributes.update(_TICKED.findall(row[0]))

    sentence = re.search(r"Every metric carries the \*call attributes\*:(.*?)\(", text, re.S)
    assert sentence, "docs/telemetry.md: the sentence listing the call attributes is gone"
    call_attributes = {name for name in _TICKED.findall(sentence.group(1)) if _ATTRIBUTE.match(name)}
    assert call_attributes, "no call attributes found"

    contract.metrics = _metrics(_table_rows(text, "## Metrics"), call_attributes, {})
    contract.latest = _metrics(_table_rows(text, LATEST_HEADING), call_attributes, contract.metrics)
    assert contract.metrics, "no metric found in the Metrics table"
    assert contract.latest, f"no metric found under {LATEST_HEADING!r}"
    return contract


def _metrics(rows: list[list[str]], call_attributes: set[str], known: dict[str, Metric]) -> dict[str, Metric]:
    """The metrics of one table; ``as `name``` refers to this table or ``known``."""
    metrics: dict[str, Metric] = {}
    for row in rows:
        if len(row) != 5:
            continue
        (name,) = _TICKED.findall(row[0])
        instrument = row[1].strip()
        (unit,) = _TICKED.findall(row[2])
        described = row[3]
        # "as `aierrors.attempts`": the same attributes as another metric.
        same_as = re.match(r"as `([^`]+)`", described)
        if same_as:
            attributes = set((known | metrics)[same_as.group(1)].attributes)
        else:
            attributes = {n for n in _TICKED.findall(described) if _ATTRIBUTE.match(n)}
            if "no call attributes" not in described:
                attributes |= call_attributes
        (prometheus_name,) = _TICKED.findall(row[4])
        metrics[name] = Metric(name, instrument, unit, attributes, prometheus_name)
    return metrics

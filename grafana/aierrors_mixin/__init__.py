"""Sources of the monitoring assets: Prometheus rule files and Grafana dashboards.

Everything under ``grafana/rules/`` and ``grafana/dashboards/`` is rendered
from these modules by ``grafana/generate.py`` and committed; a test fails when
the committed files differ from what the generator renders. Edit here, then
run ``python grafana/generate.py``.

Modules: :mod:`.config` (objective, windows, thresholds, selectors: what a
user changes), :mod:`.durations` (Prometheus durations and their scaling),
:mod:`.genai` (the GenAI metrics under both conventions), :mod:`.recording`
(recording rules), :mod:`.alerts` (alerting rules), :mod:`.dashboards` (dashboards).
"""

"""The Grafana dashboard (deploy/grafana/aiqleads.json) is importable, covers the on-call topics, and
every query it runs, like every alert rule, reads only series the API or the worker exports.

Exported means: a series name prometheus_client exposes from ``ApiMetrics.create().registry`` or
``WorkerMetrics.create().registry`` (``x_total`` for a counter ``x``; ``x_bucket``/``x_sum``/``x_count``
for a histogram), or Prometheus's own ``up``; each label a selector matches on is one the metric
has, or a target label (``job``, ``instance``; a metric's own ``job`` label arrives as ``exported_job``).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from aiqtest_support.promql_names import Selector, exported, metric_names, selectors

from aiqleads.resolvers.metrics import ApiMetrics
from aiqleads.workers.metrics import WorkerMetrics

REPO = Path(__file__).resolve().parents[1]
DASHBOARD = REPO / "deploy" / "grafana" / "aiqleads.json"
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
TARGET_LABELS = frozenset({"job", "instance"})
PROMETHEUS_OWN = {"up": frozenset[str]()}  # the series Prometheus writes for every scrape target
# what Grafana substitutes before a query reaches Prometheus
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h", "$source": ".*"}


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])  # a collapsed row keeps its panels inside


def _queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable."""
    for panel in _panels(dashboard):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} {target['refId']}", target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            inner = re.fullmatch(r"(?:label_values|query_result)\((.*?)(?:,\s*\w+)?\)", query.strip())
            if inner and inner.group(1):
                yield f"variable ${variable['name']}", inner.group(1)


def _alert_queries() -> Iterator[tuple[str, str]]:
    for group in yaml.safe_load(ALERTS.read_text())["groups"]:
        for rule in group["rules"]:
            yield f"rule {rule['alert']} ({rule['labels']['severity']})", rule["expr"]


def _series() -> dict[str, frozenset[str]]:
    """Every series name the API or the worker exports (and `up`), with its label names."""
    merged = dict(PROMETHEUS_OWN)
    for registry in (ApiMetrics.create().registry, WorkerMetrics.create().registry):
        for name, labels in exported(registry).items():
            merged[name] = merged.get(name, frozenset()) | labels
    return merged


def _problem(selector: Selector, series: dict[str, frozenset[str]]) -> str | None:
    labels = series.get(selector.metric)
    if labels is None:
        return f"{selector.metric} is exported by neither the API nor the worker"
    allowed = labels | TARGET_LABELS | ({"exported_job"} if "job" in labels else set())
    unknown = selector.labels - allowed
    return f"{selector.metric} has no label {sorted(unknown)}" if unknown else None


def _problems(queries: Iterator[tuple[str, str]]) -> list[str]:
    series = _series()
    found = []
    for where, expr in queries:
        chosen = selectors(expr)
        if not chosen:
            found.append(f"{where}: reads no metric: {expr}")
        found += [f"{where}: {p}" for s in chosen if (p := _problem(s, series))]
    return found


def test_metric_names_are_read_the_way_promql_parses_them() -> None:
    cases = {
        'sum by (job, le) (rate(aiq_x_bucket{type!="subscription"}[5m]))': {"aiq_x_bucket"},
        "histogram_quantile(0.95, sum by (le) (rate(a_bucket[$__rate_interval]))) > 1 and b_count": {
            "a_bucket",
            "b_count",
        },
        'time() - max by (source) (ts{source=~"$source"}) > bool 900 offset 5m': {"ts"},
        'x / on (job) group_left (kind) y unless z{label="and or sum(q)"}': {"x", "y", "z"},
        'label_replace(up, "dst", "$1", "src", "(.*)") or vector(0)': {"up"},
        '{__name__="named_inside"} * 1e3 + topk(10, w)': {"named_inside", "w"},
    }
    for expr, names in cases.items():
        assert metric_names(expr) == names, expr
    assert selectors('aiq_ready{check="redis", job="aiqleads-api"}') == [
        Selector("aiq_ready", frozenset({"check", "job"}))
    ]


def test_exported_series_are_named_as_prometheus_client_exposes_them() -> None:
    series = _series()
    assert "aiq_http_requests_total" in series and "aiq_http_requests" not in series
    assert {"aiq_hold_expiry_lag_seconds_bucket", "aiq_hold_expiry_lag_seconds_count"} <= set(series)
    assert "aiq_hold_expiry_lag_seconds" not in series  # a histogram has no series of its bare name
    assert series["aiq_graphql_operation_seconds_bucket"] == {"operation", "type", "le"}
    # the checker itself refuses what does not exist
    assert _problem(Selector("aiq_no_such_metric", frozenset()), series)
    assert _problem(Selector("aiq_ready", frozenset({"checks"})), series)
    assert _problem(Selector("aiq_job_runs_total", frozenset({"exported_job", "outcome"})), series) is None


def test_every_dashboard_query_reads_exported_metrics() -> None:
    assert _problems(_queries(_dashboard())) == []


def test_every_alert_rule_reads_exported_metrics() -> None:
    assert _problems(_alert_queries()) == []


def test_the_dashboard_is_an_importable_grafana_dashboard() -> None:
    dashboard = _dashboard()
    assert dashboard["schemaVersion"] >= 36 and dashboard["uid"] and dashboard["title"] == "AIQLeads"
    assert dashboard["id"] is None  # Grafana assigns it on import
    (datasource,) = dashboard["__inputs"]
    assert (datasource["name"], datasource["type"], datasource["pluginId"]) == (
        "DS_PROMETHEUS",
        "datasource",
        "prometheus",
    )
    wanted = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
    panels = list(_panels(dashboard))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        area = {
            (x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
        if panel["type"] == "row":
            continue
        assert panel["type"] in ("timeseries", "stat"), panel["title"]
        assert panel["datasource"] == wanted and panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        assert all(t["datasource"] == wanted and t["expr"].strip() for t in panel["targets"]), panel["title"]
    for variable in dashboard["templating"]["list"]:
        assert variable.get("datasource") in (None, wanted), variable["name"]


def test_the_dashboard_covers_the_on_call_topics() -> None:
    titles = " ".join(p["title"].lower() for p in _panels(_dashboard()))
    for topic in (
        "requests", "latency", "errors", "holds", "checkouts", "credits", "job", "queue", "pages",
        "scrape", "subscriptions", "readiness", "ledger", "dead letters",
    ):  # fmt: skip
        assert topic in titles, topic


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query (with Grafana's variables substituted) as a recording rule."""
    rules = []
    for index, (_, expr) in enumerate(_queries(_dashboard())):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, expr
        rules.append({"record": f"dashboard:query_{index}", "expr": expr})
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout

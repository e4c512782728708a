"""Alerts reach the right receiver end to end, and resolve: a real API and worker, scraped by a real
Prometheus evaluating the committed rules, routed by a real Alertmanager with the committed routing,
delivered to local stand-ins for Slack's incoming webhook and PagerDuty's Events API v2.

Two real failures at once:
- Elasticsearch becomes unreachable for the API (a TCP proxy the test owns between the API and the
  shared Elasticsearch is cut): ``aiq_ready{check="elasticsearch"}`` drops to 0, AiqReadinessFailing
  (critical) pages through PagerDuty, and reopening the proxy resolves the incident;
- the worker process is killed: AiqWorkerDown (warning) posts to Slack, and a restarted worker posts
  the resolution.

The shared PostgreSQL, Redis and Elasticsearch are never stopped. Prometheus and Alertmanager run on
free ports under the test's temporary directory, with 1 s scrape, evaluation and grouping, and the
two rules' ``for:`` shortened; every other rule keeps its committed ``for:`` and stays quiet.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from aiqtest_support.alert_wire import LoopThread, PagerDutyEvents, SlackWebhook, TcpProxy
from aiqtest_support.live_server import api_process, free_port, worker_process

from aiqleads.alerting import AlertReceivers, RouteTiming
from aiqleads.domain.settings import Settings
from aiqleads_dev.services import monitoring

pytestmark = pytest.mark.e2e

ROUTING_KEY = "aiqtest0routing0key0000000000000"
ALERT_TIMEOUT = 20.0  # seconds from a failure (or its fix) to the notification


def _prometheus(port: int, path: str, **params: str) -> Any:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}{query}", timeout=5) as response:
        return json.loads(response.read())["data"]


def _wait_for_series(port: int, expr: str, timeout: float) -> list[dict[str, Any]]:
    """The series of ``expr`` once Prometheus has any, within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = _prometheus(port, "/api/v1/query", query=expr)["result"]
        if result:
            return list(result)
        time.sleep(0.25)
    raise AssertionError(f"Prometheus has no {expr} after {timeout:.0f}s")


def _slack_title(message: dict[str, Any]) -> str:
    return " ".join(str(a.get("title", "")) for a in message.get("attachments", []))


def _slack_text(message: dict[str, Any]) -> str:
    return " ".join(str(a.get("text", "")) for a in message.get("attachments", []))


def test_a_critical_pages_and_a_warning_posts_to_slack_and_both_resolve(
    settings: Settings, tmp_path: Path
) -> None:
    wire = LoopThread()
    slack, pagerduty = SlackWebhook(), PagerDutyEvents(ROUTING_KEY)
    es = urllib.parse.urlsplit(settings.elasticsearch_url)
    proxy = TcpProxy((es.hostname or "127.0.0.1", es.port or 9200))
    worker_port = free_port()
    with contextlib.ExitStack() as stack:
        stack.callback(wire.stop)
        for receiver in (slack, pagerduty):
            wire.run(receiver.start())
            stack.callback(lambda r=receiver: wire.run(r.stop()))
        wire.run(proxy.open())
        stack.callback(lambda: wire.run(proxy.close()))
        worker = stack.enter_context(worker_process(settings, worker_port, tmp_path / "worker.log"))
        api_url = stack.enter_context(api_process(settings, tmp_path, ELASTICSEARCH_URL=proxy.url))
        api_target = urllib.parse.urlsplit(api_url).netloc
        config = monitoring.MonitoringConfig(
            directory=tmp_path / "monitoring",
            prometheus_port=free_port(),
            alertmanager_port=free_port(),
            api_targets=(api_target,),
            worker_targets=(f"127.0.0.1:{worker_port}",),
            scrape_interval="1s",
            evaluation_interval="1s",
            timing=RouteTiming(group_wait="1s", group_interval="1s", repeat_interval="1h"),
            for_overrides={"AiqReadinessFailing": "1s", "AiqWorkerDown:warning": "1s"},
            receivers=AlertReceivers(slack.url, ROUTING_KEY, pagerduty.url),
        )
        monitoring.up(config)
        stack.callback(monitoring.down, config)
        prom = config.prometheus_port

        # both processes are scraped, and the API reports Elasticsearch reachable through the proxy
        _wait_for_series(prom, f'up{{job="aiqleads-api",instance="{api_target}"}} == 1', 30)
        _wait_for_series(prom, 'up{job="aiqleads-worker"} == 1', 10)
        _wait_for_series(prom, 'aiq_ready{check="elasticsearch"} == 1', 10)

        # break both: Elasticsearch unreachable for the API, the worker crashes
        wire.run(proxy.close())
        worker.kill()
        worker.wait(timeout=15)

        page = pagerduty.wait_for(
            lambda e: e["event_action"] == "trigger" and "AiqReadinessFailing" in e["payload"]["summary"],
            ALERT_TIMEOUT,
            "PagerDuty trigger for AiqReadinessFailing",
        )
        warning = slack.wait_for(
            lambda m: "[FIRING" in _slack_title(m) and "AiqWorkerDown" in _slack_title(m),
            ALERT_TIMEOUT,
            "Slack message for AiqWorkerDown",
        )

        # fix both: the proxy reopens on its port, a new worker serves the same metrics port; only
        # what arrives from now on counts as the resolution
        paged, posted = len(pagerduty.received()), len(slack.received())
        wire.run(proxy.open())
        stack.enter_context(worker_process(settings, worker_port, tmp_path / "worker-restarted.log"))

        resolve = pagerduty.wait_for(
            lambda e: e["event_action"] == "resolve" and e.get("dedup_key") == page["dedup_key"],
            ALERT_TIMEOUT,
            "PagerDuty resolve of the readiness incident",
            since=paged,
        )
        resolved = slack.wait_for(
            lambda m: "[RESOLVED]" in _slack_title(m) and "AiqWorkerDown" in _slack_title(m),
            ALERT_TIMEOUT,
            "Slack resolution of AiqWorkerDown",
            since=posted,
        )

    # the critical was paged with its severity, summary and runbook, under our routing key
    payload = page["payload"]
    assert page["routing_key"] == ROUTING_KEY and page["dedup_key"]
    assert payload["severity"] == "critical"
    assert payload["summary"] == f"AiqReadinessFailing: API {api_target} cannot reach elasticsearch"
    assert "/readyz" in payload["custom_details"]["runbook"]
    assert resolve["routing_key"] == ROUTING_KEY
    # the warning went to Slack, firing then resolved, with its annotations
    assert _slack_title(warning) == "[FIRING:1] AiqWorkerDown (warning)"
    assert f"Worker 127.0.0.1:{worker_port} is down" in _slack_text(warning)
    assert "Runbook:" in _slack_text(warning)
    assert _slack_title(resolved) == "[RESOLVED] AiqWorkerDown (warning)"
    # each severity reached only its own receiver, and both stand-ins accepted every delivery
    assert not [e for e in pagerduty.received() if "AiqWorkerDown" in json.dumps(e)]
    assert not [m for m in slack.received() if "AiqReadinessFailing" in json.dumps(m)]
    assert pagerduty.rejected == [] and slack.rejected == []

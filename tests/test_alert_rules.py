"""The alert rules, their unit tests, the example Prometheus configuration and the Alertmanager routing,
checked by Prometheus's and Alertmanager's own tools (Debian's prometheus and prometheus-alertmanager).

- ``promtool check rules`` and ``promtool test rules deploy/prometheus/alerts_test.yml`` pass, and every
  rule (each name at each severity) has a case where it fires and a name-level case where it is quiet;
- ``promtool check config`` passes on the example production configuration;
- ``amtool check-config`` passes on the committed Alertmanager configuration and on copies rendered
  from the AIQ_* receiver settings; ``amtool config routes test`` sends critical to PagerDuty and
  warning (or no severity) to Slack;
- the inhibition rules name alerts that exist.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from aiqleads.alerting import AlertReceivers, RouteTiming, render_alertmanager
from aiqleads.cli import main
from aiqleads.domain.settings import PAGERDUTY_EVENTS_URL, Settings
from aiqleads_dev.services import monitoring
from aiqleads_dev.services.commands import main as services_main
from aiqleads_dev.services.process import ServiceError

REPO = Path(__file__).resolve().parents[1]
PROMETHEUS = REPO / "deploy" / "prometheus"
ALERTS = PROMETHEUS / "alerts.yml"
ALERTS_TEST = PROMETHEUS / "alerts_test.yml"
ALERTMANAGER = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
RECEIVERS = AlertReceivers(
    slack_webhook_url="https://hooks.slack.com/services/T000/B000/XXXXXXXX",
    pagerduty_routing_key="0123456789abcdef0123456789abcdef",
    pagerduty_url="https://events.eu.pagerduty.com/v2/enqueue",
)


def _tool(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=60, cwd=REPO)


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def _route(config: Path, *labels: str) -> str:
    out = _ok(_tool("amtool", "config", "routes", "test", f"--config.file={config}", *labels))
    lines = [line for line in out.splitlines() if line and not line.startswith("Warning:")]
    return lines[-1].strip()


def test_promtool_checks_the_rules() -> None:
    out = _ok(_tool("promtool", "check", "rules", str(ALERTS)))
    assert f"SUCCESS: {len(_rules())} rules found" in out


def test_promtool_rule_unit_tests_pass() -> None:
    out = _ok(_tool("promtool", "test", "rules", str(ALERTS_TEST)))
    assert "SUCCESS" in out and "FAILED" not in out


def test_promtool_fails_a_wrong_expectation(tmp_path: Path) -> None:
    """The unit tests can fail: one changed expected annotation is reported by promtool."""
    right = ALERTS_TEST.read_text()
    wrong = right.replace('summary: "API api-1:8000 is down"', 'summary: "API api-9 is down"')
    assert wrong != right
    (tmp_path / "alerts.yml").write_text(ALERTS.read_text())  # rule_files resolve beside the test file
    (tmp_path / "alerts_test.yml").write_text(wrong)
    done = _tool("promtool", "test", "rules", str(tmp_path / "alerts_test.yml"))
    assert done.returncode != 0 and "api-9" in done.stdout + done.stderr


def test_every_rule_is_tested_firing_and_quiet() -> None:
    firing: set[tuple[str, str]] = set()
    quiet: set[str] = set()
    for case in yaml.safe_load(ALERTS_TEST.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            if check["exp_alerts"]:
                firing |= {(check["alertname"], a["exp_labels"]["severity"]) for a in check["exp_alerts"]}
            else:
                quiet.add(check["alertname"])
    rules = {(rule["alert"], rule["labels"]["severity"]) for rule in _rules()}
    assert rules - firing == set(), "rules never seen firing"
    assert {name for name, _ in rules} - quiet == set(), "rules never checked quiet"
    assert firing - rules == set(), "tests of rules that do not exist"


def test_every_rule_has_a_severity_annotations_and_a_for() -> None:
    for rule in _rules():
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert {"summary", "description", "runbook"} <= set(rule["annotations"]), rule["alert"]
        # at least a minute: a single bad scrape notifies nobody (and the e2e test relies on it)
        assert re.fullmatch(r"\d+[mh]", rule["for"]), rule["alert"]


def test_promtool_checks_the_example_prometheus_config() -> None:
    out = _ok(_tool("promtool", "check", "config", str(PROMETHEUS / "prometheus.yml")))
    assert "1 rule files found" in out
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert {job["job_name"] for job in config["scrape_configs"]} == {"aiqleads-api", "aiqleads-worker"}
    assert config["rule_files"] == ["alerts.yml"] and config["alerting"]["alertmanagers"]


def test_amtool_checks_the_committed_config_and_routes_by_severity() -> None:
    _ok(_tool("amtool", "check-config", str(ALERTMANAGER)))
    assert _route(ALERTMANAGER, "severity=critical") == "pagerduty-critical"
    assert _route(ALERTMANAGER, "severity=critical", "alertname=AiqApiDown", "job=aiqleads-api") == (
        "pagerduty-critical"
    )
    assert _route(ALERTMANAGER, "severity=warning") == "slack-warnings"
    assert _route(ALERTMANAGER, "alertname=SomethingUnlabelled") == "slack-warnings"
    committed = ALERTMANAGER.read_text()
    assert "routing_key:" not in committed and "api_url:" not in committed  # no secret in the repository


def test_a_rendered_config_carries_the_settings_and_passes_amtool(tmp_path: Path) -> None:
    rendered = render_alertmanager(ALERTMANAGER.read_text(), RECEIVERS)
    path = tmp_path / "alertmanager.yml"
    path.write_text(rendered)
    _ok(_tool("amtool", "check-config", str(path)))
    assert _route(path, "severity=critical") == "pagerduty-critical"
    assert _route(path, "severity=warning") == "slack-warnings"
    receivers = {r["name"]: r for r in yaml.safe_load(rendered)["receivers"]}
    (pagerduty,) = receivers["pagerduty-critical"]["pagerduty_configs"]
    (slack,) = receivers["slack-warnings"]["slack_configs"]
    assert pagerduty["routing_key"] == RECEIVERS.pagerduty_routing_key and "routing_key_file" not in pagerduty
    assert pagerduty["url"] == RECEIVERS.pagerduty_url
    assert slack["api_url"] == RECEIVERS.slack_webhook_url and "api_url_file" not in slack
    assert slack["send_resolved"] is True
    # everything else is the template's
    template = yaml.safe_load(ALERTMANAGER.read_text())
    assert yaml.safe_load(rendered)["route"] == template["route"]
    assert yaml.safe_load(rendered)["inhibit_rules"] == template["inhibit_rules"]


def test_unset_settings_keep_the_secret_files_or_silence_the_receiver(tmp_path: Path) -> None:
    nothing = AlertReceivers(None, None, PAGERDUTY_EVENTS_URL)
    kept = yaml.safe_load(render_alertmanager(ALERTMANAGER.read_text(), nothing))
    assert kept["receivers"] == yaml.safe_load(ALERTMANAGER.read_text())["receivers"]
    dropped_text = render_alertmanager(
        ALERTMANAGER.read_text(), nothing, unset="drop", timing=RouteTiming("1s", "2s", "3h")
    )
    path = tmp_path / "silent.yml"
    path.write_text(dropped_text)
    _ok(_tool("amtool", "check-config", str(path)))
    dropped = yaml.safe_load(dropped_text)
    assert [set(r) for r in dropped["receivers"]] == [{"name"}, {"name"}]
    for route in (dropped["route"], *dropped["route"]["routes"]):
        assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == ("1s", "2s", "3h")


def test_the_receiver_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AIQ_SLACK_WEBHOOK_URL", "AIQ_PAGERDUTY_ROUTING_KEY", "AIQ_PAGERDUTY_URL"):
        monkeypatch.delenv(name, raising=False)
    unset = AlertReceivers(None, None, PAGERDUTY_EVENTS_URL)
    assert AlertReceivers.from_settings(Settings.from_env()) == unset
    monkeypatch.setenv("AIQ_SLACK_WEBHOOK_URL", RECEIVERS.slack_webhook_url or "")
    monkeypatch.setenv("AIQ_PAGERDUTY_ROUTING_KEY", RECEIVERS.pagerduty_routing_key or "")
    monkeypatch.setenv("AIQ_PAGERDUTY_URL", RECEIVERS.pagerduty_url)
    assert AlertReceivers.from_settings(Settings.from_env()) == RECEIVERS


def test_aiqleads_monitoring_render_writes_an_owner_only_config(tmp_path: Path) -> None:
    output = tmp_path / "alertmanager.yml"
    env = {
        "AIQ_SLACK_WEBHOOK_URL": RECEIVERS.slack_webhook_url,
        "AIQ_PAGERDUTY_ROUTING_KEY": RECEIVERS.pagerduty_routing_key,
        "AIQ_PAGERDUTY_URL": "",  # unset: the public Events API v2
    }
    result = CliRunner().invoke(
        main, ["monitoring", "render", "--template", str(ALERTMANAGER), "-o", str(output)], env=env
    )
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    _ok(_tool("amtool", "check-config", str(output)))
    text = output.read_text()
    assert RECEIVERS.pagerduty_routing_key in text and f"url: {PAGERDUTY_EVENTS_URL}" in text
    missing = CliRunner().invoke(main, ["monitoring", "render", "--template", str(tmp_path / "nope.yml")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_inhibition_names_alerts_that_exist() -> None:
    names = {rule["alert"] for rule in _rules()}
    inhibit = yaml.safe_load(ALERTMANAGER.read_text())["inhibit_rules"]
    for rule in inhibit:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            label, op, value = re.fullmatch(r'(\w+)(=~|=)"(.*)"', matcher).groups()  # type: ignore[union-attr]
            if label != "alertname":
                continue
            matched = {n for n in names if re.fullmatch(value, n)} if op == "=~" else {value} & names
            assert matched, f"{matcher} matches no alert rule"
            if op == "=~":
                assert len(matched) == len(value.split("|")), f"{matcher}: {sorted(matched)}"
    # API and worker down inhibit what follows from them; a critical hides its own warning
    sources = [m for rule in inhibit for m in rule["source_matchers"]]
    assert {'alertname="AiqApiDown"', 'alertname="AiqWorkerDown"', 'severity="critical"'} <= set(sources)


def test_rendered_rules_change_only_the_for_durations() -> None:
    rendered = yaml.safe_load(monitoring.render_rules(ALERTS.read_text(), {"AiqWorkerDown:warning": "1s"}))
    rules = [rule for group in rendered["groups"] for rule in group["rules"]]
    committed = _rules()
    assert [r["expr"] for r in rules] == [r["expr"] for r in committed]
    changed = [(r["alert"], r["labels"]["severity"]) for r, c in zip(rules, committed, strict=True) if r != c]
    assert changed == [("AiqWorkerDown", "warning")]
    with pytest.raises(ServiceError, match="AiqNoSuchAlert"):
        monitoring.render_rules(ALERTS.read_text(), {"AiqNoSuchAlert": "1s"})


def test_monitoring_configs_render_and_pass_both_tools(tmp_path: Path) -> None:
    config = monitoring.MonitoringConfig(
        directory=tmp_path, api_targets=("127.0.0.1:18000",), receivers=RECEIVERS
    )
    prometheus_yml, alertmanager_yml = monitoring.write_configs(config)  # runs promtool and amtool
    scraped = yaml.safe_load(prometheus_yml.read_text())["scrape_configs"]
    assert [(job["job_name"], job["static_configs"][0]["targets"]) for job in scraped] == [
        ("aiqleads-api", ["127.0.0.1:18000"]),
        ("aiqleads-worker", ["127.0.0.1:9101"]),
    ]
    assert stat.S_IMODE(alertmanager_yml.stat().st_mode) == 0o600
    assert (tmp_path / "prometheus" / "alerts.yml").exists()


def test_services_monitoring_flag_goes_with_up_only() -> None:
    assert services_main(["down", "--monitoring"]) == 2
    assert services_main(["up", "--sideways"]) == 2


def test_the_monitoring_targets_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIQ_MONITORING_API_TARGETS", "127.0.0.1:18000, 127.0.0.1:18001")
    monkeypatch.delenv("AIQ_MONITORING_WORKER_TARGETS", raising=False)
    config = monitoring.MonitoringConfig.from_env()
    assert config.api_targets == ("127.0.0.1:18000", "127.0.0.1:18001")
    assert config.worker_targets == ("127.0.0.1:9101",)
    assert (config.prometheus_port, config.alertmanager_port) == (29090, 29093)
    assert os.fspath(config.directory).endswith("monitoring")

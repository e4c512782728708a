"""Local Prometheus and Alertmanager (``aiqleads services up --monitoring``): rendered configurations,
start, stop and status.

Both run as the invoking user, bound to 127.0.0.1, with everything under ``<services dir>/monitoring``:
``prometheus/prometheus.yml`` (scraping the API and worker, alerting to the local Alertmanager),
``prometheus/alerts.yml`` (the committed rules, optionally with shorter ``for:`` durations for tests;
the expressions are never changed) and ``alertmanager/alertmanager.yml`` (the committed routing with
the receivers from the AIQ_SLACK_WEBHOOK_URL, AIQ_PAGERDUTY_ROUTING_KEY and AIQ_PAGERDUTY_URL
settings; an unset one leaves its receiver silent). Tests run their own pair on free ports by
passing a ``MonitoringConfig``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aiqleads.alerting import AlertReceivers, RouteTiming, render_alertmanager
from aiqleads.domain.settings import Settings
from aiqleads_dev.services.config import (
    ALERTMANAGER_PORT,
    BOOTSTRAP_HINT,
    CONFIG_BANNER,
    HOST,
    PROMETHEUS_PORT,
    ROOT,
    services_dir,
)
from aiqleads_dev.services.process import (
    ServiceError,
    ServiceStatus,
    fail,
    pid_alive,
    port_open,
    read_pid,
    run,
    say,
    stop_pid,
    wait,
)

DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
ALERTMANAGER_TEMPLATE = DEPLOY / "alertmanager" / "alertmanager.yml"
API_TARGET = f"{HOST}:8000"  # `aiqleads serve`'s default port
WORKER_TARGET = f"{HOST}:9101"  # `aiqleads worker --metrics-port`'s default
START_TIMEOUT = 60.0


def _targets(variable: str, default: str) -> tuple[str, ...]:
    raw = os.environ.get(variable, "")
    return tuple(t.strip() for t in raw.split(",") if t.strip()) or (default,)


@dataclass(frozen=True)
class MonitoringConfig:
    """Where the local Prometheus and Alertmanager listen, what they scrape and how fast they react."""

    directory: Path
    prometheus_port: int = PROMETHEUS_PORT
    alertmanager_port: int = ALERTMANAGER_PORT
    api_targets: tuple[str, ...] = (API_TARGET,)
    worker_targets: tuple[str, ...] = (WORKER_TARGET,)
    scrape_interval: str = "5s"
    evaluation_interval: str = "5s"
    # None: the committed route timing (30 s group wait); tests use about a second
    timing: RouteTiming | None = None
    # alert name, or "name:severity", → a `for:` duration replacing the committed one
    for_overrides: Mapping[str, str] = field(default_factory=dict)
    # None: from the settings (Settings.from_env())
    receivers: AlertReceivers | None = None

    @classmethod
    def from_env(cls) -> MonitoringConfig:
        """The ``services up --monitoring`` configuration: targets from AIQ_MONITORING_API_TARGETS and
        AIQ_MONITORING_WORKER_TARGETS (comma-separated host:port) when set."""
        return cls(
            directory=services_dir() / "monitoring",
            api_targets=_targets("AIQ_MONITORING_API_TARGETS", API_TARGET),
            worker_targets=_targets("AIQ_MONITORING_WORKER_TARGETS", WORKER_TARGET),
        )

    @property
    def prometheus_dir(self) -> Path:
        """Prometheus's configuration, data, log and pid file."""
        return self.directory / "prometheus"

    @property
    def alertmanager_dir(self) -> Path:
        """Alertmanager's configuration, data, log and pid file."""
        return self.directory / "alertmanager"


def render_rules(text: str, for_overrides: Mapping[str, str]) -> str:
    """The rule file with the ``for:`` of the named alerts ("name" or "name:severity") replaced."""
    rules = yaml.safe_load(text)
    unused = set(for_overrides)
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert")
            if name is None:
                continue
            key = f"{name}:{rule.get('labels', {}).get('severity', '')}"
            for candidate in (key, name):
                if candidate in for_overrides:
                    rule["for"] = for_overrides[candidate]
                    unused.discard(candidate)
                    break
    if unused:
        raise ServiceError(f"monitoring: no alert rule named {sorted(unused)}")
    return CONFIG_BANNER + "\n" + yaml.safe_dump(rules, sort_keys=False, width=1000)


def render_prometheus(config: MonitoringConfig) -> str:
    """Prometheus's configuration: the API and worker jobs, the rules, the local Alertmanager."""
    document: dict[str, Any] = {
        "global": {
            "scrape_interval": config.scrape_interval,
            "scrape_timeout": config.scrape_interval,  # readiness is checked during the scrape
            "evaluation_interval": config.evaluation_interval,
        },
        "rule_files": ["alerts.yml"],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"{HOST}:{config.alertmanager_port}"]}]}]
        },
        "scrape_configs": [
            {"job_name": "aiqleads-api", "static_configs": [{"targets": list(config.api_targets)}]},
            {"job_name": "aiqleads-worker", "static_configs": [{"targets": list(config.worker_targets)}]},
        ],
    }
    return CONFIG_BANNER + "\n" + yaml.safe_dump(document, sort_keys=False)


def _receivers(config: MonitoringConfig) -> AlertReceivers:
    if config.receivers is not None:
        return config.receivers
    try:
        return AlertReceivers.from_settings(Settings.from_env())
    except ValueError as exc:
        raise ServiceError(f"monitoring: {exc}") from exc


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise ServiceError(f"monitoring: {names[0]} not found; {BOOTSTRAP_HINT}")


def write_configs(config: MonitoringConfig) -> tuple[Path, Path]:
    """Render and check both configurations; returns (prometheus.yml, alertmanager.yml)."""
    for directory in (config.prometheus_dir, config.alertmanager_dir):
        (directory / "data").mkdir(parents=True, exist_ok=True)
    prometheus_yml = config.prometheus_dir / "prometheus.yml"
    (config.prometheus_dir / "alerts.yml").write_text(render_rules(RULES.read_text(), config.for_overrides))
    prometheus_yml.write_text(render_prometheus(config))
    alertmanager_yml = config.alertmanager_dir / "alertmanager.yml"
    rendered = render_alertmanager(
        ALERTMANAGER_TEMPLATE.read_text(), _receivers(config), unset="drop", timing=config.timing
    )
    # it may hold the Slack webhook URL and the PagerDuty routing key: owner-only
    fd = os.open(alertmanager_yml, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode otherwise
    with os.fdopen(fd, "w") as handle:
        handle.write(rendered)
    run([_binary("promtool"), "check", "config", str(prometheus_yml)], "monitoring: promtool check config")
    run([_binary("amtool"), "check-config", str(alertmanager_yml)], "monitoring: amtool check-config")
    return prometheus_yml, alertmanager_yml


def _get_json(port: int, path: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=timeout) as response:
        return json.loads(response.read())


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/-/ready", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@dataclass(frozen=True)
class _Server:
    name: str
    directory: Path
    port: int

    @property
    def pidfile(self) -> Path:
        return self.directory / f"{self.name}.pid"

    @property
    def log(self) -> Path:
        return self.directory / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid of the server we started, while it runs."""
        pid = read_pid(self.pidfile)
        return pid if pid is not None and pid_alive(pid) else None


def _servers(config: MonitoringConfig) -> tuple[_Server, _Server]:
    return (
        _Server("alertmanager", config.alertmanager_dir, config.alertmanager_port),
        _Server("prometheus", config.prometheus_dir, config.prometheus_port),
    )


def _argv(server: _Server, config_file: Path) -> list[str]:
    listen = f"--web.listen-address={HOST}:{server.port}"
    external = f"--web.external-url=http://{HOST}:{server.port}/"  # links in alerts point here
    data = server.directory / "data"
    if server.name == "prometheus":
        return [
            _binary("prometheus"),
            f"--config.file={config_file}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=7d",
            listen,
            external,
        ]
    return [
        _binary("prometheus-alertmanager", "alertmanager"),
        f"--config.file={config_file}",
        f"--storage.path={data}",
        listen,
        external,
        "--cluster.listen-address=",  # a single local instance: no gossip listener
    ]


def _start(server: _Server, config_file: Path) -> None:
    pid = server.pid()
    if pid is not None:
        os.kill(pid, signal.SIGHUP)  # both reread their configuration on SIGHUP
        say(f"{server.name}: already running on {HOST}:{server.port}, configuration reloaded")
        return
    if port_open(server.port):
        raise ServiceError(f"{server.name}: {HOST}:{server.port} is taken by a process we did not start")
    started = time.monotonic()
    say(f"{server.name}: starting on {HOST}:{server.port}")
    with server.log.open("ab") as log:
        proc = subprocess.Popen(
            _argv(server, config_file),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=server.directory,
            start_new_session=True,  # outlives the command that started it, like the other services
        )
    server.pidfile.write_text(f"{proc.pid}\n")

    def ready() -> bool:
        if proc.poll() is not None:
            raise fail(f"{server.name}: exited with {proc.returncode} at start-up", server.log)
        return _ready(server.port)

    wait(ready, server.name, server.log, timeout=START_TIMEOUT)
    say(f"{server.name}: ready ({time.monotonic() - started:.1f}s)")


def up(config: MonitoringConfig | None = None) -> None:
    """Render the configurations and start Alertmanager, then Prometheus (a running one reloads)."""
    config = config or MonitoringConfig.from_env()
    prometheus_yml, alertmanager_yml = write_configs(config)
    receivers = _receivers(config)
    alertmanager, prometheus = _servers(config)
    _start(alertmanager, alertmanager_yml)
    _start(prometheus, prometheus_yml)
    if receivers.slack_webhook_url is None:
        say("alertmanager: AIQ_SLACK_WEBHOOK_URL is not set: warnings are not delivered")
    if receivers.pagerduty_routing_key is None:
        say("alertmanager: AIQ_PAGERDUTY_ROUTING_KEY is not set: critical alerts are not delivered")


def down(config: MonitoringConfig | None = None) -> None:
    """Stop the Prometheus and Alertmanager that ``up`` started (anything else is left alone)."""
    config = config or MonitoringConfig.from_env()
    for server in reversed(_servers(config)):
        pid = server.pid()
        if pid is None:
            say(f"{server.name}: not running")
            continue
        say(f"{server.name}: stopping")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        stop_pid(pid, server.name, 30)
        server.pidfile.unlink(missing_ok=True)
        say(f"{server.name}: stopped")


def _version(server: _Server) -> str:
    if server.name == "prometheus":
        return f"Prometheus {_get_json(server.port, '/api/v1/status/buildinfo')['data']['version']}"
    return f"Alertmanager {_get_json(server.port, '/api/v2/status')['versionInfo']['version']}"


def started(config: MonitoringConfig | None = None) -> bool:
    """Whether ``up`` started either server and ``down`` has not stopped it (its pid file is there)."""
    config = config or MonitoringConfig.from_env()
    return any(server.pidfile.exists() for server in _servers(config))


def status(config: MonitoringConfig | None = None) -> list[ServiceStatus]:
    """Prometheus's and Alertmanager's state, address and version."""
    config = config or MonitoringConfig.from_env()
    report = []
    for server in reversed(_servers(config)):
        address = f"{HOST}:{server.port}"
        try:
            version = _version(server) if _ready(server.port) else None
        except (OSError, ValueError, KeyError):
            version = None
        report.append(ServiceStatus(server.name, version is not None, address, version or "-"))
    return report

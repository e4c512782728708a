"""The Alertmanager configuration with its receivers' addresses taken from the settings.

The committed ``deploy/alertmanager/alertmanager.yml`` holds no secret: its Slack receiver reads the
webhook URL from ``api_url_file`` and its PagerDuty receiver the routing key from ``routing_key_file``.
``render_alertmanager`` writes a concrete copy: ``AIQ_SLACK_WEBHOOK_URL`` becomes every Slack config's
``api_url``, ``AIQ_PAGERDUTY_ROUTING_KEY`` every PagerDuty config's ``routing_key`` and
``AIQ_PAGERDUTY_URL`` its ``url``. A setting that is not set keeps the template's ``*_file`` line
(production), or drops that kind of config so its receiver delivers nothing (a local Alertmanager
with no receiver configured). ``aiqleads monitoring render`` and ``aiqleads services up --monitoring``
call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import yaml

from aiqleads.domain.settings import Settings

BANNER = (
    "# Rendered from deploy/alertmanager/alertmanager.yml with the AIQ_SLACK_WEBHOOK_URL,\n"
    "# AIQ_PAGERDUTY_ROUTING_KEY and AIQ_PAGERDUTY_URL settings: edit the template, not this file.\n"
)


@dataclass(frozen=True)
class AlertReceivers:
    """Where alerts go: Slack's incoming webhook for warnings, PagerDuty's Events API v2 for criticals."""

    slack_webhook_url: str | None
    pagerduty_routing_key: str | None
    pagerduty_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertReceivers:
        """The three receiver settings."""
        return cls(settings.slack_webhook_url, settings.pagerduty_routing_key, settings.pagerduty_url)


@dataclass(frozen=True)
class RouteTiming:
    """Notification timing set on every route (tests use about a second; None keeps the template's)."""

    group_wait: str | None = None
    group_interval: str | None = None
    repeat_interval: str | None = None


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (the Slack message template) as literal blocks, as in the template."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _receiver_configs(receiver: dict[str, Any], kind: str, value: str | None, key: str, unset: str) -> None:
    configs = receiver.get(kind)
    if not configs:
        return
    if value is None:
        if unset == "drop":
            del receiver[kind]
        return
    for config in configs:
        config.pop(f"{key}_file", None)
        config[key] = value


def _time_routes(route: dict[str, Any], timing: RouteTiming) -> None:
    for name in ("group_wait", "group_interval", "repeat_interval"):
        value = getattr(timing, name)
        if value is not None:
            route[name] = value
    for child in route.get("routes") or []:
        _time_routes(child, timing)


def render_alertmanager(
    template: str,
    receivers: AlertReceivers,
    *,
    unset: Literal["keep", "drop"] = "keep",
    timing: RouteTiming | None = None,
) -> str:
    """The template's configuration with the receivers' addresses (and timing) filled in."""
    if unset not in ("keep", "drop"):
        raise ValueError(f"unset must be 'keep' or 'drop', got {unset!r}")
    config = yaml.safe_load(template)
    for receiver in config.get("receivers") or []:
        _receiver_configs(receiver, "slack_configs", receivers.slack_webhook_url, "api_url", unset)
        _receiver_configs(
            receiver, "pagerduty_configs", receivers.pagerduty_routing_key, "routing_key", unset
        )
        for pagerduty in receiver.get("pagerduty_configs") or []:
            pagerduty["url"] = receivers.pagerduty_url
    if timing is not None:
        _time_routes(config["route"], timing)
    return BANNER + yaml.dump(config, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)

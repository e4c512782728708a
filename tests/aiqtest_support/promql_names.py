"""Which series a PromQL expression reads, and which series our registries export.

``selectors(expr)`` lists every vector selector of an expression, with the label names its matchers
use: metric names are the identifiers left once strings, label matchers, ranges, grouping clauses and
Grafana variables are taken out and function calls and keywords are set aside. ``exported(registry)``
lists the series names prometheus_client exposes for each collector (a counter ``x`` is ``x_total``;
a histogram ``x`` is ``x_bucket``, ``x_sum`` and ``x_count``, never plain ``x``), with their labels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`'
_MATCHERS = re.compile(r"\{(?:[^{}\"']|" + _STRING + r")*\}")
_SELECTOR = re.compile(r"(?<![\w.:$])([a-zA-Z_:][\w:]*)\s*(" + _MATCHERS.pattern + r")")
_MATCHER_LABEL = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*(" + _STRING + r")")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_VARIABLE = re.compile(r"\$\{?\w+(?::\w+)?\}?")
_IDENT = re.compile(r"(?<![\w.:$])([a-zA-Z_:][\w:]*)(\s*\()?")
KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"inf", "nan", "atan2"}
)


@dataclass(frozen=True)
class Selector:
    """One vector selector: the metric name and the label names its matchers use."""

    metric: str
    labels: frozenset[str]


def selectors(expr: str) -> list[Selector]:
    """Every vector selector in ``expr`` (a metric named inside ``{__name__="..."}`` included)."""
    found: list[Selector] = []
    for match in _SELECTOR.finditer(expr):
        name, block = match.group(1), match.group(2)
        if name in KEYWORDS:
            continue
        labels = frozenset(m.group(1) for m in _MATCHER_LABEL.finditer(block))
        found.append(Selector(name, labels))
    for block in _MATCHERS.findall(expr):
        for m in _MATCHER_LABEL.finditer(block):
            if m.group(1) == "__name__" and re.fullmatch(r"[\"'`][a-zA-Z_:][\w:]*[\"'`]", m.group(2)):
                found.append(Selector(m.group(2)[1:-1], frozenset()))
    bare = _MATCHERS.sub(" ", expr)
    bare = _RANGE.sub(" ", bare)
    bare = _GROUPING.sub(" ", bare)
    bare = re.sub(_STRING, " ", bare)
    bare = _VARIABLE.sub(" ", bare)
    named_with_matchers = {s.metric for s in found}
    for match in _IDENT.finditer(bare):
        name, call = match.group(1), match.group(2)
        if call or name in KEYWORDS:
            continue
        if name not in named_with_matchers:
            found.append(Selector(name, frozenset()))
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names ``expr`` reads."""
    return {s.metric for s in selectors(expr)}


def exported(registry: CollectorRegistry) -> dict[str, frozenset[str]]:
    """Series name → label names, for every series the registry's collectors expose."""
    series: dict[str, frozenset[str]] = {}
    for family in registry.collect():
        collector = registry._names_to_collectors.get(family.name) or registry._names_to_collectors.get(
            f"{family.name}_total"
        )
        labels = frozenset(getattr(collector, "_labelnames", ()))
        suffixes = {
            "counter": {"_total": labels},
            "histogram": {"_bucket": labels | {"le"}, "_sum": labels, "_count": labels},
            "summary": {"": labels | {"quantile"}, "_sum": labels, "_count": labels},
            "info": {"_info": labels},
        }.get(family.type, {"": labels})
        for suffix, names in suffixes.items():
            series[family.name + suffix] = names
    return series

"""The local Elasticsearch (single node, no security, loopback only): start, stop, status, REST calls."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from aiqleads_dev.services.config import (
    BOOTSTRAP_HINT,
    CONFIG_BANNER,
    ELASTICSEARCH_URL,
    ES_HEAP,
    ES_PORT,
    ES_TRANSPORT_PORT,
    ES_VERSION,
    HOST,
    TIMEOUT,
    es_dir,
    es_home,
)
from aiqleads_dev.services.process import (
    ServiceError,
    ServiceStatus,
    as_user,
    check_user_access,
    chown_tree,
    fail,
    pid_alive,
    port_open,
    read_pid,
    say,
    service_user,
    stop_pid,
    wait,
)


def es_request(path: str, method: str = "GET", body: Any = None, timeout: float = 30.0) -> Any:
    """Call the local Elasticsearch REST API and return the decoded JSON reply."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{ELASTICSEARCH_URL}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def _health_ok() -> bool:
    try:
        health = es_request("/_cluster/health?wait_for_status=yellow&timeout=5s", timeout=10)
    except (OSError, ValueError, urllib.error.URLError):
        return False
    return isinstance(health, dict) and health.get("status") in ("yellow", "green")


def _java_home() -> Path:
    for var in ("ES_JAVA_HOME", "JAVA_HOME"):
        value = os.environ.get(var)
        if value and (Path(value) / "bin" / "java").exists():
            return Path(value)
    java = shutil.which("java")
    if java is None:
        raise ServiceError(f"elasticsearch: no java on PATH; {BOOTSTRAP_HINT}")
    return Path(java).resolve().parent.parent


def _yaml() -> str:
    es = es_dir()
    settings: dict[str, Any] = {
        "cluster.name": "aiqleads-dev",
        "node.name": "aiqleads-dev-1",
        "path.data": str(es / "data"),
        "path.logs": str(es / "logs"),
        "network.host": HOST,
        "http.port": ES_PORT,
        "transport.port": ES_TRANSPORT_PORT,
        "discovery.type": "single-node",
        "xpack.security.enabled": False,
        "cluster.routing.allocation.disk.threshold_enabled": False,
        # Tests clean up with wildcard index deletes (e.g. DELETE /test-*).
        "action.destructive_requires_name": False,
    }
    lines = [CONFIG_BANNER]
    lines += [f"{key}: {json.dumps(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def _prepare_config(es: Path) -> Path:
    config = es / "config"
    if not (config / "jvm.options").exists():
        shutil.copytree(es_home() / "config", config, dirs_exist_ok=True)
        # Relative paths in the stock jvm.options resolve against the working directory; pin them.
        options = (config / "jvm.options").read_text()
        options = options.replace("-XX:HeapDumpPath=data", f"-XX:HeapDumpPath={es / 'data'}")
        options = options.replace("=logs/", f"={es / 'logs'}/")
        (config / "jvm.options").write_text(options)
    (config / "elasticsearch.yml").write_text(_yaml())
    return config


def up() -> None:
    """Start Elasticsearch unless it answers; wait for a yellow or green cluster either way."""
    es = es_dir()
    log = es / "logs" / "aiqleads-dev.log"
    if port_open(ES_PORT):
        say(f"elasticsearch: already running on {HOST}:{ES_PORT}")
        wait(_health_ok, "elasticsearch: cluster health", log)
        return
    binary = es_home() / "bin" / "elasticsearch"
    if not binary.exists():
        raise ServiceError(f"elasticsearch: {binary} missing; {BOOTSTRAP_HINT}")
    start = time.monotonic()
    user = service_user()
    for sub in ("data", "logs", "tmp"):
        (es / sub).mkdir(parents=True, exist_ok=True)
    config = _prepare_config(es)
    chown_tree(es, user)
    for path in (config / "elasticsearch.yml", config / "jvm.options"):
        chown_tree(path, user)
    check_user_access(user, es / "data")
    env = {
        "ES_PATH_CONF": str(config),
        "ES_JAVA_HOME": str(_java_home()),
        "ES_JAVA_OPTS": f"-Xms{ES_HEAP} -Xmx{ES_HEAP}",
        "ES_TMPDIR": str(es / "tmp"),
        "HOME": str(es),
    }
    pidfile = es / "elasticsearch.pid"
    startup_log = es / "startup.log"
    say(f"elasticsearch: starting {ES_VERSION} on {HOST}:{ES_PORT} (heap {ES_HEAP})")
    with startup_log.open("w") as out:
        done = subprocess.run(
            as_user(user, [str(binary), "-d", "-p", str(pidfile)], env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=TIMEOUT,
            cwd=str(es),
        )
    if done.returncode != 0:
        raise fail(
            f"elasticsearch: start exited {done.returncode} (see {startup_log})",
            log if log.exists() else startup_log,
        )
    wait(lambda: port_open(ES_PORT), "elasticsearch", log)
    wait(_health_ok, "elasticsearch: cluster health", log)
    say(f"elasticsearch: ready ({time.monotonic() - start:.1f}s)")


def down() -> None:
    """Stop the Elasticsearch that ``up`` started (a server that is not ours is left alone)."""
    pid = read_pid(es_dir() / "elasticsearch.pid")
    if pid is None or not pid_alive(pid):
        say("elasticsearch: not running" + (" (port answers, but not ours)" if port_open(ES_PORT) else ""))
        return
    say("elasticsearch: stopping")
    os.kill(pid, signal.SIGTERM)
    stop_pid(pid, "elasticsearch", 60)
    say("elasticsearch: stopped")


def es_version() -> str:
    """Return the Elasticsearch server version (root endpoint, or node info where ``GET /`` is absent)."""
    try:
        return str(es_request("/", timeout=5)["version"]["number"])
    except urllib.error.HTTPError as exc:
        # The integ-test distribution has no `rest-root` module, so `GET /` answers 405.
        if exc.code != 405:
            raise
    nodes = es_request("/_nodes/_local?filter_path=nodes.*.version", timeout=5)["nodes"]
    return str(next(iter(nodes.values()))["version"])


def status() -> ServiceStatus:
    """Elasticsearch's state, address, version and cluster health."""
    address = f"{HOST}:{ES_PORT}"
    try:
        version = es_version()
        health = es_request("/_cluster/health", timeout=5)
    except (OSError, ValueError, KeyError, StopIteration):
        return ServiceStatus("elasticsearch", False, address, "-")
    return ServiceStatus(
        "elasticsearch", True, address, f"Elasticsearch {version} (cluster {health['status']})"
    )

"""Running and watching the server processes: subprocesses, pid files, the service user, the lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from aiqleads_dev.services.config import BOOTSTRAP_HINT, HOST, SERVICE_USER, TIMEOUT, services_dir


class ServiceError(RuntimeError):
    """A service could not be started, stopped or queried."""


@dataclass(frozen=True)
class ServiceStatus:
    """The state of one service as reported by ``status()``."""

    name: str
    running: bool
    address: str
    version: str

    def line(self) -> str:
        """Render the one-line status report."""
        state = "running" if self.running else "stopped"
        return f"{self.name:<14} {state:<8} {self.address:<16} {self.version}"


def say(message: str) -> None:
    """Print one progress line at once (the CLI's output is read live)."""
    print(message, flush=True)


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:]) or f"(empty log {path})"


def fail(message: str, log: Path | None = None) -> ServiceError:
    """A ServiceError carrying the last lines of the service's log."""
    if log is not None:
        message = f"{message}\n--- last lines of {log} ---\n{_tail(log)}"
    return ServiceError(message)


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # an exited daemon whose parent has not reaped it yet is a zombie: treat it as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def read_pid(pidfile: Path) -> int | None:
    """The pid in a pid file, or None."""
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def stop_pid(pid: int, name: str, timeout: float) -> None:
    """Wait for a stopping process to exit; kill it after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.2)
    say(f"{name}: did not stop within {timeout:.0f}s, killing pid {pid}")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def service_user() -> str | None:
    """Return the unprivileged user to run servers as when we are root, creating it if needed."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        say(f"services: creating system user {SERVICE_USER!r}")
        flags = "--system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin"
        subprocess.run(["useradd", *flags.split(), SERVICE_USER], check=True)
    return SERVICE_USER


def chown_tree(path: Path, user: str | None) -> None:
    """Give ``path`` (recursively) to ``user`` unless it already owns it."""
    if user is None:
        return
    info = pwd.getpwnam(user)
    if path.stat().st_uid != info.pw_uid:
        subprocess.run(["chown", "-R", f"{info.pw_uid}:{info.pw_gid}", str(path)], check=True)


def as_user(user: str | None, argv: Sequence[str], env: dict[str, str] | None = None) -> list[str]:
    """Prefix ``argv`` so it runs as ``user`` (when root) with ``env`` set explicitly."""
    assignments = [f"{k}={v}" for k, v in (env or {}).items()]
    if user is None:
        return ["env", *assignments, *argv] if assignments else list(argv)
    return ["runuser", "-u", user, "--", "env", *assignments, *argv]


def check_user_access(user: str | None, path: Path) -> None:
    """Fail early, with a fix, when the service user cannot write ``path``."""
    if user is None:
        return
    probe = subprocess.run(as_user(user, ["test", "-w", str(path)]), capture_output=True)
    if probe.returncode != 0:
        raise ServiceError(
            f"user {user!r} cannot write {path}: a parent directory is not traversable by other users. "
            "Set AIQ_SERVICES_DIR to a directory it can reach (e.g. /var/tmp/aiqleads-services)."
        )


def run(argv: Sequence[str], what: str, log: Path | None = None, timeout: float = TIMEOUT) -> str:
    """Run a command to completion and return its stdout; a failure is a ServiceError."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise fail(f"{what}: timed out after {timeout:.0f}s", log) from exc
    except FileNotFoundError as exc:
        raise fail(f"{what}: {exc.filename} not found; {BOOTSTRAP_HINT}", log) from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()
        raise fail(f"{what}: exit {done.returncode}: {detail}", log)
    return done.stdout


def wait(predicate: Callable[[], bool], what: str, log: Path | None, timeout: float = TIMEOUT) -> None:
    """Poll ``predicate`` until it holds; a ServiceError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise fail(f"{what}: not ready after {timeout:.0f}s", log)


@contextlib.contextmanager
def lock() -> Iterator[None]:
    """Serialize concurrent ``up``/``down`` calls on the same services directory."""
    services_dir().mkdir(parents=True, exist_ok=True)
    with (services_dir() / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

"""The local stack: moto + the stateful template + demo users + seed + `chalice local` + pump.

`LocalStack` is what `onetrip up`, the demo and the end-to-end tests share:

    with LocalStack.start(moto_port=free_port(), api_port=free_port()) as stack:
        requests.get(f"{stack.api_url}/v1/items",
                     headers={"Authorization": f"Bearer {stack.token('citizen-verified')}"})

Everything it starts listens on 127.0.0.1 and is stopped by pid on exit, also when the holder gets
SIGTERM or dies (infra/onetrip/lifetime.py). Local only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from infra.onetrip import moto_stack
from infra.onetrip import users as demo_users
from infra.onetrip.lifetime import SignalsAsInterrupt, held, spawn, stop_recorded_pid
from infra.onetrip.moto_stack import (
    DEFAULT_PORT,
    DEFAULT_STACK_NAME,
    FAKE_CREDENTIALS,
    REGION,
    endpoint_for,
    free_port,
    stop_process,
    wait_until,
)
from infra.onetrip.pump import OUTPUTS_ENV

INFRA_ROOT = Path(__file__).resolve().parents[2]  # the checkout holding infra/
PROJECT_ROOT = INFRA_ROOT
DEFAULT_API_PORT = 8000
STATE_DIR_NAME = ".onetrip"
STATE_FILE_NAME = "state.json"

__all__ = ["LocalStack", "app_env", "free_port", "read_state", "state_path", "stop_pid"]


def app_env(outputs: Mapping[str, str], api_port: int,
            extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment the app reads (names fixed with the app's config)."""
    env = {
        "ONETRIP_STAGE": "local",
        "ONETRIP_TABLE": outputs["TableName"],
        "ONETRIP_BUCKET": outputs["BucketName"],
        "ONETRIP_DELIVERY_QUEUE_URL": outputs["DeliveryQueueUrl"],
        "ONETRIP_KMS_KEY_ID": outputs["KeyId"],
        "ONETRIP_BLIND_INDEX_KEY_ID": outputs["BlindIndexKeyId"],
        "ONETRIP_USER_POOL_ID": outputs["UserPoolId"],
        "ONETRIP_JWKS_URL": outputs["JwksUrl"],
        "ONETRIP_ISSUER": outputs["Issuer"],
        "ONETRIP_AUDIENCES": f"{outputs['MobileClientId']},{outputs['MachineClientId']}",
        "ONETRIP_ALLOW_LOOPBACK_WEBHOOKS": "1",
        "ONETRIP_DELIVERY_BACKOFF": "1,2,4",  # seconds: local only, production backs off for days
        "ONETRIP_ALERTS_TOPIC_ARN": outputs.get("DeliveryAlertsTopicArn", ""),
        "ONETRIP_BREAKER_COOLDOWN": "3",  # seconds: on the scale of the local backoff above
        "ONETRIP_API_BASE_URL": f"http://127.0.0.1:{api_port}",
        "AWS_ENDPOINT_URL": outputs["EndpointUrl"],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "POWERTOOLS_SERVICE_NAME": "onetrip-api",
        "POWERTOOLS_METRICS_NAMESPACE": "OneTrip",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    env.update(extra_env or {})
    return env


def _process_env(app_environment: Mapping[str, str]) -> dict[str, str]:
    """os.environ without real AWS identity, plus the app environment."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                        "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")}
    env.update(app_environment)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(INFRA_ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextlib.contextmanager
def _patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _chalice_command() -> list[str]:
    beside = Path(sys.executable).with_name("chalice")
    found = str(beside) if beside.exists() else shutil.which("chalice")
    if not found:
        raise RuntimeError("the `chalice` command is not installed in this environment")
    return [found]


def _api_answers(url: str) -> bool:
    """Up = any HTTP answer below 500 (401/404 are fine: the API is serving)."""
    try:
        with urllib.request.urlopen(f"{url}/v1/items", timeout=2) as response:
            return response.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, ValueError):
        return False


def state_path(project_root: Path = PROJECT_ROOT) -> Path:
    return project_root / STATE_DIR_NAME / STATE_FILE_NAME


def read_state(project_root: Path = PROJECT_ROOT) -> dict[str, Any]:
    path = state_path(project_root)
    if not path.exists():
        raise FileNotFoundError(f"no local stack state at {path}: run `onetrip up` first")
    return json.loads(path.read_text(encoding="utf-8"))


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _settled_cmdline(pid: int, wait: float = 1.0) -> list[str] | None:
    """The command line of a process spawned a moment ago. Popen returns once exec has closed its pipe,
    but the kernel sets the new program's arguments up only after that: until then /proc shows an
    empty one, which would later read as "pid reused by another program". None if it stays empty."""
    deadline = time.monotonic() + wait
    while True:
        cmdline = _cmdline(pid)
        if cmdline or cmdline is None or time.monotonic() > deadline:
            return cmdline or None
        time.sleep(0.005)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    status = Path(f"/proc/{pid}/status")
    with contextlib.suppress(OSError):
        if "\nState:\tZ" in status.read_text():
            return False  # a zombie is already dead
    return True


def stop_pid(pid: int, expected_cmdline: list[str] | None = None, grace: float = 5.0) -> str:
    """SIGTERM a recorded pid, SIGKILL after `grace` s. Refuses a pid reused by another program."""
    if not _alive(pid):
        return "gone"
    current = _cmdline(pid)
    if expected_cmdline and current and current != expected_cmdline:
        return "skipped (pid now belongs to another process)"
    return stop_recorded_pid(pid, _alive, grace)


class LocalStack:
    """moto + template + users + seed + `chalice local` + the event pump, on 127.0.0.1."""

    def __init__(self, moto_port: int | None = DEFAULT_PORT, api_port: int | None = DEFAULT_API_PORT,
                 extra_env: Mapping[str, str] | None = None, *,
                 project_root: Path | str = PROJECT_ROOT, state_dir: Path | str | None = None,
                 detach: bool = False, stage: str = "local",
                 stack_name: str = DEFAULT_STACK_NAME, seed: bool = True,
                 seed_kwargs: Mapping[str, Any] | None = None,
                 demo_receivers: bool = False,
                 api_timeout: float = 60.0, record_state: bool = False,
                 supervisor: int | None = None) -> None:
        self.moto_port = moto_port or free_port()
        self.api_port = api_port or free_port()
        self.extra_env = dict(extra_env or {})
        self.project_root = Path(project_root).resolve()
        self.state_dir = Path(state_dir) if state_dir else self.project_root / STATE_DIR_NAME
        self.log_dir = self.state_dir / "logs"
        self.detach = detach
        self.stage = stage
        self.stack_name = stack_name
        self.run_seed = seed
        self.seed_kwargs = dict(seed_kwargs or {})
        self.demo_receivers = demo_receivers
        self.receiver_ports: dict[str, int] = {}
        self.api_timeout = api_timeout
        self.processes: dict[str, subprocess.Popen] = {}
        self.outputs: dict[str, str] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.seeded: dict[str, Any] = {}
        self.env: dict[str, str] = {}
        self._ready_file: Path | None = None
        # record_state: the state file is rewritten as each process is spawned (so `onetrip down` finds
        # them even if the starter dies half-way) and removed by stop().
        self.record_state = record_state
        self.supervisor = supervisor  # the foreground `onetrip up` pid, recorded first in the state file
        self._signals = SignalsAsInterrupt((signal.SIGTERM,))

    # ----------------------------------------------------------------- properties
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def moto_url(self) -> str:
        return endpoint_for(self.moto_port)

    def token(self, username: str) -> str:
        """A fresh access token for a demo user."""
        return demo_users.token(self.outputs, username)

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}-{self.api_port}.log"

    # ----------------------------------------------------------------- lifecycle
    @classmethod
    def start(cls, moto_port: int | None = DEFAULT_PORT, api_port: int | None = DEFAULT_API_PORT,
              extra_env: Mapping[str, str] | None = None, **options: Any) -> LocalStack:
        stack = cls(moto_port, api_port, extra_env, **options)
        try:
            stack._start()
        except BaseException:
            stack.stop()
            raise
        return stack

    def __enter__(self) -> LocalStack:
        if not self.processes:
            try:
                self._start()
            except BaseException:
                self.stop()
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start(self) -> None:
        # SIGTERM to the holder (a script, pytest) then runs the same stop as Ctrl-C; a holder that handles
        # SIGTERM itself (`onetrip up`) keeps its handler.
        self._signals.install(only_over_default=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with held():
            self.processes["moto"] = moto_stack.spawn_moto(
                self.moto_port, detach=self.detach, log_path=str(self.log_path("moto")))
        self._record()
        moto_stack.wait_for_moto(self.processes["moto"], self.moto_port)
        self.outputs = moto_stack.deploy(self.moto_url, self.stage, self.stack_name)
        self.users = demo_users.create_users(self.outputs)
        self.env = app_env(self.outputs, self.api_port, self.extra_env)
        if self.run_seed:
            from infra.onetrip import seed as seed_module

            if self.demo_receivers:
                # Ports first: the seeded endpoints must point at the receivers started below.
                self.receiver_ports = {d["code"]: free_port() for d in seed_module.load_catalogue()["departments"]}
                self.seed_kwargs["receiver_urls"] = {
                    code: f"http://127.0.0.1:{port}/webhooks/{code}" for code, port in self.receiver_ports.items()}
            # The seed may build the app's own adapters, which read the app environment.
            with _patched_environ(self.env):
                self.seeded = seed_module.seed(self.outputs, self.users, **self.seed_kwargs) or {}
        process_env = _process_env(self.env)
        ready_file = self._ready_file = self.state_dir / f"pump-ready-{self.api_port}"
        ready_file.unlink(missing_ok=True)
        self._spawn("api", _chalice_command() + [
            "local", "--no-autoreload", "--host", "127.0.0.1", "--port", str(self.api_port),
            "--stage", "local"], cwd=self.project_root, env=process_env)
        self._spawn("pump", [
            sys.executable, "-m", "infra.onetrip.pump", "--state-dir", str(self.state_dir),
            "--project-root", str(self.project_root), "--ready-file", str(ready_file)],
            cwd=INFRA_ROOT, env={**process_env, OUTPUTS_ENV: json.dumps(self.outputs)})
        wait_until(self._api_up, self.api_timeout, f"chalice local on {self.api_url}")
        if self.receiver_ports:
            from infra.onetrip.receivers import CONFIG_ENV

            config = {"api_url": self.api_url, "outputs": self.outputs, "departments": {
                code: {"port": port, "secret": self.seeded["departments"][code]["secret"]}
                for code, port in self.receiver_ports.items()}}
            self._spawn(
                "receivers", [sys.executable, "-m", "infra.onetrip.receivers"], cwd=INFRA_ROOT,
                env={**process_env, CONFIG_ENV: json.dumps(config)})
        # Writes made after start() returns must reach `dispatch`: wait for the stream position.
        wait_until(lambda: self._alive_and(ready_file.exists), self.api_timeout, "event pump")
        ready_file.unlink(missing_ok=True)
        self._record()  # complete: outputs, users, seeded

    def _spawn(self, name: str, command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
        with held(), open(self.log_path(name), "ab") as log_file:
            # Own session: Ctrl-C reaches only `onetrip up`, which then stops these in order. Unless
            # detached, each also exits when this process dies (lifetime.py).
            self.processes[name] = proc = spawn(command, outlive_parent=self.detach, cwd=cwd, env=env,
                                                stdin=subprocess.DEVNULL, stdout=log_file,
                                                stderr=subprocess.STDOUT)
        self._record()
        return proc

    def _record(self) -> None:
        if self.record_state:
            self.write_state()

    def _api_up(self) -> bool:
        return self._alive_and(lambda: _api_answers(self.api_url))

    def _alive_and(self, predicate: Callable[[], bool]) -> bool:
        self._check_alive()
        return predicate()

    def _check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                tail = _tail(self.log_path(name))
                raise RuntimeError(f"{name} exited with {proc.returncode}; log "
                                   f"{self.log_path(name)}:\n{tail}")

    def dead_processes(self) -> list[str]:
        return [name for name, proc in self.processes.items() if proc.poll() is not None]

    def stop(self) -> None:
        """Stop what this object started: pump, API, then moto (by pid). A SIGTERM arriving meanwhile
        is held until all are stopped."""
        try:
            with self._signals.stopping():
                for name in ("receivers", "pump", "api", "moto"):
                    proc = self.processes.pop(name, None)
                    if proc is not None:
                        stop_process(proc)
                if self._ready_file is not None:
                    self._ready_file.unlink(missing_ok=True)
                if self.record_state:
                    (self.state_dir / STATE_FILE_NAME).unlink(missing_ok=True)
        finally:
            self._signals.restore()

    # ----------------------------------------------------------------- state file
    def state(self) -> dict[str, Any]:
        return {
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "detached": self.detach,
            "project_root": str(self.project_root),
            "api_url": self.api_url,
            "moto_url": self.moto_url,
            "ports": {"moto": self.moto_port, "api": self.api_port},
            "processes": {
                **({"supervisor": {"pid": self.supervisor, "cmdline": _cmdline(self.supervisor)}}
                   if self.supervisor is not None else {}),
                **{name: {"pid": proc.pid, "cmdline": _settled_cmdline(proc.pid)}
                   for name, proc in self.processes.items()},
            },
            "logs": {name: str(self.log_path(name)) for name in self.processes},
            "outputs": self.outputs,
            "users": self.users,
            # Endpoint secrets stay with the receivers process; the state file only names the endpoints.
            "seeded": {**self.seeded, "departments": {
                code: {k: v for k, v in spec.items() if k != "secret"}
                for code, spec in self.seeded.get("departments", {}).items()}},
        }

    def write_state(self) -> Path:
        path = self.state_dir / STATE_FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        # Whole or not at all: `onetrip up`/`down` may read it while a start rewrites it.
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(self.state(), indent=2, default=str), encoding="utf-8")
        os.replace(partial, path)
        return path


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"

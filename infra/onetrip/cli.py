"""The `onetrip` admin command (local stack part): up, down, token, status.

    onetrip up [--port 4566] [--api-port 8000] [--detach]
    onetrip down
    onetrip token citizen-verified
    onetrip status

Installed into .venv as the `onetrip` console script (pyproject.toml); `python -m infra.onetrip` works too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

from infra.onetrip import (
    audit_cli,
    catalogue_cli,
    certificates_cli,
    deliveries_cli,
    departments_cli,
    deploy,
    operate,
    package,
    stats_cli,
)
from infra.onetrip.lifetime import SignalsAsInterrupt, checkpoint
from infra.onetrip.moto_stack import DEFAULT_PORT
from infra.onetrip.stack import (
    DEFAULT_API_PORT,
    PROJECT_ROOT,
    LocalStack,
    _alive,
    read_state,
    state_path,
    stop_pid,
)

# Stop order: the foreground supervisor first (it stops its own children), then the rest.
_STOP_ORDER = ("supervisor", "receivers", "pump", "api", "moto")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onetrip", description="OneTrip admin command")
    parser.add_argument("--project-root", type=Path, default=PROJECT_ROOT,
                        help=argparse.SUPPRESS)  # tests run a stub app from another directory
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the local stack (moto, template, users, API, pump)")
    up.add_argument("--port", type=int, default=DEFAULT_PORT, help="moto port (default 4566)")
    up.add_argument("--api-port", type=int, default=DEFAULT_API_PORT, help="API port (default 8000)")
    up.add_argument("--detach", action="store_true", help="return and leave the stack running")
    up.add_argument("--no-seed", action="store_true", help="skip infra.onetrip.seed.seed()")
    sub.add_parser("down", help="stop every process of the local stack")
    token = sub.add_parser("token", help="print a fresh access token for a demo user")
    token.add_argument("user", help="e.g. citizen-verified, agent, admin, dept-yq-tax")
    status = sub.add_parser("status", help="the local stack's state, or a deployed stage's stacks, queues, "
                                           "alarms and recent errors")
    status.add_argument("--stage", choices=("local", "dev", "prod"), default="local")
    deploy.add_aws_arguments(status)
    for module in (package, deploy, operate, catalogue_cli,  # deployment and operation: their own modules
                   departments_cli, deliveries_cli, audit_cli, stats_cli, certificates_cli):
        module.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "handler", None) is not None:
        return args.handler(args)
    if args.command == "status" and args.stage != "local":
        return operate.cmd_stage_status(args)
    return {"up": cmd_up, "down": cmd_down, "token": cmd_token, "status": cmd_status}[args.command](args)


# --------------------------------------------------------------------------- up

def cmd_up(args: argparse.Namespace) -> int:
    if state_path(args.project_root).exists():
        state = read_state(args.project_root)
        running = [n for n, p in state.get("processes", {}).items() if _alive(p["pid"])]
        if running:
            print(f"a local stack is already running ({', '.join(running)}): `onetrip down` first",
                  file=sys.stderr)
            return 1
        state_path(args.project_root).unlink()  # stale: its processes are gone
    # From here until the stack is stopped (or left running detached), SIGTERM and Ctrl-C raise
    # KeyboardInterrupt once: while starting, LocalStack.start stops what it started; later, the
    # `finally` below does. Either way the state file goes with the processes (lifetime.py).
    signals = SignalsAsInterrupt((signal.SIGTERM, signal.SIGINT))
    signals.install(only_over_default=False)
    print(f"starting moto on 127.0.0.1:{args.port}, API on 127.0.0.1:{args.api_port} ...",
          file=sys.stderr)
    try:
        # record_state: the state file names each process as soon as it is spawned, so that
        # `onetrip down` finds a detached stack whose `up` was killed half-way.
        stack = LocalStack.start(args.port, args.api_port, detach=args.detach,
                                 project_root=args.project_root, seed=not args.no_seed,
                                 demo_receivers=not args.no_seed, record_state=True,
                                 supervisor=None if args.detach else os.getpid())
    except (RuntimeError, TimeoutError) as exc:
        print(f"onetrip up failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return _interrupted(signals, "while starting; everything it started is stopped")
    rc, keep_running = 0, False
    try:
        print(f"API:   {stack.api_url}")
        print(f"moto:  {stack.moto_url}")
        print(f"logs:  {stack.log_dir}")
        for code, port in stack.receiver_ports.items():
            print(f"dept:  {code} receiver on http://127.0.0.1:{port}/webhooks/{code} (approves its tasks)")
        print("token: onetrip token citizen-verified   (also: citizen-unverified, agent, admin, dept-yq-tax, ...)")
        if args.detach:
            print("stop:  onetrip down")
            keep_running = True
            return 0
        print("Ctrl-C stops everything.")
        while True:
            dead = stack.dead_processes()
            if dead:
                print(f"{', '.join(dead)} exited; stopping the stack (logs in {stack.log_dir})",
                      file=sys.stderr)
                rc = 1
                break
            time.sleep(0.5)
            checkpoint()
    except KeyboardInterrupt:  # SIGTERM or Ctrl-C: the orderly stop below
        rc = _interrupted(signals, "before it returned; the stack is stopped") if args.detach else 0
    finally:
        if not keep_running:
            with contextlib.suppress(KeyboardInterrupt), signals.stopping():
                stack.stop()  # also removes the state file
            print("local stack stopped", file=sys.stderr)
    return rc


def _interrupted(signals: SignalsAsInterrupt, what: str) -> int:
    signum = signals.received or signal.SIGINT
    print(f"onetrip up: {signal.Signals(signum).name} {what}", file=sys.stderr)
    return 128 + signum


# --------------------------------------------------------------------------- down / token / status

def cmd_down(args: argparse.Namespace) -> int:
    path = state_path(args.project_root)
    if not path.exists():
        print("no local stack is recorded (nothing to stop)", file=sys.stderr)
        return 0
    state = read_state(args.project_root)
    processes = state.get("processes", {})
    for name in sorted(processes, key=lambda n: _STOP_ORDER.index(n) if n in _STOP_ORDER else 99):
        entry = processes[name]
        outcome = stop_pid(entry["pid"], entry.get("cmdline"))
        print(f"{name} (pid {entry['pid']}): {outcome}")
    if path.exists():
        path.unlink()
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from infra.onetrip import users as demo_users

    state = read_state(args.project_root)
    outputs = state["outputs"]
    if not outputs.get("EndpointUrl", "").startswith("http://127.0.0.1:"):
        print("tokens are minted for the local stage only", file=sys.stderr)
        return 2
    try:
        print(demo_users.token(outputs, args.user))
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    try:
        state = read_state(args.project_root)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    for entry in state.get("processes", {}).values():
        entry["alive"] = _alive(entry["pid"])
    print(json.dumps(state, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())


"""How the admin commands reach the API: `--api`/`--token` (or ONETRIP_API_URL/ONETRIP_TOKEN) for a
deployed stage; on the local stack, its URL and a fresh admin token from the stack's state."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import requests


def add_api_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", default=os.environ.get("ONETRIP_API_URL"), help="API base URL (default: local stack)")
    parser.add_argument("--token", default=os.environ.get("ONETRIP_TOKEN"),
                        help="admin access token (default: a local admin token)")


def call(args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None = None,
         params: dict[str, Any] | None = None) -> tuple[int, Any]:
    api, token = args.api, args.token
    if not api or not token:
        from infra.onetrip import users
        from infra.onetrip.stack import read_state

        state = read_state(args.project_root)
        api = api or state["api_url"]
        token = token or users.token(state["outputs"], "admin")
    resp = requests.request(method, f"{api.rstrip('/')}{path}", json=body, timeout=30,
                            params={k: v for k, v in (params or {}).items() if v is not None},
                            headers={"Authorization": f"Bearer {token}"})
    try:
        return resp.status_code, resp.json()
    except ValueError:
        return resp.status_code, resp.text


def show(status: int, answer: Any) -> int:
    print(json.dumps(answer, ensure_ascii=False, indent=2))
    if status >= 400:
        print(f"HTTP {status}", file=sys.stderr)
        return 1
    return 0

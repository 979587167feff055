"""`onetrip deliveries …`: the delivery log and replay through the admin API.

    onetrip deliveries list yq-amr [--status dead]
    onetrip deliveries show msg_…
    onetrip deliveries replay msg_…                                   # one delivery, same webhook-id
    onetrip deliveries replay --department yq-amr --since 2026-11-27T00:00:00+08:00 \\
        --until 2026-11-28T00:00:00+08:00 [--status dead]             # a time range
"""

from __future__ import annotations

import argparse
from typing import Any

from infra.onetrip.admin_api import add_api_arguments, call, show


def add_parsers(sub: Any) -> None:
    parser = sub.add_parser("deliveries", help="webhook delivery log and replay (admin API)")
    commands = parser.add_subparsers(dest="deliveries_command", required=True)
    listing = commands.add_parser("list", help="a department's deliveries, newest first")
    listing.add_argument("department")
    listing.add_argument("--status", help="in_flight, retrying, delivered, failed_permanently, dropped, dead")
    listing.add_argument("--limit", type=int, default=50)
    one = commands.add_parser("show", help="one delivery with every attempt")
    one.add_argument("webhook_id")
    replay = commands.add_parser("replay", help="send again: one webhook-id, or a department's time range")
    replay.add_argument("webhook_id", nargs="?")
    replay.add_argument("--department")
    replay.add_argument("--since")
    replay.add_argument("--until")
    replay.add_argument("--status")
    for p in (listing, one, replay):
        add_api_arguments(p)
        p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    command = args.deliveries_command
    if command == "list":
        return show(*call(args, "GET", "/v1/deliveries", params={"department": args.department,
                                                                  "status": args.status, "limit": args.limit}))
    if command == "show":
        return show(*call(args, "GET", f"/v1/deliveries/{args.webhook_id}"))
    if args.webhook_id:
        return show(*call(args, "POST", f"/v1/deliveries/{args.webhook_id}/replay"))
    if not (args.department and args.since and args.until):
        print("give a webhook id, or --department, --since and --until")
        return 2
    return show(*call(args, "POST", "/v1/replays", {"department": args.department, "since": args.since,
                                                    "until": args.until, "status": args.status}))

"""`onetrip departments …`: the department registry through the admin API.

    onetrip departments list
    onetrip departments show yq-amr
    onetrip departments add yq-amr --name-zh 乐清市市场监督管理局 --name-en "Yueqing AMR" \\
        [--contact duty@amr.example.gov.cn] [--contact-phone +8657761234567] [--office CODE:名称:Name ...]
    onetrip departments add-endpoint yq-amr https://amr.example.gov.cn/onetrip \\
        --events onetrip.task.assigned,onetrip.case.decided [--items YQ-AMR-0001] [--ed25519]
    onetrip departments verify yq-amr ep_…
    onetrip departments rotate yq-amr ep_… [--grace-seconds 86400]
    onetrip departments disable yq-amr ep_…

The secret of a new endpoint (and of a rotation) is printed once; it is kept only encrypted.
"""

from __future__ import annotations

import argparse
from typing import Any

from infra.onetrip.admin_api import add_api_arguments, call, show


def add_parsers(sub: Any) -> None:
    parser = sub.add_parser("departments", help="departments, town offices and webhook endpoints (admin API)")
    commands = parser.add_subparsers(dest="departments_command", required=True)
    listing = commands.add_parser("list", help="every department")
    one = commands.add_parser("show", help="a department with its offices and endpoints")
    one.add_argument("code")
    add = commands.add_parser("add", help="register or replace a department")
    add.add_argument("code")
    add.add_argument("--name-zh", required=True)
    add.add_argument("--name-en", required=True)
    add.add_argument("--contact", help="duty mailbox told about exhausted deliveries")
    add.add_argument("--contact-phone", help="duty line (E.164) told by SMS about exhausted deliveries")
    add.add_argument("--office", action="append", default=[], metavar="CODE:名称:Name",
                     help="a town office (repeatable)")
    endpoint = commands.add_parser("add-endpoint", help="register an endpoint (pending until verified)")
    endpoint.add_argument("code")
    endpoint.add_argument("url")
    endpoint.add_argument("--events", default="onetrip.task.assigned,onetrip.case.decided")
    endpoint.add_argument("--items", default="", help="comma-separated item codes (default: all)")
    endpoint.add_argument("--ed25519", action="store_true", help="also sign with v1a (ed25519)")
    actions = []
    for name, text in (("verify", "send the signed verification event again"),
                       ("rotate", "rotate the signing secret"), ("disable", "stop sending to an endpoint")):
        action = commands.add_parser(name, help=text)
        action.add_argument("code")
        action.add_argument("endpoint_id")
        actions.append(action)
    actions[1].add_argument("--grace-seconds", type=int, default=86400)
    for p in (listing, one, add, endpoint, *actions):
        add_api_arguments(p)
        p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    command = args.departments_command
    if command == "list":
        return show(*call(args, "GET", "/v1/departments", params={"limit": 100}))
    if command == "show":
        return show(*call(args, "GET", f"/v1/departments/{args.code}"))
    if command == "add":
        offices = []
        for raw in args.office:
            code, name_zh, name_en = (raw.split(":", 2) + ["", ""])[:3]
            offices.append({"code": code, "name_zh": name_zh, "name_en": name_en or name_zh})
        body = {"code": args.code, "name_zh": args.name_zh, "name_en": args.name_en, "offices": offices}
        if args.contact:
            body["contact_email"] = args.contact
        if args.contact_phone:
            body["contact_phone"] = args.contact_phone
        return show(*call(args, "POST", "/v1/departments", body))
    if command == "add-endpoint":
        body = {"department": args.code, "url": args.url, "ed25519": args.ed25519,
                "event_types": [e for e in args.events.split(",") if e],
                "item_codes": [i for i in args.items.split(",") if i]}
        return show(*call(args, "POST", "/v1/endpoints", body))
    base = f"/v1/departments/{args.code}/endpoints/{args.endpoint_id}"
    if command == "verify":
        return show(*call(args, "POST", f"{base}/verification"))
    if command == "rotate":
        return show(*call(args, "POST", f"{base}/rotation", params={"grace_seconds": args.grace_seconds}))
    return show(*call(args, "POST", f"{base}/disable"))

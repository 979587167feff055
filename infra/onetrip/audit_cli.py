"""`onetrip audit verify <application_id>`: check a case's audit hash chain, straight from the table.

    onetrip audit verify app_…            # exit 0: intact; 1: broken (the first broken seq and why); 2: no such case
    onetrip audit verify app_… --entries  # and print every entry

It reads the running local stack's table (like `onetrip catalogue import`) and recomputes every hash
itself: it does not take the API's word for it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from chalicelib.domain.errors import NotFound


def add_parsers(sub: Any) -> None:
    parser = sub.add_parser("audit", help="a case's audit trail (hash chain)")
    commands = parser.add_subparsers(dest="audit_command", required=True)
    verify = commands.add_parser("verify", help="verify a case's hash chain; exit 1 when it is broken")
    verify.add_argument("application_id")
    verify.add_argument("--entries", action="store_true", help="print every entry too")
    verify.set_defaults(handler=cmd_verify)


def cmd_verify(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None,
               store: Any = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    from chalicelib.services.audit import read_trail
    from infra.onetrip.catalogue_cli import _store

    try:
        trail = read_trail(store or _store(args), args.application_id)
    except NotFound as exc:
        print(f"{exc.code}: {exc.message_zh} | {exc.message_en}", file=err)
        return 2
    if args.entries:
        for e in trail.entries:
            print(json.dumps(e.model_dump(mode="json"), ensure_ascii=False), file=out)
    result = trail.verification
    if result.ok:
        print(f"{args.application_id}: {result.entries} entries, chain intact, head {result.head_hash}", file=out)
        return 0
    print(f"{args.application_id}: chain broken at seq {result.broken_seq} ({result.code}): "
          f"{result.message_zh} | {result.message_en}", file=err)
    return 1

"""`onetrip certificates …`: the e-certificate registry (电子证照) through the admin API.

    onetrip certificates register --type 营业执照 --number 92330382MA2XXXXXX1 --issuer yq-amr \\
        (--holder-id-number 11010519491231002X | --holder-credit-code 91330382MA2AB1C2DG) \\
        (--sha256 HEX | --document licence.pdf) [--issued-on 2026-01-05] [--valid-until 2046-01-04] \\
        [--signature BASE64 --signature-algorithm SM2-with-SM3|Ed25519]
    onetrip certificates show crt_…
    onetrip certificates revoke crt_… --reason "营业执照已注销 (business deregistered)"
    onetrip certificates signed-bytes <the register options but the signature> [--out signed.bin]

`signed-bytes` prints, offline, the exact bytes an issuer signs for a registration (README: Signed
certificates), e.g. for `openssl pkeyutl -sign -inkey sm2.pem -rawin -digest sm3 -in signed.bin`.

For certificates a department issued outside the bus; the holder's number is sent once over TLS and
kept only as its blind index and masked form. A revocation (注销/吊销) happens once; its reason is
shown to the holder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from chalicelib.domain.certificate_signatures import registration_message
from chalicelib.domain.certificates import REVOCATION_REASON_MAX
from chalicelib.domain.errors import Problem, ValidationFailed
from infra.onetrip.admin_api import add_api_arguments, call, show


def _certificate_arguments(parser: Any) -> None:
    """What a registration says about the certificate (and what its signature covers)."""
    parser.add_argument("--type", required=True, help="the type material specs name, e.g. 营业执照")
    parser.add_argument("--number", required=True, help="the certificate's number")
    parser.add_argument("--issuer", required=True, help="the issuing department's code")
    holder = parser.add_mutually_exclusive_group(required=True)
    holder.add_argument("--holder-id-number", help="a person holder's ID number")
    holder.add_argument("--holder-credit-code", help="an enterprise holder's unified social credit code")
    digest = parser.add_mutually_exclusive_group(required=True)
    digest.add_argument("--sha256", help="the issuer's SHA-256 of the document (hex)")
    digest.add_argument("--document", type=Path, help="the document itself: its SHA-256 is sent, not the file")
    parser.add_argument("--issued-on", help="YYYY-MM-DD")
    parser.add_argument("--valid-until", help="YYYY-MM-DD (default: valid until revoked)")


def add_parsers(sub: Any) -> None:
    parser = sub.add_parser("certificates", help="the e-certificate registry (admin API)")
    commands = parser.add_subparsers(dest="certificates_command", required=True)
    register = commands.add_parser("register", help="register a certificate issued outside the bus")
    _certificate_arguments(register)
    register.add_argument("--signature", help="the issuer's signature, base64")
    register.add_argument("--signature-algorithm", help="SM2-with-SM3 or Ed25519 (README: Signed certificates)")
    one = commands.add_parser("show", help="one registered certificate")
    one.add_argument("certificate_id")
    revocation = commands.add_parser("revoke", help="revoke a certificate (注销/吊销), once, with a reason")
    revocation.add_argument("certificate_id")
    revocation.add_argument("--reason", required=True,
                            help=f"why, shown to the holder (1–{REVOCATION_REASON_MAX} characters)")
    for p in (register, one, revocation):
        add_api_arguments(p)
        p.set_defaults(handler=run)
    signed = commands.add_parser("signed-bytes", help="the exact bytes the issuer signs (offline, no API call)")
    _certificate_arguments(signed)
    signed.add_argument("--out", type=Path, help="write them to this file (default: standard output)")
    signed.set_defaults(handler=write_signed_bytes)


def _document_sha256(args: argparse.Namespace) -> str:
    return args.sha256.lower() if args.sha256 else hashlib.sha256(args.document.read_bytes()).hexdigest()


def write_signed_bytes(args: argparse.Namespace) -> int:
    """The registration's signed bytes, built by the very function the registry checks them with."""
    problems, days = [], []
    for option, value in (("--issued-on", args.issued_on), ("--valid-until", args.valid_until)):
        try:
            days.append(date.fromisoformat(value) if value else None)
        except ValueError:
            problems.append(f"{option} {value} is not a date (YYYY-MM-DD)")
    try:
        sha256 = _document_sha256(args)
    except OSError as exc:
        problems.append(f"--document: {exc}")
    if problems:  # every one at once, and nothing written
        print("\n".join(f"onetrip certificates signed-bytes: {p}" for p in problems), file=sys.stderr)
        return 2
    message = registration_message(issuer=args.issuer, type_=args.type, number=args.number,
                                   holder_id_number=args.holder_id_number, holder_credit_code=args.holder_credit_code,
                                   issued_on=days[0], valid_until=days[1], document_sha256=sha256)
    if args.out:
        args.out.write_bytes(message)
    else:
        sys.stdout.buffer.write(message)
        sys.stdout.flush()
    return 0


def registration_body(args: argparse.Namespace) -> dict[str, Any]:
    sha256 = _document_sha256(args)
    body: dict[str, Any] = {"type": args.type, "number": args.number, "issuer": args.issuer,
                            "document_sha256": sha256}
    optional = {"holder_id_number": args.holder_id_number, "holder_credit_code": args.holder_credit_code,
                "issued_on": args.issued_on, "valid_until": args.valid_until, "signature": args.signature,
                "signature_algorithm": args.signature_algorithm}
    body.update({k: v for k, v in optional.items() if v})
    return body


def reason_problems(reason: str) -> list[Problem]:
    """What the API would refuse in a revocation reason (it strips it, then wants 1 to
    REVOCATION_REASON_MAX characters), under the API's own code, so a bad reason costs no request."""
    reason = reason.strip()
    if not reason:
        return [Problem("revocation_reason_invalid", "须填写注销或吊销理由",
                        "A reason is required (it is shown to the holder)", "reason",
                        {"max_length": REVOCATION_REASON_MAX})]
    if len(reason) > REVOCATION_REASON_MAX:
        return [Problem("revocation_reason_invalid",
                        f"理由过长：{len(reason)} 字，最多 {REVOCATION_REASON_MAX} 字",
                        f"The reason is {len(reason)} characters long; at most {REVOCATION_REASON_MAX}",
                        "reason", {"max_length": REVOCATION_REASON_MAX, "length": len(reason)})]
    return []


def revoke(args: argparse.Namespace) -> int:
    problems = reason_problems(args.reason)
    if problems:
        # The shape the API answers with, so a script reads one format; exit 2 says nothing was sent.
        print(json.dumps(ValidationFailed(problems=problems).to_dict(), ensure_ascii=False, indent=2))
        print("refused locally: no request was sent", file=sys.stderr)
        return 2
    # Quoted whole: an id with "/" stays one path segment instead of reaching another route.
    path = f"/v1/certificates/{quote(args.certificate_id, safe='')}/revocation"
    return show(*call(args, "POST", path, {"reason": args.reason.strip()}))


def run(args: argparse.Namespace) -> int:
    if args.certificates_command == "show":
        return show(*call(args, "GET", f"/v1/certificates/{args.certificate_id}"))
    if args.certificates_command == "revoke":
        return revoke(args)
    try:
        body = registration_body(args)
    except OSError as exc:
        print(f"cannot read the document: {exc}", file=sys.stderr)
        return 2
    return show(*call(args, "POST", "/v1/certificates", body))

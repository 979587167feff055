"""`onetrip audit verify`: exit 0 on an intact chain, 1 with the first broken seq, 2 for no such case."""

from __future__ import annotations

import io
from datetime import timedelta

from chalicelib.domain.events import DomainEvent
from chalicelib.domain.ids import new_id
from infra.onetrip import audit_cli, cli
from tests.fakes import fake_deps
from tests.unit.catalogue_samples import FRIDAY, citizen, ready_application, single_item


def trail(length: int = 3):
    deps = fake_deps()
    app = ready_application(single_item())
    deps.store.create_application(app)
    for n in range(length):  # one change per event, each recording its event in the trail
        current = deps.store.get_application(app.id)
        deps.store.save_application_with_events(current, current.version, [DomainEvent.raised(
            "onetrip.case.accepted", FRIDAY + timedelta(seconds=n), application_id=app.id, subject="cases/x",
            recipients=[], actor=citizen().actor(), data={"item_code": "T-SINGLE", "item_version": 1, "n": n})])
    return deps.store, app.id


def run(argv, store):
    args = cli._parser().parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    return args.handler(args, out, err, store=store), out.getvalue(), err.getvalue()


def test_the_command_is_registered():
    args = cli._parser().parse_args(["audit", "verify", "app_x", "--entries"])
    assert args.handler is audit_cli.cmd_verify and args.entries


def test_an_intact_chain_exits_0():
    store, app_id = trail()
    code, out, _ = run(["audit", "verify", app_id], store)
    assert code == 0 and "3 entries, chain intact" in out


def test_a_broken_chain_exits_1_naming_the_seq_and_why():
    store, app_id = trail()
    chain = store._case_tables()["entries"][app_id]
    chain[2] = chain[2].model_copy(update={"type": "onetrip.case.decided"})
    code, _, err = run(["audit", "verify", app_id], store)
    assert code == 1 and "seq 2" in err and "audit_entry_modified" in err and "modified" in err


def test_entries_are_printed_on_request():
    store, app_id = trail(2)
    code, out, _ = run(["audit", "verify", app_id, "--entries"], store)
    assert code == 0 and out.count('"seq"') == 2


def test_an_unknown_case_exits_2():
    store, _ = trail(1)
    code, _, err = run(["audit", "verify", new_id("app_")], store)
    assert code == 2 and "application_not_found" in err

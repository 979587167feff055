"""Cold start: what a fresh sandbox does before its first answer, and what it leaves for later.

Importing app.py builds no pydantic validator it does not need (every model defers its build to its
first use), wiring the dependencies imports neither the AWS SDK nor the file-check sandbox, and every
AWS client of a process comes from one botocore session (a session per client parsed the SDK's data
files again for each).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import botocore.session
import pytest

from chalicelib.adapters import aws

ROOT = Path(__file__).resolve().parents[2]

# Nothing is built while importing (the default notification texts are plain strings since issue 9).
BUILT_AT_IMPORT: set[str] = set()


def run_fresh(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                            timeout=120)
    return result.stdout.strip().splitlines()[-1]


def test_importing_the_app_builds_only_the_models_it_instantiates():
    code = ("import json\nfrom pydantic import BaseModel\nimport app\n"
            "def walk(cls):\n"
            "    for sub in cls.__subclasses__():\n"
            "        yield sub\n"
            "        yield from walk(sub)\n"
            "models = [m for m in walk(BaseModel) if m.__module__.startswith('chalicelib')]\n"
            "print(json.dumps({'models': len(models), 'built': sorted(f'{m.__module__}.{m.__qualname__}' "
            "for m in models if m.__pydantic_complete__)}))")
    seen = json.loads(run_fresh(code))
    assert seen["models"] >= 2  # the walk finds the app's models (the principal, the settings)
    assert set(seen["built"]) <= BUILT_AT_IMPORT


def test_importing_the_app_defines_no_route_schema_until_a_route_needs_it():
    """A route names its body and response models through a function (`body=lambda: schemas.X`), so
    registering the routes defines none of their ~120 model classes; the first request that needs one
    imports its module."""
    code = ("import json\nfrom pydantic import BaseModel\nimport app\n"
            "def walk(cls):\n"
            "    for sub in cls.__subclasses__():\n"
            "        yield sub\n"
            "        yield from walk(sub)\n"
            "before = sorted(m.__module__ for m in walk(BaseModel) if m.__module__.startswith('chalicelib'))\n"
            "from chalicelib.entrypoints.http import ROUTES\n"
            "bodies = {r.path: r.body.__name__ for r in ROUTES if r.method == 'POST' and r.body is not None}\n"
            "print(json.dumps({'before': before, 'submit': bodies.get('/v1/applications')}))")
    seen = json.loads(run_fresh(code))
    assert set(seen["before"]) <= {"chalicelib.domain.principals", "chalicelib.config"}
    assert seen["submit"] == "CreateApplication"  # resolving a route's model imports its module


def test_importing_the_app_leaves_services_adapters_and_ports_for_the_first_event():
    """Every function imports app.py; what only some handlers use is imported by the handler's first call
    (`chalicelib.lazy.deferred`), so a function pays for its own services, not for every route's."""
    code = ("import json, sys\nimport app\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('chalicelib'))))")
    loaded = set(json.loads(run_fresh(code)))
    assert "chalicelib.entrypoints.api_applications" in loaded  # the routes are registered
    assert not {m for m in loaded if m.startswith(("chalicelib.services", "chalicelib.adapters"))}
    assert not loaded & {"chalicelib.ports", "chalicelib.domain.notifications", "chalicelib.domain.deliveries",
                         "chalicelib.domain.statistics", "chalicelib.domain.certificates"}


def test_a_handler_imports_its_service_on_first_use_and_answers():
    code = ("import sys\nimport app\nfrom chalice.test import Client\n"
            "before = 'chalicelib.services.catalogue' in sys.modules\n"
            "from chalicelib.bootstrap import override\n"
            "from tests.fakes import fake_deps\n"
            "override(fake_deps())\n"
            "with Client(app.app) as client:\n"
            "    status = client.http.get('/v1/items?limit=1').status_code\n"
            "print(before, 'chalicelib.services.catalogue' in sys.modules, status)")
    assert run_fresh(code) == "False True 200"


def test_a_deferred_model_validates_and_dumps_on_first_use_as_before():
    code = ("from chalicelib.domain.principals import Principal\n"
            "assert not Principal.__pydantic_complete__\n"
            "p = Principal.model_validate({'sub': 's', 'kind': 'citizen'})\n"
            "print(Principal.__pydantic_complete__, p.model_dump(mode='json')['kind'])")
    assert run_fresh(code) == "True citizen"


def test_wiring_the_dependencies_imports_neither_the_sdk_nor_the_sandbox():
    code = ("import sys\nimport app\nfrom chalicelib.bootstrap import build_deps\nfrom chalicelib.config import Settings\n"
            "build_deps(Settings(), make_client=lambda name: object())\n"
            "print(','.join(m for m in ('boto3', 'botocore.session', 'chalicelib.adapters.sandbox', 'ctypes') "
            "if m in sys.modules) or '-')")
    assert run_fresh(code) == "-"


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[botocore.session.Session]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    created: list[botocore.session.Session] = []

    class Counted(botocore.session.Session):
        def __init__(self) -> None:
            super().__init__()
            created.append(self)

    monkeypatch.setattr(botocore.session, "Session", Counted)
    return created


def test_one_session_builds_every_client_of_a_process(sessions: list[botocore.session.Session]):
    clients = aws._Clients()
    sqs, sns = clients("sqs"), clients("sns")
    assert clients("sqs") is sqs and clients("sns") is sns
    assert len(sessions) == 1
    assert (sqs.meta.service_model.service_name, sns.meta.service_model.service_name) == ("sqs", "sns")


def test_clearing_the_cache_starts_a_new_session_for_new_settings(sessions: list[botocore.session.Session]):
    clients = aws._Clients()
    first = clients("sqs")
    clients.cache_clear()
    assert clients("sqs") is not first
    assert len(sessions) == 2


def test_every_client_keeps_the_retry_and_timeout_budget(sessions: list[botocore.session.Session],
                                                         monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    clients = aws._Clients()
    for service in ("dynamodb", "s3"):
        config = clients(service).meta.config
        # botocore stores `max_attempts` (retries) as `total_max_attempts` (the first call included)
        assert (config.retries, config.connect_timeout, config.read_timeout) == (
            {"mode": "standard", "total_max_attempts": 5}, 3, 10)
    s3 = clients("s3").meta.config
    assert (s3.s3, s3.signature_version) == ({"addressing_style": "path"}, "s3v4")

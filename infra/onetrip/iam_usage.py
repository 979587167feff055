"""Which IAM actions each Lambda function's code can use, derived from the code, against its policy file.

Static, over `chalicelib/`: from each function's handlers (the routes' views for `api_handler`, the
event source's handler otherwise, plus the middleware) follow calls through the services to the
adapters, resolving a port (`deps.store`, `store`, `deps.require("notifier")`, `self._store`) to the
adapter class the composition root wires for it, then collect every boto3 operation those adapter
methods call and map it to the IAM actions that authorize it. Add what the platform does with the
function's role: its log stream, the SQS or stream trigger's polling, the stream's on-failure queue.

`python -m infra.onetrip.iam_usage` prints each function's actions (with where each is used) and
what its policy lacks or grants in vain; tests/deploy/test_iam_policies_match_code.py fails on either.
"""

from __future__ import annotations

import ast
import inspect
import json
import sys
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "chalicelib"
SERVICES = ("dynamodb", "s3", "sqs", "sns", "kms", "cognito-idp", "secretsmanager")

# Operations authorized by other actions than their own name.
# DynamoDB transactions are authorized per item by PutItem/UpdateItem/DeleteItem/ConditionCheckItem
# (GetItem for TransactGetItems): those come from the items' dict keys (TRANSACTION_ITEM_ACTIONS).
SPECIAL_OPERATIONS: dict[tuple[str, str], frozenset[str]] = {
    ("dynamodb", "TransactWriteItems"): frozenset(),
    ("dynamodb", "TransactGetItems"): frozenset(),
    ("sqs", "SendMessageBatch"): frozenset({"sqs:SendMessage"}),
    ("sqs", "DeleteMessageBatch"): frozenset({"sqs:DeleteMessage"}),
    ("sqs", "ChangeMessageVisibilityBatch"): frozenset({"sqs:ChangeMessageVisibility"}),
    ("s3", "CopyObject"): frozenset({"s3:GetObject", "s3:PutObject"}),
    ("s3", "HeadObject"): frozenset({"s3:GetObject"}),
}
TRANSACTION_ITEM_ACTIONS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem",
                            "ConditionCheck": "dynamodb:ConditionCheckItem", "Get": "dynamodb:GetItem"}
# The materials bucket encrypts with SSE-KMS (infra/template.yaml): whoever reads an object needs
# kms:Decrypt, whoever writes one (or signs an upload) kms:GenerateDataKey, on the bucket's key.
SSE_KMS: dict[str, frozenset[str]] = {"s3:GetObject": frozenset({"kms:Decrypt"}),
                                      "s3:PutObject": frozenset({"kms:GenerateDataKey"})}
# Presigned requests are made by the client with the signer's permissions.
PRESIGNING = {"generate_presigned_post": "s3:PutObject"}

LOGS = frozenset({"logs:CreateLogStream", "logs:PutLogEvents"})
SQS_TRIGGER = frozenset({"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"})
STREAM_TRIGGER = frozenset({"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                            "dynamodb:ListStreams"})


@dataclass(frozen=True)
class Use:
    action: str
    where: str  # "chalicelib/adapters/s3.py:98 copy_object" or "platform: SQS trigger"


@dataclass
class FunctionUsage:
    name: str
    uses: list[Use] = field(default_factory=list)

    @property
    def actions(self) -> set[str]:
        return {u.action for u in self.uses}


# --------------------------------------------------------------------------- the code index

@dataclass
class _Fn:
    module: str
    qualname: str
    node: ast.FunctionDef | ast.AsyncFunctionDef
    cls: str | None


class CodeIndex:
    """Top-level functions and class methods of every module under chalicelib, with their imports."""

    def __init__(self, root: Path = PROJECT_ROOT) -> None:
        self.root = root
        self.fns: dict[tuple[str, str], _Fn] = {}
        self.imports: dict[str, dict[str, tuple[str, str | None]]] = {}
        self.paths: dict[str, Path] = {}
        # Module-level values (`PROJECTIONS = [project_statistics, ...]`): functions registered as data.
        self.globals: dict[tuple[str, str], ast.expr] = {}
        for path in sorted((root / PACKAGE).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            self.paths[module] = path
            self._index(module, ast.parse(path.read_text(encoding="utf-8")), path.name == "__init__.py")

    def _index(self, module: str, tree: ast.Module, is_package: bool) -> None:
        imports: dict[str, tuple[str, str | None]] = {}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.fns[(module, node.name)] = _Fn(module, node.name, node, None)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if isinstance(target, ast.Name):
                        self.globals[(module, target.id)] = node.value
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self.fns[(module, f"{node.name}.{item.name}")] = _Fn(module, f"{node.name}.{item.name}",
                                                                              item, node.name)
        for imp in ast.walk(tree):  # also the lazy imports inside functions (cold start)
            if isinstance(imp, ast.ImportFrom):
                base = self._absolute(module, imp.module, imp.level, is_package)
                for alias in imp.names:
                    dotted = f"{base}.{alias.name}"
                    if dotted in self.paths or (self.root / Path(*dotted.split("."))).with_suffix(".py").exists():
                        imports[alias.asname or alias.name] = (dotted, None)
                    else:
                        imports[alias.asname or alias.name] = (base, alias.name)
            elif isinstance(imp, ast.Import):
                for alias in imp.names:
                    imports[alias.asname or alias.name] = (alias.name, None)
        self.imports[module] = imports

    @staticmethod
    def _absolute(module: str, name: str | None, level: int, is_package: bool) -> str:
        if level == 0:
            return name or ""
        parts = module.split(".")
        base = parts if is_package else parts[:-1]
        base = base[: len(base) - (level - 1)]
        return ".".join([*base, *([name] if name else [])])


# --------------------------------------------------------------------------- runtime facts

def _boto_operations() -> dict[str, tuple[str, str]]:
    """boto3 method name -> (IAM prefix, operation name), over the services the app uses."""
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    out: dict[str, tuple[str, str]] = {}
    clash: set[str] = set()
    for service in SERVICES:
        model = session.get_service_model(service)
        prefix = model.signing_name if service != "cognito-idp" else "cognito-idp"
        for operation in model.operation_names:
            method = xform_name(operation)
            if method in out and out[method][0] != prefix:
                clash.add(method)
            out[method] = (prefix, operation)
    for method in clash:  # ambiguous without the receiver's type; none of them is used here
        del out[method]
    return out


def _adapter_classes() -> list[type]:
    import importlib
    import pkgutil

    import chalicelib.adapters as adapters

    classes: list[type] = []
    for info in pkgutil.iter_modules(adapters.__path__):
        module = importlib.import_module(f"chalicelib.adapters.{info.name}")
        classes += [c for _, c in inspect.getmembers(module, inspect.isclass) if c.__module__ == module.__name__]
    import chalicelib.bootstrap as bootstrap

    classes += [c for _, c in inspect.getmembers(bootstrap, inspect.isclass) if c.__module__ == bootstrap.__name__]
    return classes


def _wired_classes() -> dict[str, set[type]]:
    """Deps field -> the adapter classes the composition root puts there (every variant of the wiring)."""
    from chalicelib.bootstrap import build_deps
    from chalicelib.config import Settings
    from chalicelib.services.deps import Deps

    dummy: dict[str, Any] = {}
    for name, info in Settings.model_fields.items():
        if info.annotation is str and info.default == "":
            dummy[name] = ("arn:aws-cn:sns:cn-north-1:000000000000:onetrip" if name.endswith("_arn")
                           else "https://example.invalid/service" if name.endswith("_url") else "configured")
    dummy["identity_verifier_ca_bundle"] = ""
    wired: dict[str, set[type]] = {}
    parts: dict[str, set[type]] = {}
    for variant in ({"identity_verifier": "https"}, {"identity_verifier": "reference"}):
        settings = Settings(**{**dummy, **variant, "stage": "iam-analysis"})
        deps = build_deps(settings, make_client=lambda _service: None)
        for name in Deps.__dataclass_fields__:
            value = getattr(deps, name)
            if value is None or inspect.isroutine(value) or isinstance(value, Settings):
                continue
            if type(value).__module__.startswith(PACKAGE + "."):
                wired.setdefault(name, set()).add(type(value))
                # An adapter built from another adapter (the identity verifier's token source): the
                # attribute's name resolves like a port (`self._token_source.token()`).
                for attribute, part in vars(value).items():
                    if type(part).__module__.startswith(f"{PACKAGE}.adapters."):
                        parts.setdefault(attribute.lstrip("_"), set()).add(type(part))
    for name, classes in parts.items():
        if name not in Deps.__dataclass_fields__:
            wired.setdefault(name, set()).update(classes)
    # A port no variant wires (its setting unknown here): every adapter class that implements the protocol.
    hints = typing.get_type_hints(Deps)
    for name, hint in hints.items():
        if name in wired:
            continue
        protocols = [a for a in typing.get_args(hint) or (hint,) if getattr(a, "_is_protocol", False)]
        for protocol in protocols:
            members = {m for m in vars(protocol) if not m.startswith("_")}
            wired.setdefault(name, set()).update(
                c for c in _adapter_classes() if members and all(hasattr(c, m) for m in members))
    return wired


# --------------------------------------------------------------------------- the analysis

class Analysis:
    def __init__(self, root: Path = PROJECT_ROOT) -> None:
        self.index = CodeIndex(root)
        self.operations = _boto_operations()
        self.classes = _adapter_classes()
        self.wired = _wired_classes()
        self._edges: dict[tuple[str, str], tuple[set[tuple[str, str]], list[Use]]] = {}

    # -- resolution helpers ------------------------------------------------------------------------
    def _method_of(self, cls: type, method: str) -> tuple[str, str] | None:
        for klass in cls.__mro__:
            if method in vars(klass) and (klass.__module__, f"{klass.__qualname__}.{method}") in self.index.fns:
                return klass.__module__, f"{klass.__qualname__}.{method}"
        return None

    def _class_named(self, module: str, name: str) -> type | None:
        for cls in self.classes:
            if cls.__module__ == module and cls.__qualname__ == name:
                return cls
        return None

    def _self_targets(self, fn: _Fn, method: str) -> set[tuple[str, str]]:
        """`self.method` inside class C: C's own resolution and that of every class built on C (mixins)."""
        owner = self._class_named(fn.module, fn.cls or "")
        if owner is None:
            key = (fn.module, f"{fn.cls}.{method}")
            return {key} if key in self.index.fns else set()
        targets = set()
        for cls in self.classes:
            if owner in cls.__mro__:
                found = self._method_of(cls, method)
                if found:
                    targets.add(found)
        return targets

    def _port_field(self, receiver: ast.expr) -> str | None:
        """The Deps field a receiver expression stands for: `deps.store`, `store`, `self._store`,
        `deps().store`, `deps.require("notifier")`."""
        if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute) and \
                receiver.func.attr == "require" and receiver.args and isinstance(receiver.args[0], ast.Constant):
            name = str(receiver.args[0].value)
        elif isinstance(receiver, ast.Attribute):
            name = receiver.attr
        elif isinstance(receiver, ast.Name):
            name = receiver.id
        else:
            return None
        name = name.lstrip("_")
        return name if name in self.wired else None

    def _resolve_name(self, module: str, name: str) -> tuple[str, str] | None:
        if (module, name) in self.index.fns:
            return module, name
        target = self.index.imports.get(module, {}).get(name)
        if target and target[1] and (target[0], target[1]) in self.index.fns:
            return target[0], target[1]
        return None

    def _global_functions(self, module: str, name: str, seen: frozenset[tuple[str, str]] = frozenset()
                          ) -> set[tuple[str, str]]:
        """Functions named in a module-level value the code refers to (a registry list, a dispatch dict)."""
        key = (module, name)
        if key not in self.index.globals:
            imported = self.index.imports.get(module, {}).get(name)
            key = (imported[0], imported[1]) if imported and imported[1] else key
        if key in seen or key not in self.index.globals:
            return set()
        found: set[tuple[str, str]] = set()
        for node in ast.walk(self.index.globals[key]):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                resolved = self._resolve_name(key[0], node.id)
                found |= {resolved} if resolved else self._global_functions(key[0], node.id, seen | {key})
        return found

    # -- one function's direct edges and AWS uses ----------------------------------------------------
    def _gated(self, key: tuple[str, str]) -> tuple[dict[str, list[Use]], set[int]]:
        """Transaction items built only from a parameter (`{"Delete": d} for d in deletes or ()`): used
        only by callers that pass that parameter. -> (param -> uses, ids of those dict nodes)."""
        fn = self.index.fns[key]
        params = {a.arg for a in [*fn.node.args.posonlyargs, *fn.node.args.args, *fn.node.args.kwonlyargs]}
        path = self.index.paths[fn.module].relative_to(self.index.root)
        gated: dict[str, list[Use]] = {}
        nodes: set[int] = set()
        loops = [n for n in ast.walk(fn.node) if isinstance(n, (ast.GeneratorExp, ast.ListComp, ast.For))]
        for loop in loops:
            iters = [g.iter for g in loop.generators] if not isinstance(loop, ast.For) else [loop.iter]
            sources = {n.id for it in iters for n in ast.walk(it) if isinstance(n, ast.Name)} & params
            if len(sources) != 1:
                continue
            [param] = sources
            body = [loop.elt] if not isinstance(loop, ast.For) else loop.body
            for part in body:
                for node in ast.walk(part):
                    if isinstance(node, ast.Dict):
                        for k in node.keys:
                            if isinstance(k, ast.Constant) and k.value in TRANSACTION_ITEM_ACTIONS:
                                gated.setdefault(param, []).append(Use(
                                    TRANSACTION_ITEM_ACTIONS[k.value], f"{path}:{k.lineno} transaction {k.value}"))
                                nodes.add(id(node))
        return gated, nodes

    def _passed(self, call: ast.Call, target: tuple[str, str]) -> set[str]:
        """The target's parameters this call passes something (not None, not an empty literal) to."""
        fn = self.index.fns[target]
        names = [a.arg for a in [*fn.node.args.posonlyargs, *fn.node.args.args]]
        if fn.cls and names and names[0] in ("self", "cls"):
            names = names[1:]

        def given(value: ast.expr) -> bool:
            empty = isinstance(value, (ast.List, ast.Tuple)) and not value.elts
            return not empty and not (isinstance(value, ast.Constant) and value.value is None)

        passed = {names[i] for i, arg in enumerate(call.args) if i < len(names) and given(arg)}
        return passed | {k.arg for k in call.keywords if k.arg and given(k.value)}

    def _is_client(self, receiver: ast.expr) -> bool:
        """`self._db`, `self._make_client()`: where adapters keep their boto3 client."""
        if isinstance(receiver, ast.Call):
            receiver = receiver.func
        return isinstance(receiver, ast.Attribute) and isinstance(receiver.value, ast.Name) and \
            receiver.value.id == "self"

    def edges(self, key: tuple[str, str]) -> tuple[set[tuple[str, str]], list[Use]]:
        if key in self._edges:
            return self._edges[key]
        fn = self.index.fns[key]
        path = self.index.paths[fn.module].relative_to(self.index.root)
        targets: set[tuple[str, str]] = set()
        uses: list[Use] = []
        in_adapter = fn.module.startswith(f"{PACKAGE}.adapters.")
        imports = self.index.imports.get(fn.module, {})
        _, gated_nodes = self._gated(key)
        for node in ast.walk(fn.node):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                found = self._resolve_name(fn.module, node.id)
                if found:
                    targets.add(found)  # called, or passed on as a callback
                else:
                    targets |= self._global_functions(fn.module, node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                imported = imports.get(node.value.id)
                if imported and imported[1] is None and (imported[0], node.attr) in self.index.fns:
                    targets.add((imported[0], node.attr))
            if in_adapter and isinstance(node, ast.Dict) and id(node) not in gated_nodes:
                for k in node.keys:
                    if isinstance(k, ast.Constant) and k.value in TRANSACTION_ITEM_ACTIONS:
                        uses.append(Use(TRANSACTION_ITEM_ACTIONS[k.value], f"{path}:{k.lineno} transaction {k.value}"))
            if not isinstance(node, ast.Call):
                continue
            called: set[tuple[str, str]] = set()
            if isinstance(node.func, ast.Name):
                found = self._resolve_name(fn.module, node.func.id)
                called = {found} if found else set()
            elif isinstance(node.func, ast.Attribute):
                method, receiver = node.func.attr, node.func.value
                where = f"{path}:{node.lineno} {method}"
                if isinstance(receiver, ast.Name) and receiver.id == "self" and fn.cls:
                    called = self._self_targets(fn, method)
                elif (port := self._port_field(receiver)) is not None:
                    called = {found for cls in self.wired[port] if (found := self._method_of(cls, method))}
                elif in_adapter and self._is_client(receiver):
                    if method in PRESIGNING:
                        uses.append(Use(PRESIGNING[method], where))
                        uses += [Use(a, where) for a in SSE_KMS.get(PRESIGNING[method], ())]
                    elif method == "generate_presigned_url" and node.args and isinstance(node.args[0], ast.Constant):
                        prefix, operation = self.operations[str(node.args[0].value)]
                        uses += [Use(a, where) for a in self._actions(prefix, operation)]
                    elif method in self.operations:
                        prefix, operation = self.operations[method]
                        uses += [Use(a, where) for a in self._actions(prefix, operation)]
            targets |= called
            for target in called:
                gated, _ = self._gated(target)
                for param in self._passed(node, target) & set(gated):
                    uses += gated[param]
        self._edges[key] = (targets, uses)
        return targets, uses

    @staticmethod
    def _actions(prefix: str, operation: str) -> set[str]:
        actions = set(SPECIAL_OPERATIONS.get((prefix, operation), {f"{prefix}:{operation}"}))
        for action in list(actions):
            actions |= SSE_KMS.get(action, frozenset())
        return actions

    def reachable_uses(self, roots: Iterable[tuple[str, str]]) -> list[Use]:
        seen: set[tuple[str, str]] = set()
        todo = [r for r in roots if r in self.index.fns]
        uses: list[Use] = []
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            seen.add(key)
            targets, direct = self.edges(key)
            uses += direct
            todo += [t for t in targets if t not in seen]
        return uses


# --------------------------------------------------------------------------- functions and policies

def _key_of(func: Any) -> tuple[str, str]:
    return func.__module__, func.__qualname__


def function_roots() -> dict[str, set[tuple[str, str]]]:
    """Chalice function name -> the code it runs: handlers and middleware, read from the app itself."""
    sys.path.insert(0, str(PROJECT_ROOT))
    from app import app

    middleware = {_key_of(handler) for handler, kind in app.middleware_handlers}
    roots: dict[str, set[tuple[str, str]]] = {}
    views = set()
    for methods in app.routes.values():
        for entry in methods.values():
            handler = entry.view_function
            inner = [c.cell_contents for c in (handler.__closure__ or ()) if inspect.isfunction(c.cell_contents)
                     and c.cell_contents.__name__ == handler.__name__ and c.cell_contents is not handler]
            views |= {_key_of(v) for v in inner} or {_key_of(handler)}
    from chalicelib.entrypoints.http import api_route

    roots["api_handler"] = views | {_key_of(api_route)} | middleware
    sources: list[Any] = [*app.event_sources, *app.builtin_auth_handlers]
    for source in sources:
        module, _, name = source.handler_string.rpartition(".")
        roots[source.name] = {(module, name)} | {k for k in middleware}
    for function in app.pure_lambda_functions:
        module, _, name = function.handler_string.rpartition(".")
        roots[function.name] = {(module, name)} | middleware
    return roots


def platform_uses() -> dict[str, list[Use]]:
    """What Lambda does with each function's role: its log stream, polling its trigger, the
    on-failure destination of its stream trigger (from the packaged merge template)."""
    from app import app
    from infra.onetrip.package import FUNCTIONS, merge_template

    out: dict[str, list[Use]] = {fn.name: [Use(a, "platform: the function's log stream") for a in sorted(LOGS)]
                                 for fn in FUNCTIONS}
    for source in app.event_sources:
        kind = type(source).__name__
        if kind == "SQSEventConfig":
            out[source.name] += [Use(a, "platform: SQS trigger") for a in sorted(SQS_TRIGGER)]
        elif kind == "DynamoDBEventConfig":
            out[source.name] += [Use(a, "platform: DynamoDB stream trigger") for a in sorted(STREAM_TRIGGER)]
    merged = merge_template("dev")["Resources"]
    for fn in FUNCTIONS:
        for event in merged.get(fn.logical, {}).get("Properties", {}).get("Events", {}).values():
            destination = event.get("Properties", {}).get("DestinationConfig", {}).get("OnFailure", {})
            if destination.get("Type") == "SQS":
                out[fn.name].append(Use("sqs:SendMessage", "platform: the stream trigger's on-failure queue"))
    return out


def derive(root: Path = PROJECT_ROOT) -> dict[str, FunctionUsage]:
    from infra.onetrip.package import FUNCTIONS

    analysis = Analysis(root)
    roots = function_roots()
    platform = platform_uses()
    return {fn.name: FunctionUsage(fn.name, platform[fn.name] + analysis.reachable_uses(roots.get(fn.name, set())))
            for fn in FUNCTIONS}


def policy_file(function: str, root: Path = PROJECT_ROOT) -> Path:
    config = json.loads((root / ".chalice" / "config.json").read_text(encoding="utf-8"))
    name = config.get("lambda_functions", {}).get(function, {}).get("iam_policy_file") or config["iam_policy_file"]
    return root / ".chalice" / name


def granted_actions(function: str, root: Path = PROJECT_ROOT) -> set[str]:
    document = json.loads(policy_file(function, root).read_text(encoding="utf-8"))
    actions: set[str] = set()
    for statement in document["Statement"]:
        listed = statement["Action"]
        actions |= set(listed if isinstance(listed, list) else [listed])
    return actions


@dataclass
class Comparison:
    function: str
    missing: dict[str, list[str]]  # used but not granted: action -> where
    unused: list[str]              # granted but nothing uses it


def compare(root: Path = PROJECT_ROOT) -> list[Comparison]:
    out = []
    for name, usage in derive(root).items():
        granted = granted_actions(name, root)
        missing: dict[str, list[str]] = {}
        for use in usage.uses:
            if use.action not in granted:
                missing.setdefault(use.action, []).append(use.where)
        out.append(Comparison(name, missing, sorted(granted - usage.actions)))
    return out


def main() -> int:
    usages = derive()
    problems = 0
    for comparison in compare():
        usage = usages[comparison.function]
        print(f"{comparison.function}  ({policy_file(comparison.function).name})")
        for action in sorted(usage.actions):
            where = sorted({u.where for u in usage.uses if u.action == action})
            print(f"  {action:40} {where[0]}" + (f" (+{len(where) - 1} more)" if len(where) > 1 else ""))
        for action, where in sorted(comparison.missing.items()):
            problems += 1
            print(f"  !! MISSING {action}: used at {', '.join(sorted(set(where))[:3])}")
        for action in comparison.unused:
            problems += 1
            print(f"  !! UNUSED  {action}: granted, but no code of this function needs it")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Read infra/template.yaml as data and resolve its intrinsic functions against known values.

The local stack applies what moto's CloudFormation skips by direct API calls; those calls are
derived from this parsed template so the template stays the one source of truth. Only the
intrinsics the template uses are resolved; anything else is an explicit error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "template.yaml"

# Short tag -> long form. `!GetAtt A.B` is the one whose scalar form needs splitting.
_TAGS = (
    "Ref", "Condition", "GetAtt", "Sub", "If", "Equals", "Not", "And", "Or", "Join", "Select",
    "Split", "GetAZs", "ImportValue", "FindInMap", "Base64", "Cidr", "Length", "ToJsonString",
)


class _CfnLoader(yaml.SafeLoader):
    """A SafeLoader that knows CloudFormation's short tags."""


def _long_name(tag: str) -> str:
    return tag if tag in ("Ref", "Condition") else f"Fn::{tag}"


def _make_constructor(tag: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {_long_name(tag): value}

    return construct


for _tag in _TAGS:
    _CfnLoader.add_constructor(f"!{_tag}", _make_constructor(_tag))


def parse_template(text: str) -> dict[str, Any]:
    """Parse CloudFormation YAML text; short tags become their long dict forms."""
    return yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    """Parse a CloudFormation YAML template file."""
    return parse_template(Path(path).read_text(encoding="utf-8"))


class UnresolvedError(KeyError):
    """A Ref/GetAtt/Sub variable with no known value."""


_NO_VALUE = object()
_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


class Resolver:
    """Resolves intrinsics given values for Refs, GetAtts and conditions.

    `refs` maps parameter names, pseudo parameters and logical ids to values; `atts` maps
    "LogicalId.Attribute" to values. Conditions are evaluated from the template itself.
    """

    def __init__(self, template: Mapping[str, Any], refs: Mapping[str, Any],
                 atts: Mapping[str, Any] | None = None) -> None:
        self.template = template
        self.refs = dict(refs)
        self.atts = dict(atts or {})
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self._conditions[name]

    def resolve(self, value: Any) -> Any:
        out = self._resolve(value)
        return None if out is _NO_VALUE else out

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self._resolve(x) for x in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            handler = _INTRINSICS.get(key)
            if handler is not None:
                return handler(self, arg)
        out = {}
        for key, item in value.items():
            resolved = self._resolve(item)
            if resolved is not _NO_VALUE:
                out[key] = resolved
        return out

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name not in self.refs:
            raise UnresolvedError(f"no value for Ref {name}")
        return self.refs[name]

    def _getatt(self, arg: Any) -> Any:
        logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
        key = f"{logical}.{attribute}"
        if key not in self.atts:
            raise UnresolvedError(f"no value for GetAtt {key}")
        return self.atts[key]

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self._resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self._getatt(name))
            return str(self._ref(name))

        return _SUB_VAR.sub(replace, text).replace("${!", "${")

    def _if(self, arg: list[Any]) -> Any:
        name, when_true, when_false = arg
        return self._resolve(when_true if self.condition(name) else when_false)


_INTRINSICS = {
    "Ref": lambda r, a: r._ref(a),
    "Fn::GetAtt": lambda r, a: r._getatt(a),
    "Fn::Sub": lambda r, a: r._sub(a),
    "Fn::If": lambda r, a: r._if(a),
    "Fn::Equals": lambda r, a: r._resolve(a[0]) == r._resolve(a[1]),
    "Fn::Not": lambda r, a: not r._resolve(a[0]),
    "Fn::And": lambda r, a: all(r._resolve(x) for x in a),
    "Fn::Or": lambda r, a: any(r._resolve(x) for x in a),
    "Condition": lambda r, a: r.condition(a),
    "Fn::Join": lambda r, a: a[0].join(str(x) for x in r._resolve(a[1])),
    "Fn::Select": lambda r, a: r._resolve(a[1])[int(r._resolve(a[0]))],
    "Fn::Split": lambda r, a: r._resolve(a[1]).split(a[0]),
}


def known_values_from_outputs(template: Mapping[str, Any],
                              outputs: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Invert the template's Outputs: `Value: !Ref X` tells us X's Ref, `!GetAtt X.Y` its attribute."""
    refs: dict[str, str] = {}
    atts: dict[str, str] = {}
    for name, spec in template.get("Outputs", {}).items():
        if name not in outputs:
            continue
        value = spec.get("Value")
        if isinstance(value, dict) and "Ref" in value:
            refs[value["Ref"]] = outputs[name]
        elif isinstance(value, dict) and "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            atts[f"{logical}.{attribute}"] = outputs[name]
    return refs, atts


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """Logical id -> resource for every resource of one type, in template order."""
    return {
        logical: resource
        for logical, resource in template.get("Resources", {}).items()
        if resource.get("Type") == resource_type
    }

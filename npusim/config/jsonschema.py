"""JSON Schemas (draft 2020-12) of the scenario, workload and sweep formats, generated from
their declarations (the scenario tree, the layer dataclasses, the sweep keys)."""

from __future__ import annotations

import dataclasses
import re
import typing
from enum import Enum
from typing import Any

from npusim.config.fields import Field, Section
from npusim.config.schema import SCENARIO
from npusim.units import units_for


def _field_schema(spec: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"description": spec.doc}
    if spec.kind == "quantity":
        assert spec.dimension is not None
        names = sorted(units_for(spec.dimension), key=len, reverse=True)
        units = "|".join(re.escape(u) for u in names)
        string = {
            "type": "string",
            "pattern": rf"^\s*[-+]?[0-9.]+([eE][-+]?[0-9]+)?\s*({units})\s*$",
        }
        options: list[dict[str, Any]] = [string]
        if spec.bare_unit:
            options.append({"type": "number"})
        out["anyOf"] = options
        out["description"] += (
            f" (unit string; bare numbers in {spec.bare_unit})"
            if (spec.bare_unit)
            else " (unit string)"
        )
    elif spec.kind == "choice":
        out["enum"] = list(spec.choice_list())
    elif spec.kind == "map" and spec.section is not None:
        out["type"] = "object"
        out["additionalProperties"] = _section_schema(spec.section)
    elif spec.kind == "map":
        assert spec.value is not None
        out["type"] = "object"
        out["additionalProperties"] = _field_schema(spec.value)
        if spec.choices is not None:
            out["propertyNames"] = {"enum": list(spec.choice_list())}
    else:
        out["type"] = {"int": "integer", "float": "number", "bool": "boolean",
                       "str": "string"}[spec.kind]  # fmt: skip
        if spec.minimum is not None:
            key = "exclusiveMinimum" if spec.exclusive_minimum else "minimum"
            out[key] = spec.minimum
        if spec.maximum is not None:
            out["maximum"] = spec.maximum
    if spec.nullable:
        out = {"anyOf": [out, {"type": "null"}], "description": spec.doc}
    if spec.default is not None and spec.kind != "map":
        out["default"] = spec.default
    return out


def _section_schema(section: Section) -> dict[str, Any]:
    properties = {
        key: _field_schema(spec) if isinstance(spec, Field) else _section_schema(spec)
        for key, spec in section.items()
    }
    return {"type": "object", "properties": properties, "additionalProperties": False}


def scenario_json_schema() -> dict[str, Any]:
    """The whole scenario format; ``extends`` names a base scenario file."""
    schema = _section_schema(SCENARIO)
    schema["properties"]["extends"] = {
        "type": "string",
        "description": "base scenario file to inherit",
    }
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "npusim scenario", **schema}  # fmt: skip


_NAME = {"type": "string", "pattern": r"^[A-Za-z0-9_+-][A-Za-z0-9_.+-]*$"}
_INT_OR_EXPRESSION = {
    "anyOf": [
        {"type": "integer", "minimum": 0},
        {"type": "string", "description": "integer expression over params, e.g. seq_len * 4"},
    ]
}


def _layer_field_schema(hint: Any) -> dict[str, Any]:
    from npusim.workload.shapes import Pads

    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return dict(_INT_OR_EXPRESSION)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return {"enum": [member.value for member in hint]}
    if hint == Pads | None:  # per-side paddings [top, left, bottom, right]
        return {"type": "array", "items": dict(_INT_OR_EXPRESSION), "minItems": 4,
                "maxItems": 4}  # fmt: skip
    return {}  # a field without a YAML form of its own (checked by the loader)


def _layer_schema(kind: str, cls: type) -> dict[str, Any]:
    from npusim.workload.loader import _ALIASES  # the loader's one table of key aliases

    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.name != "name"]
    properties: dict[str, Any] = {
        "type": {"const": kind},
        "name": {**_NAME, "description": "layer name (default: <type><index>)"},
        "inputs": {
            "description": "tensors read: a layer name, 'input', or a list of them "
            "(default: the previous layer's output)",
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        },
    }
    required = ["type"]
    aliased = {target for targets in _ALIASES.values() for target in targets}
    for f in fields:
        properties[f.name] = _layer_field_schema(hints[f.name])
        has_default = f.default is not dataclasses.MISSING
        if not has_default and f.name not in aliased:
            required.append(f.name)
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required,
                              "additionalProperties": False}  # fmt: skip
    for alias, targets in _ALIASES.items():
        if targets[0] in properties:
            properties[alias] = dict(_INT_OR_EXPRESSION, description=f"sets {', '.join(targets)}")
            if any(f.name == targets[0] and f.default is dataclasses.MISSING for f in fields):
                schema["anyOf"] = [{"required": [alias]}, {"required": list(targets)}]
    return schema


def workload_json_schema() -> dict[str, Any]:
    """The workload format (:mod:`npusim.workload.loader`): one schema per layer type."""
    from npusim.workload.layers import LAYER_TYPES

    layers = [_layer_schema(kind, cls) for kind, cls in LAYER_TYPES.items()]
    properties = {
        "name": {**_NAME, "description": "workload name (default: the file name)"},
        "description": {"type": "string"},
        "batch": {"type": "integer", "minimum": 1, "description": "multiplies every layer's "
                  "tokens (linear) or batch (other types); overridable with --param batch=N"},
        "params": {"type": "object", "description": "integer parameters usable in layer "
                   "expressions, overridable with --param NAME=INT",
                   "additionalProperties": {"type": "integer", "minimum": 0}},
        "tensors": {"type": "string", "description": "real tensors: a .npz file (or a folder "
                    "of .npy) with arrays <layer>.weight and <layer>.input"},
        "layers": {"type": "array", "minItems": 1, "items": {"oneOf": layers}},
    }  # fmt: skip
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "npusim workload", "type": "object", "required": ["layers"],
            "properties": properties, "additionalProperties": False}  # fmt: skip


def sweep_json_schema() -> dict[str, Any]:
    """The sweep format (:mod:`npusim.sweep.spec`); axes name dotted scenario keys."""
    from npusim.precision import PRECISIONS
    from npusim.simulate import FIDELITIES
    from npusim.sweep.spec import DEFAULT_FIDELITY, Mode

    workload = {"anyOf": [
        {"type": "string", "description": "bundled workload name or path"},
        {"type": "object", "required": ["name"], "additionalProperties": False,
         "properties": {"name": {"type": "string"},
                        "params": {"type": "object",
                                   "additionalProperties": {"type": "integer"}}}},
    ]}  # fmt: skip
    axes: dict[str, Any] = {"precision": {"type": "array", "minItems": 1, "items": {
        "enum": [p for p in PRECISIONS if p != "int32"]}}}  # fmt: skip
    for dotted, spec in _dotted_fields(SCENARIO, ""):
        axes[dotted] = {"type": "array", "minItems": 1, "items": _field_schema(spec),
                        "description": spec.doc}  # fmt: skip
    properties = {
        "name": {**_NAME, "description": "sweep name: the output folder reports/<name>"},
        "description": {"type": "string"},
        "scenario": {"type": "string", "description": "base scenario: bundled name or path "
                     "relative to the sweep file"},
        "workloads": {"type": "array", "minItems": 1, "items": workload},
        "fidelity": {"enum": list(FIDELITIES), "default": DEFAULT_FIDELITY},
        "mode": {"enum": [m.value for m in Mode], "default": Mode.PRODUCT.value,
                 "description": "product: every combination of the axes; zip: element-wise"},
        "axes": {"type": "object", "properties": axes, "description": "dotted scenario key "
                 "(or precision) -> list of values",
                 "additionalProperties": {"type": "array", "minItems": 1}},
        "accuracy": {"type": "string", "description": "dataset every point's task accuracy is "
                     "measured on (bundled name or .npz path relative to the sweep file; "
                     "as --accuracy)"},
    }  # fmt: skip
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "npusim sweep", "type": "object", "required": ["scenario", "workloads"],
            "properties": properties, "additionalProperties": False}  # fmt: skip


def _dotted_fields(section: Section, prefix: str) -> list[tuple[str, Field]]:
    out: list[tuple[str, Field]] = []
    for key, spec in section.items():
        if isinstance(spec, Field):
            out.append((f"{prefix}{key}", spec))
        else:
            out += _dotted_fields(spec, f"{prefix}{key}.")
    return out


SCHEMAS = {
    "scenario": scenario_json_schema,
    "workload": workload_json_schema,
    "sweep": sweep_json_schema,
}

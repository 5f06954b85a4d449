"""JSON Schema (draft 2020-12) of the scenario format, generated from the declared tree."""

from __future__ import annotations

import re
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

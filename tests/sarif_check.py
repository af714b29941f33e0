"""Validate a SARIF log against the official 2.1.0 schema (in ../shared/schemas; the tests that
need it skip when it is missing)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import SHARED

SARIF_SCHEMA = SHARED / "schemas" / "sarif-schema-2.1.0.json"


def assert_valid_sarif(log: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    if not SARIF_SCHEMA.exists():
        pytest.skip(f"the official SARIF schema is not at {SARIF_SCHEMA} (no ../shared)")
    schema = json.loads(SARIF_SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)  # the schema declares draft-04
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])

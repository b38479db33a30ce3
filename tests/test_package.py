"""The package as users meet it: a light import, a curated API, typing shipped."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources

import jsonschema

import actorkit


def test_import_is_light():
    code = ("import sys, actorkit; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('fastapi', 'uvicorn', 'hypothesis', 'starlette', 'jwt')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_public_api_is_exactly_all():
    public = {n for n in dir(actorkit) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(actorkit, n)).__name__ == "module"}
    assert set(actorkit.__all__) == public - modules


def test_package_ships_typing_and_schemas():
    files = resources.files("actorkit")
    assert files.joinpath("py.typed").is_file()
    for name in ("chart.schema.json", "schemas.schema.json"):
        schema = json.loads(files.joinpath(name).read_text("utf-8"))
        jsonschema.Draft7Validator.check_schema(schema)
        assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "actorkit", "--version"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"actorkit {actorkit.__version__}"

"""One output convention for scripts and for people (issue 12 point 5), on a real store.

We test these aspects:
- ``-o json`` of ``container list``, ``container info`` and ``container images`` matches a JSON
  Schema: full digests, ``null`` for none (no ``"-"``), RFC 3339 times with their zone, lists as
  lists, and the same field names for the same things in every command;
- ``-o yaml`` prints the same records as ``-o json``;
- ``-o table`` in a pipe is tab-separated with short digests and ``-`` for nothing; ``info`` is
  readable YAML (no JSON line, no Python ``None``);
- every store command accepts the same ``-o`` values.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from agent.cli.main import cli
from tests.support.layers import Entry, layer
from tests.support.storing import put_image

IMG = "localhost:5000/out/web:1"
DIGEST = {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}
TIME = {"type": "string", "format": "date-time", "pattern": r"T\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$"}
DEPLOYMENT: dict[str, Any] = {
    "type": "object",
    "required": ["name", "image", "digest", "version", "rollback", "created", "rootfs", "layers"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "image": {"type": "string"},
        "digest": DIGEST,
        "version": {"type": "integer", "minimum": 1},
        "rollback": {"type": ["integer", "null"]},
        "created": TIME,
        "rootfs": {"type": "string"},
        "layers": {"type": "integer", "minimum": 0},
    },
}
LIST = {"type": "array", "items": DEPLOYMENT}
INFO = {
    "type": "object",
    "allOf": [{**DEPLOYMENT, "additionalProperties": True}],
    "required": [*DEPLOYMENT["required"], "previous", "spec"],
    "properties": {
        **DEPLOYMENT["properties"],
        "previous": {"anyOf": [{"type": "null"}, DEPLOYMENT]},
        "spec": {"type": "object", "required": ["name", "image", "config"]},
    },
    "additionalProperties": False,
}
IMAGES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["reference", "digest", "layers", "size", "used_by"],
        "additionalProperties": False,
        "properties": {
            "reference": {"type": "string"},
            "digest": DIGEST,
            "layers": {"type": "integer", "minimum": 1},
            "size": {"type": "integer", "minimum": 0},
            "used_by": {"type": "array", "items": {"type": "string"}},
        },
    },
}


def _berth(root: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--root", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, (result.output, result.stderr)
    return result.stdout


def _validate(data: Any, schema: dict[str, Any]) -> None:
    jsonschema.validate(data, schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture
def root(store_root: Path) -> Path:
    put_image(store_root, IMG, [layer([Entry("etc/version", data=b"1")])])
    put_image(store_root, "localhost:5000/out/unused:1", [layer([Entry("etc/unused", data=b"0")])])
    _berth(
        store_root, "container", "deploy", IMG, "--name", "web", "--no-start"
    )  # a store test: nothing runs
    _berth(store_root, "container", "deploy", IMG, "--name", "web", "--no-start")
    _berth(store_root, "container", "deploy", IMG, "--name", "other", "--no-start")
    return store_root


def test_json_of_list_info_and_images_matches_the_schema(root: Path) -> None:
    listed = json.loads(_berth(root, "container", "list", "-o", "json"))
    _validate(listed, LIST)
    assert {row["name"]: row["rollback"] for row in listed} == {"other": None, "web": 1}
    created = datetime.datetime.fromisoformat(listed[0]["created"])
    assert created.utcoffset() == datetime.timedelta(0)
    assert abs((datetime.datetime.now(datetime.UTC) - created).total_seconds()) < 600

    info = json.loads(_berth(root, "container", "info", "web", "-o", "json"))
    _validate(info, INFO)
    assert info["previous"]["version"] == info["rollback"] == 1
    assert json.loads(_berth(root, "container", "info", "other", "-o", "json"))["previous"] is None

    images = json.loads(_berth(root, "container", "images", "-o", "json"))
    _validate(images, IMAGES)
    assert {i["reference"]: i["used_by"] for i in images} == {
        "localhost:5000/out/unused:1": [],
        IMG: ["other", "web"],
    }
    assert json.loads(_berth(root, "image", "list", "-o", "json")) == images
    assert {i["digest"] for i in images if i["used_by"]} == {row["digest"] for row in listed}


@pytest.mark.parametrize(
    "args", [["container", "list"], ["container", "info", "web"], ["container", "images"], ["store", "check"]]
)
def test_yaml_is_the_same_record_as_json(root: Path, args: list[str]) -> None:
    as_json = json.loads(_berth(root, *args, "-o", "json"))
    assert yaml.safe_load(_berth(root, *args, "-o", "yaml")) == as_json


def test_table_in_a_pipe_is_for_people(root: Path) -> None:
    lines = _berth(root, "container", "list").splitlines()
    assert lines[0].split("\t") == ["NAME", "IMAGE", "DIGEST", "VERSION", "ROLLBACK", "CREATED"]
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    digest = json.loads(_berth(root, "container", "list", "-o", "json"))[0]["digest"]
    assert rows["web"][2] == digest[: len("sha256:") + 12]
    assert rows["other"][4] == "-" and rows["web"][4] == "1"
    assert "T" not in rows["web"][5] and "+00:00" not in rows["web"][5]
    verbose = _berth(root, "container", "list", "--verbose").splitlines()[0].split("\t")
    assert verbose[-2:] == ["ROOTFS", "LAYERS"]
    images = _berth(root, "container", "images").splitlines()
    assert images[0].split("\t") == ["REFERENCE", "DIGEST", "LAYERS", "SIZE", "USED_BY"]
    assert sorted(line.split("\t")[-1] for line in images[1:]) == ["-", "other,web"]
    assert all(line.split("\t")[3].endswith("B") for line in images[1:])  # 1.2kB, not bytes


def test_info_is_readable_yaml(root: Path) -> None:
    text = _berth(root, "container", "info", "other")
    data = yaml.safe_load(text)
    assert data["previous"] is None and "previous: null" in text
    assert "None" not in text  # no Python reprs
    assert '{"' not in text and max(len(line) for line in text.splitlines()) < 120  # no JSON line
    assert data["spec"]["name"] == "other"

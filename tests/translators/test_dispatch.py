"""How an input is read: the kind detected, and errors that say what Berth took the input for.

We test these aspects:
- a document that matches no kind names every kind tried and why each did not fit, at its line;
- a list with an item that is not a spec names the item and its line;
- a scalar document says it is not a mapping, an empty list that it holds no spec;
- each kind is still detected (compose, Kubernetes, native spec, a list of specs);
- a document-level error (no deeper path) carries the line where the document starts, in
  compose files as well as specs.
"""

from __future__ import annotations

import pytest
import yaml

from translators import dispatch
from translators.errors import InvalidSpec


def _errors(text: str, name: str = "x.yaml") -> list[str]:
    with pytest.raises(InvalidSpec) as info:
        dispatch.translate([dispatch.InputFile(name, text)])
    return [str(d) for d in info.value.diagnostics]


def test_a_document_of_no_kind_says_what_was_tried() -> None:
    [error] = _errors("# settings\n\nfoo: bar\n")
    assert error.startswith("x.yaml:3: matches no input kind: ")
    assert "not a compose file (none of the top-level keys configs, include, name, networks," in error
    assert "not a Kubernetes object (no apiVersion or kind)" in error
    assert "not a deployment spec (no image) nor a spec's configuration fragment (only config)" in error
    assert error.endswith("its keys are 'foo'")


def test_every_document_of_no_kind_is_reported() -> None:
    errors = _errors("name: a\nimage: busybox\n---\nfoo: 1\n---\nbar: 2\n")
    assert [e.split(": ", 1)[0] for e in errors] == ["x.yaml:4", "x.yaml:6"]


def test_a_list_names_the_item_that_is_not_a_spec() -> None:
    [error] = _errors("- {name: a, image: busybox}\n- {foo: 1}\n")
    assert error == (
        "x.yaml:2: matches no input kind: a list is read only as deployment specs, and item 1 is not "
        "one (no image); compose files and Kubernetes objects are mappings"
    )


def test_an_empty_list_is_not_an_input() -> None:
    # Found by the mutation fuzzer: this once escaped as StopIteration.
    [error] = _errors("[]\n")
    assert error == "x.yaml:1: matches no input kind: an empty list holds no deployment spec"


def test_a_scalar_is_not_an_input() -> None:
    [error] = _errors("42\n")
    assert error.startswith("x.yaml:1: matches no input kind: 42 is a int")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("services: {web: {image: nginx}}\n", "compose"),
        ("x-common: 1\n", "compose"),
        ("apiVersion: v1\nkind: Pod\n", "kubernetes"),
        ("name: web\nimage: nginx\n", "native"),
        ("- {name: web, image: nginx}\n", "native"),
        ("", "empty"),
        ("foo: 1\n", "unknown"),
    ],
)
def test_kinds_are_detected(text: str, kind: str) -> None:
    assert dispatch.classify(yaml.safe_load(text)) == kind


def test_a_document_level_compose_error_has_the_document_line() -> None:
    errors = _errors("\n# a compose file\nservices: {web: {image: nginx}}\nfoo: 1\n")
    assert [e.rsplit("/", 1)[-1] for e in errors] == ["x.yaml:3: additional property 'foo' not allowed"]


def test_a_spec_error_has_its_line() -> None:
    assert _errors("name: web\nimage: nginx\nbogus: 1\n") == ["x.yaml:3: bogus: unknown key"]

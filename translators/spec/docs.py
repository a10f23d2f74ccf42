"""Field descriptions from attribute docstrings, attached only when a schema is generated.

Each field's user documentation is the docstring under it (kopf's style). Pydantic can read those
at class creation (``use_attribute_docstrings``), but that parses the source of every model on
every start and costs about a fifth of ``berth translate``'s cold start; the CLI validates input
without descriptions, so they are attached here, once, by the schema and CRD generators.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import textwrap

from pydantic import BaseModel

_done: set[type[BaseModel]] = set()
"""Models whose descriptions are attached already (the work is done once per process)."""


def attribute_docstrings(cls: type) -> dict[str, str]:
    """``{field: docstring}`` for ``name: T = ...`` statements followed by a string literal."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    out: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            out[node.target.id] = inspect.cleandoc(after.value.value)
    return out


def document(model: type[BaseModel]) -> None:
    """Give ``model`` and every model it contains the descriptions of their attribute docstrings.

    Models are rebuilt leaves first: a parent's schema embeds its children's as they are built.
    """
    order: list[type[BaseModel]] = []
    seen: set[type[BaseModel]] = set()

    def visit(cls: type[BaseModel]) -> None:
        if cls in seen:
            return
        seen.add(cls)
        for child in _nested_models(cls):
            visit(child)
        order.append(cls)

    visit(model)
    changed = False
    for cls in order:
        if cls in _done:
            continue
        docs: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            if isinstance(klass, type) and issubclass(klass, BaseModel) and klass is not BaseModel:
                docs.update(attribute_docstrings(klass))
        for name, info in cls.model_fields.items():
            if name in docs and not info.description:
                info.description = docs[name]
        _done.add(cls)
        changed = True
    if changed:
        for cls in order:
            cls.model_rebuild(force=True)


def _nested_models(cls: type[BaseModel]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []

    def visit(annotation: object) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.append(annotation)
        for arg in getattr(annotation, "__args__", ()) or ():
            visit(arg)
        origin = getattr(annotation, "__origin__", None)
        if origin is not None and origin is not annotation:
            visit(origin)
        for meta in getattr(annotation, "__metadata__", ()) or ():
            visit_input_type(meta)

    def visit_input_type(meta: object) -> None:
        """Short forms declared by ``json_schema_input_type`` (such as devices' ``{path}``) are documented too."""
        given = getattr(meta, "json_schema_input_type", None)
        if given is not None and not isinstance(given, str):
            visit(given)

    for info in cls.model_fields.values():
        visit(info.annotation)
        for meta in info.metadata:
            visit_input_type(meta)
    return found

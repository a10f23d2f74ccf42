"""The base every spec model shares: unknown keys are errors, docstrings become descriptions.

The attribute docstrings under each field are the user documentation: :mod:`translators.spec.docs`
copies them into the JSON Schema and the CRD (so ``kubectl explain`` shows them) when those are
generated, not on every start.

The modules that define models do without ``from __future__ import annotations``: with postponed
annotations pydantic evaluates each field's annotation from its string when the class is created
(about 140 ``eval`` and ``ForwardRef`` compilations, some 6 ms of every ``berth translate``).
A method returning its own class names it in quotes.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any, TypeVar, cast

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError


def _without_plugins() -> None:
    """Validate with pydantic alone. pydantic looks for plugins (entry points of the ``pydantic``
    group of every installed distribution) when it builds the first validator, through a loader
    that imports importlib.metadata: some 30 ms of every ``berth translate`` on an idle machine,
    more than 100 ms on a busy one. No plugin is meant to change how a spec validates, so the
    loader is one that finds none (``PYDANTIC_DISABLE_PLUGINS=__all__``, without the import)."""
    if "pydantic.plugin._loader" not in sys.modules:
        loader = types.ModuleType("pydantic.plugin._loader", _without_plugins.__doc__)
        loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
        sys.modules["pydantic.plugin._loader"] = loader


_without_plugins()


class SpecModel(BaseModel):
    """A closed model: every key is known, every field documented."""

    model_config = ConfigDict(
        extra="forbid",
        use_attribute_docstrings=False,  # attached by translators.spec.docs for schemas only
        validate_default=False,
        populate_by_name=True,
        str_strip_whitespace=False,
        # Validators are built on first use, not at import: ``berth container list`` and
        # ``--help`` never validate a spec, and a translation builds only the models it uses.
        defer_build=True,
    )


M = TypeVar("M", bound=SpecModel)


def empty_list() -> list[Any]:
    """The ``default_factory`` of an empty list, in place of the builtin ``list``.

    Building a validator, pydantic asks each default factory's signature whether it takes the
    validated data. For a builtin that means parsing its text signature with the tokenizer, whose
    regular expressions are compiled first: about 7 ms of a cold ``berth translate`` for the
    spec's 40 such fields. A Python function answers at once."""
    return []


def empty_dict() -> dict[str, Any]:
    """The ``default_factory`` of an empty mapping (see :func:`empty_list`)."""
    return {}


def defaults_of(model: type[M]) -> Callable[[], M]:
    """The ``default_factory`` of a nested model field: the model with its defaults, not validated.

    ``Field(default_factory=Model)`` would call ``Model()``, which builds Model's own validator
    (2 to 3 ms each on a cold start) although the parent's validator holds Model's schema already.
    There is nothing to validate in a model made of its defaults: ``Model.model_construct()`` is
    ``Model()`` (a test holds each such default to that), and ``exclude_defaults`` still sees the
    default as such."""

    def construct() -> M:
        return cast(M, model.model_construct())  # the plugin types it as SpecModel

    return construct


def item_error(index: int, message: str) -> PydanticCustomError:
    """A list-level validator's error about one item: the index is carried to the path."""
    return PydanticCustomError("berth_item", "{message}", {"message": message, "index": index})


def mutually_exclusive(first: str, second: str) -> ValueError:
    """The one message for two settings that cannot be combined, naming both."""
    return ValueError(f"{first} and {second} are mutually exclusive")


def key_values(items: list[object]) -> dict[str, str]:
    """``["a=1", "b"]`` as ``{"a": "1", "b": ""}``: the list form of labels and sysctls."""
    out: dict[str, str] = {}
    for item in items:
        key, _, value = str(item).partition("=")
        out[key] = value
    return out


def _same(value: Any) -> Any:
    return value


def also_accepts(short: Any) -> BeforeValidator:
    """Declare a short input form in the JSON Schema; the model's own validator converts it."""
    return BeforeValidator(_same, json_schema_input_type=short)


Parsed = dict[str, Any] | list[dict[str, Any]]


def short_forms(
    parse: Callable[[Any], Parsed],
    *,
    input_type: Any,
    scalars: tuple[type, ...] = (str,),
    single: bool = False,
) -> BeforeValidator:
    """A list validator that turns each short item (a string, say) into its long form or forms.

    A malformed item is reported at its own index (``config.ports[1]``), and the JSON Schema
    declares ``input_type`` so it admits the short forms. ``single`` also takes one bare item.
    """

    def expand(value: Any) -> Any:
        if single and isinstance(value, scalars):
            value = [value]
        if not isinstance(value, list):
            return value
        out: list[Any] = []
        for i, item in enumerate(value):
            if not isinstance(item, scalars):
                out.append(item)
                continue
            try:
                parsed = parse(item)
            except ValueError as exc:
                raise item_error(i, str(exc)) from None
            out.extend(parsed if isinstance(parsed, list) else [parsed])
        return out

    return BeforeValidator(expand, json_schema_input_type=input_type)

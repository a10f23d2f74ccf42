"""Turning manifest text into documents: multi-document YAML or JSON, with ``List`` kinds flattened.

``kubectl`` accepts a YAML stream or a JSON object, and a ``kind: List`` (or any ``*List`` kind such
as ``DeploymentList``) whose ``items`` are objects; ``kompose`` writes the latter. Flattening happens
here, once, so the translator only ever sees single objects. Empty documents (``---`` separators,
comment-only documents) are skipped, as ``kubectl`` skips them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from translators import yamlio
from translators.errors import Diagnostic, InvalidSpec
from translators.yamlio import Document


@dataclass
class ListItem(Document):
    """An object that was an item of a ``List`` document: ``item`` is its index in ``items``.

    ``lines`` is the whole document's index, so paths are looked up under ``items[item]``.
    """

    item: int = 0


def is_list_kind(data: object) -> bool:
    """``kind: List`` and every ``*List`` kind, when it carries ``items``."""
    if not isinstance(data, dict):
        return False
    kind = data.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and "items" in data


def flatten(documents: Iterable[Document]) -> list[Document]:
    """Replace each list document with its items and drop empty documents.

    Items that are not mappings are kept as they are, so the translator reports them.
    """
    out: list[Document] = []
    for doc in documents:
        if doc.data is None:
            continue
        if is_list_kind(doc.data) and isinstance(doc.data["items"], list):
            for i, item in enumerate(doc.data["items"]):
                out.append(ListItem(item, doc.file, doc.index, doc.lines, item=i))
            continue
        out.append(doc)
    return out


def load_text(text: str, file: str = "<input>") -> list[Document]:
    """Parse manifests given as a YAML stream or as JSON; lists are flattened, empty documents skipped.

    JSON is read by the YAML parser (it keeps line numbers); a JSON text that YAML refuses (tabs,
    for example) is read by the JSON parser instead, without line numbers.
    """
    try:
        docs = yamlio.load_documents(text, file)
    except InvalidSpec:
        if not text.lstrip().startswith(("{", "[")):
            raise
        docs = _load_json(text, file)
    return flatten(docs)


def _load_json(text: str, file: str) -> list[Document]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidSpec([Diagnostic(f"malformed JSON: {exc.msg}", "", file, exc.lineno)]) from exc
    except RecursionError as exc:
        raise InvalidSpec([Diagnostic("malformed JSON: nested too deeply", "", file)]) from exc
    yamlio.check_depth(data, file)
    items: Sequence[object] = data if isinstance(data, list) else [data]
    return [Document(item, file, i) for i, item in enumerate(items)]

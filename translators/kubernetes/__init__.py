"""The Kubernetes translator: manifests in, one deployment spec per container out.

Use :func:`load_text` to read manifest text (a YAML stream or JSON, ``List`` kinds flattened) and
:func:`translate` to turn the documents into a :class:`~translators.result.Translation`. The
phases are listed in :mod:`translators.kubernetes.translating`; each concern has its module.
"""

from translators.kubernetes.loading import load_text
from translators.kubernetes.translating import translate

__all__ = ["load_text", "translate"]

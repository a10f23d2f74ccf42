"""Phase 8: profiles: services that name profiles run only when one of them is enabled.

A service without ``profiles`` is always enabled; ``*`` enables every profile. As in
``docker compose config``, a service disabled here is not enabled because another depends on it:
the consistency phase then reports the dangling ``depends_on``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _enabled(service: Any, profiles: set[str]) -> bool:
    own = service.get("profiles") if isinstance(service, dict) else None
    if not own:
        return True
    return "*" in profiles or any(p in profiles for p in own)


def apply_profiles(model: dict[str, Any], profiles: Sequence[str]) -> dict[str, Any]:
    """``model`` with the services of disabled profiles left out."""
    services = model.get("services")
    if not isinstance(services, dict):
        return model
    wanted = set(profiles)
    keep = {name for name, svc in services.items() if _enabled(svc, wanted)}
    return {**model, "services": {k: v for k, v in services.items() if k in keep}}

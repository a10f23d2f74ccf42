"""Secrets in specs are shown as ``<redacted>``: listings, info and config output never print them.

A spec names its secrets itself: ``config.secret_env`` lists the env entries that carry secrets and
``config.files[*].secret`` marks secret files. The stored config.json keeps the values (mode 0600);
only what is shown to people is redacted.
"""

from __future__ import annotations

import copy
from typing import Any

REDACTED = "<redacted>"


def redact_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of a spec (as JSON data) with secret env values and secret file contents hidden."""
    out = copy.deepcopy(spec)
    config = out.get("config")
    if not isinstance(config, dict):
        return out
    secret_names = set(config.get("secret_env") or [])
    env = config.get("env")
    if isinstance(env, list):
        config["env"] = [
            f"{item.split('=', 1)[0]}={REDACTED}"
            if isinstance(item, str) and "=" in item and item.split("=", 1)[0] in secret_names
            else item
            for item in env
        ]
    for entry in config.get("files") or []:
        if isinstance(entry, dict) and entry.get("secret") and entry.get("content") is not None:
            entry["content"] = REDACTED
    return out

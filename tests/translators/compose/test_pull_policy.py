"""pull_policy values the spec lacks, and container_name, are warned with their path.

Aspects: always/missing/if_not_present/never map to the spec; build, daily, weekly and every_<d>
(all accepted by docker compose v2.40.3) become ``missing`` with a warning naming
``services.<s>.pull_policy``; container_name is warned (specs are named <project>-<service>).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.compose import load_yaml, warnings_of

CASES = [
    ("always", "always", "always", False),
    ("if_not_present", "if_not_present", "missing", False),
    ("never", "never", "never", False),
    ("build", "build", "missing", True),
    ("daily", "daily", "missing", True),
    ("weekly", "weekly", "missing", True),
    ("every", "every_12h", "missing", True),
]


@pytest.mark.parametrize(("value", "policy", "warned"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_pull_policy(tmp_path: Path, value: str, policy: str, warned: bool) -> None:
    project = load_yaml(tmp_path, f"services:\n  web:\n    image: nginx\n    pull_policy: {value}\n")
    assert project.translation.specs[0].config.pull_policy == policy
    warned_paths = [w for w in warnings_of(project) if w.startswith("services.web.pull_policy:")]
    assert bool(warned_paths) is warned


def test_container_name_is_warned(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path, "name: shop\nservices:\n  web:\n    image: nginx\n    container_name: my-web\n"
    )
    assert project.translation.specs[0].name == "shop-web"
    assert any(w.startswith("services.web.container_name:") and "shop-web" in w for w in warnings_of(project))

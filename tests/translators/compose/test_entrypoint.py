"""entrypoint without command: docker's rule that an entrypoint override drops the image's CMD.

Aspects: the spec keeps ``cmd`` null and ``ContainerConfig.argv`` gives just the entrypoint, whatever
the image's CMD; with a command both are run; without either the image's are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.compose import load_yaml

IMAGE_ENTRYPOINT, IMAGE_CMD = ["/docker-entrypoint.sh"], ["nginx", "-g", "daemon off;"]
CASES = [
    ("entrypoint-only", "entrypoint: [/bin/run, -v]", ["/bin/run", "-v"]),
    ("entrypoint-string", "entrypoint: /bin/run -v", ["/bin/run", "-v"]),
    ("both", "entrypoint: [/bin/run]\n    command: [serve]", ["/bin/run", "serve"]),
    ("command-only", "command: [serve]", [*IMAGE_ENTRYPOINT, "serve"]),
    ("neither", "user: '1000'", [*IMAGE_ENTRYPOINT, *IMAGE_CMD]),
]


@pytest.mark.parametrize(("text", "argv"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_argv(tmp_path: Path, text: str, argv: list[str]) -> None:
    project = load_yaml(tmp_path, f"services:\n  web:\n    image: nginx\n    {text}\n")
    config = project.translation.specs[0].config
    assert config.argv(IMAGE_ENTRYPOINT, IMAGE_CMD) == argv
    if "command" not in text:
        assert config.cmd is None

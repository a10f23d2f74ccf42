"""build: string and long forms, defaults, image name docker compose gives a built image, warning."""

from __future__ import annotations

from pathlib import Path

from tests.support.compose import load_yaml, warnings_of


def test_build(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        "name: p\nservices:\n  a: {build: ./a}\n"
        "  b: {build: {context: ., args: [X, Y=1]}, image: registry/b:1}\n",
        env={"X": "from-env"},
    )
    services = project.model["services"]
    assert services["a"]["build"] == {"context": f"{tmp_path}/a", "dockerfile": "Dockerfile"}
    assert services["b"]["build"]["args"] == {"X": "from-env", "Y": "1"}
    assert [s.image for s in project.translation.specs] == ["p-a", "registry/b:1"]
    assert warnings_of(project) == [
        "services.a.build: Berth does not build images: "
        "using the image name docker compose gives the build, p-a",
        "services.b.build: Berth does not build images",
    ]

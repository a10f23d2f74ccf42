"""Volumes: short forms (bind, named, anonymous, options), absolute paths, ``~``, project names."""

from __future__ import annotations

from pathlib import Path

from tests.support.compose import errors_of, load_yaml


def test_short_forms(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        """
        name: p
        services:
          web:
            image: nginx
            volumes: ["./data:/data:ro,z", "~/cfg:/cfg", "cache:/cache:nocopy", "/anon"]
        volumes:
          cache: {}
        """,
    )
    vols = project.model["services"]["web"]["volumes"]
    assert vols == [
        {"type": "bind", "source": f"{tmp_path}/data", "target": "/data", "read_only": True,
         "bind": {"selinux": "z", "create_host_path": True}},
        {"type": "bind", "source": "/home/user/cfg", "target": "/cfg", "bind": {"create_host_path": True}},
        {"type": "volume", "source": "cache", "target": "/cache", "volume": {"nocopy": True}},
        {"type": "volume", "target": "/anon", "volume": {}},
    ]  # fmt: skip
    assert project.model["volumes"] == {"cache": {"name": "p_cache"}}
    mounts = project.translation.specs[0].config.volumes
    assert [(m.type, m.source, m.readonly) for m in mounts] == [
        ("bind", f"{tmp_path}/data", True), ("bind", "/home/user/cfg", False), ("volume", "p_cache", False),
        ("volume", None, False),
    ]  # fmt: skip
    assert project.translation.project.volumes["cache"].name == "p_cache"


def test_undefined_volume(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "services:\n  web:\n    image: nginx\n    volumes: ['data:/d']\n")
    assert errors == [
        f'{tmp_path}/compose.yaml:4: services.web.volumes[0]: service "web" refers to undefined volume data'
    ]

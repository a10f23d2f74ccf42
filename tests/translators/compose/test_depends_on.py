"""``depends_on``: short and long forms, defaults, missing targets, ``required: false``, cycles, order."""

from __future__ import annotations

from pathlib import Path

from tests.support.compose import errors_of, load_yaml


def test_forms_defaults_and_spec(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        """
        name: shop
        services:
          web: {image: nginx, depends_on: [api]}
          api:
            image: api
            depends_on:
              db: {condition: service_healthy, restart: true}
              cache: {condition: service_started, required: false}
          db: {image: pg}
        """,
    )
    assert project.model["services"]["web"]["depends_on"] == {
        "api": {"condition": "service_started", "required": True}
    }
    api = next(s for s in project.translation.specs if s.name == "shop-api")
    assert [(d.name, d.condition, d.restart) for d in api.config.depends_on] == [("shop-db", "healthy", True)]
    assert project.translation.project.order == ["shop-db", "shop-api", "shop-web"]
    assert any("optional dependency" in w.message for w in project.warnings)


def test_missing_target(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "services:\n  web: {image: nginx, depends_on: [db]}\n")
    assert errors == [
        f"{tmp_path}/compose.yaml:2: services.web.depends_on.db: "
        'service "web" depends on undefined service "db"'
    ]


def test_cycle(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path, "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n"
    )
    assert any("dependency cycle detected: a -> b -> a" in e for e in errors)


def test_per_replica_names(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        "name: p\nservices:\n  web: {image: nginx, scale: 2, depends_on: [db]}\n  db: {image: pg}\n",
        per_replica=True,
    )
    names = [s.name for s in project.translation.specs]
    assert names == ["p-web-1", "p-web-2", "p-db-1"]
    assert project.translation.specs[0].config.depends_on[0].name == "p-db-1"

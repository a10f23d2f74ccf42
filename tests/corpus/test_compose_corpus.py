"""Every compose file of the corpus against Docker Compose v2.40.3's own output.

Aspects covered:
- each file (and each multi-file ``MERGED__a+b`` and ``--env-file envs`` case) either loads or fails;
- when the oracle failed, we fail too, and our diagnostics name the same problem (EXPECTED_ERRORS);
- when the oracle succeeded, ``.model`` agrees on services, image, command, entrypoint,
  environment, ports, volumes and depends_on (compared as parsed JSON, per service);
- every file that loads has a ``.translation`` with one bound spec per service.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import CORPUS
from translators.compose import ComposeFile, load
from translators.errors import InvalidSpec

ROOT = CORPUS / "compose"
EXPECTED = CORPUS / "compose-expected"
HOME = "/tmp/compose-oracle-home"
ENV = {"PATH": "/usr/bin:/bin", "HOME": HOME}
KEYS = ("image", "command", "entrypoint", "environment", "ports", "volumes", "depends_on")

# Differences from docker compose we keep on purpose: (case id, reason). Empty: none on the compared keys.
DELIBERATE_DIFFERENCES: list[tuple[str, str]] = []

# file (relative to the corpus) -> text our diagnostics must contain, for each file the oracle rejects
EXPECTED_ERRORS: dict[str, str] = {
    "compose-go/loader-testdata/compose-depends-on-cycle.yaml": "dependency cycle detected: service1 -> service2 -> service3 -> service1",
    "compose-go/loader-testdata/compose-depends-on-profile-no-cycle.yaml": "dependency cycle detected: service1 -> service2 -> service3 -> service1",
    "compose-go/loader-testdata/compose-depends-on-self.yaml": "dependency cycle detected: service1 -> service1",
    "compose-go/loader-testdata/compose-include-cycle.yaml": "include cycle detected",
    "compose-go/loader-testdata/empty.yaml": "empty compose file",
    "compose-go/loader-testdata/extends/base.yaml": "services.nil: must be a mapping",
    "compose-go/loader-testdata/include/dir/compose.yaml": "include/dir/extra.env not found",
    "compose-go/loader-testdata/remote/cycle/compose-cycle.yaml": "remote:cycle/compose.yaml",
    "compose-go/loader-testdata/remote/cycle/compose.yaml": "remote:cycle/compose-cycle.yaml",
    "compose-go/loader-testdata/remote/nested/compose.yaml": "remote:nested/compose-nested.yaml",
    "kompose/controller/compose-controller-label.yaml": "additional properties 'db', 'web' not allowed",
    "kompose/envvars-separators/compose.yaml": "additional properties 'hygieia-api'",
    "kompose/etherpad/docker-compose-no-image.yml": 'service "mariadb" has neither an image nor a build context',
    "kompose/etherpad/docker-compose.yml": "services.mariadb.ports[0]: invalid port ''",
    "kompose/gitlab/docker-compose.yml": "services.postgresql.ports[0]: invalid port ''",
    "kompose/image-pull-secret/compose-files/docker-compose-image-pull-secret.yml": "additional properties 'open-image-service', 'tm-image-service' not allowed",
    "kompose/multiple-files/second.yaml": 'service "bar" has neither an image nor a build context',
    "kompose/unused/expose-service/compose-files/docker-compose-expose-hostname-multiple-ports.yml": "additional properties 'redis', 'web' not allowed",
    "kompose/unused/expose-service/compose-files/docker-compose-expose-hostname-tls.yml": "additional properties 'redis', 'web' not allowed",
    "kompose/unused/expose-service/compose-files/docker-compose-expose-hostname.yml": "additional properties 'redis', 'web' not allowed",
    "kompose/unused/expose-service/compose-files/docker-compose-expose-multiple-hostname-tls.yml": "additional properties 'redis', 'web' not allowed",
    "kompose/unused/expose-service/compose-files/docker-compose-expose-multiple-hostname.yml": "additional properties 'redis', 'web' not allowed",
    "kompose/unused/expose-service/compose-files/docker-compose-expose-true-multiple-ports.yml": "additional properties 'redis', 'web' not allowed",
    "kompose/unused/expose-service/compose-files/docker-compose-expose-true.yml": "additional properties 'redis', 'web' not allowed",
    "kompose/unused/merge-multiple-compose/compose-new-service-prob.yml": 'service "server" has neither an image nor a build context',
    "kompose/unused/merge-multiple-compose/compose-port-prod.yml": 'service "server" has neither an image nor a build context',
    "kompose/unused/merge-multiple-compose/dev.yml": 'service "web" has neither an image nor a build context',
    "kompose/unused/merge-multiple-compose/other-toplevel-base.yml": 'refers to undefined volume firstvolume',
    "kompose/unused/v3/docker-compose-deploy.yaml": 'service "vote" depends on undefined service "redis"',
    "kompose/unused/v3/docker-compose-full-example.yaml": "mutually exclusive `network_mode` and `networks`",
    "kompose/volume-mounts/named-volume/docker-compose-v3.yml": "refers to undefined volume db-config",
    "kompose/volume-mounts/named-volume/docker-compose.yml": "refers to undefined volume db-data",
    "kompose/yaml-and-yml/docker-compose.yaml": "additional properties 'redis', 'web' not allowed",
    "kompose/yaml-and-yml/yml/docker-compose.yml": "additional properties 'redis', 'web' not allowed",
    "podman-compose/deps/docker-compose-conditional-stopped.yaml": "condition: value must be one of 'service_started'",
    "podman-compose/include_relative_paths/docker-compose.yaml": "include_relative_paths/sub/local.env not found",
    "podman-compose/include_relative_paths/sub/included.yaml": "include_relative_paths/sub/local.env not found",
    "podman-compose/interpolation/docker-compose-colon-question-error.yml": "EXAMPLE_COLON_QUESTION_ERROR: required variable NOT_A_VARIABLE is missing a value: Missing variable",
    "podman-compose/interpolation/docker-compose-command-interpolation.yml": "services.command_test.command: required variable CMD_VAR is missing a value: CMD_VAR variable missing",
    "podman-compose/interpolation/docker-compose-question-error.yml": "EXAMPLE_QUESTION_ERROR: required variable NOT_A_VARIABLE is missing a value: Missing variable",
    # The oracle names the extends target's missing services section; we report why it has none.
    "podman-compose/merge/reset_and_override_tags/reset_tag_attribute_w_extends/common-services.yml": "additional property 'webapp' not allowed",
    "podman-compose/merge/reset_and_override_tags/reset_tag_attribute_w_extends/docker-compose.yml": "additional property 'webapp' not allowed",
    "podman-compose/merge/reset_and_override_tags/override_tag_attribute/docker-compose.yaml": 'service "app" depends on undefined service "db"',
    "podman-compose/merge/reset_and_override_tags/reset_tag_attribute/docker-compose.yaml": 'service "app" depends on undefined service "db"',
    "podman-compose/merge/volumes_merge/docker-compose.override.yaml": 'service "web" has neither an image nor a build context',
    "podman-compose/parse-error/docker-compose-error.yml": "could not find expected ':'",
    "podman-compose/secrets/docker-compose.yaml": "services.test.secrets[6]: additional property 'type' not allowed",
    "podman-compose/ulimit/docker-compose.yaml": "services.ulimit2.ulimits[0]: expected an integer, got 'nproc=1002:2002'",
    "kompose/etherpad/docker-compose-no-image.yml.with-env-file-envs": 'service "mariadb" has neither an image',
}


def _cases() -> list[tuple[str, list[Path], list[Path], Path]]:
    cases = []
    for f in sorted([*ROOT.rglob("*.yml"), *ROOT.rglob("*.yaml")]):
        rel = str(f.relative_to(ROOT))
        cases.append((rel, [f], [], EXPECTED / rel))
    for e in sorted(EXPECTED.rglob("MERGED__*.json")):
        where = ROOT / e.parent.relative_to(EXPECTED)
        names = e.name[len("MERGED__") : -len(".json")].split("+")
        cases.append((str(e.relative_to(EXPECTED))[: -len(".json")], [where / n for n in names], [], e.with_suffix("")))
    for e in sorted(EXPECTED.rglob("*.with-env-file-envs.*")):
        source = e.name.split(".with-env-file-envs")[0]
        rel = str(e.parent.relative_to(EXPECTED) / source)
        cases.append((rel + ".with-env-file-envs", [ROOT / rel], [Path("envs")], EXPECTED / (rel + ".with-env-file-envs")))
    return cases


CASES = _cases()


def _placeholders(data: Any) -> Any:
    text = json.dumps(data).replace(str(ROOT), "@COMPOSE_ROOT@").replace(HOME, "@HOME@")
    return json.loads(text)


@pytest.mark.parametrize(("case", "files", "env_files", "expected"), CASES, ids=[c[0] for c in CASES])
def test_corpus_file(case: str, files: list[Path], env_files: list[Path], expected: Path) -> None:
    reference = expected.parent / (expected.name + ".json")
    error = expected.parent / (expected.name + ".error.txt")
    assert reference.exists() or error.exists(), f"no oracle output for {case}"
    try:
        project = load([ComposeFile(f) for f in files], env=ENV, env_files=env_files)
    except InvalidSpec as exc:
        assert error.exists(), f"oracle accepted {case} but we failed:\n{exc}"
        assert case in EXPECTED_ERRORS, f"add {case} to EXPECTED_ERRORS; oracle said: {error.read_text()}"
        assert EXPECTED_ERRORS[case] in str(exc)
        assert all(d.file for d in exc.diagnostics)
        return
    assert not error.exists(), f"oracle rejected {case}: {error.read_text()}"
    got, want = _placeholders(project.model), json.loads(reference.read_text())
    assert sorted(got["services"]) == sorted(want["services"])
    assert got["name"] == want["name"]
    deliberate = {c for c, _ in DELIBERATE_DIFFERENCES}
    for name, service in want["services"].items():
        for key in KEYS:
            if f"{case}:{name}.{key}" in deliberate:
                continue
            assert got["services"][name].get(key) == service.get(key), f"services.{name}.{key}"
    translation = project.translation
    assert len(translation.specs) == len(want["services"])
    assert {s.name for s in translation.specs} == {f"{want['name']}-{n}" for n in want["services"]}
    assert sorted(translation.project.order) == sorted(s.name for s in translation.specs)


def test_every_oracle_error_has_an_expectation() -> None:
    rejected = {c[0] for c in CASES if (c[3].parent / (c[3].name + ".error.txt")).exists()}
    assert rejected == set(EXPECTED_ERRORS)

"""Every compose file of the corpus against Docker Compose v2.40.3's own output.

Aspects covered:
- each file (and each multi-file ``MERGED__a+b`` and ``--env-file envs`` case) either loads or fails;
- when the oracle failed, we fail too, and our diagnostics name the same problem (EXPECTED_ERRORS);
- when the oracle succeeded, ``.model`` agrees on services, image, command, entrypoint,
  environment, ports, volumes and depends_on (compared as parsed JSON, per service), and then on
  the whole model (networks, volumes, secrets, configs, deploy, healthcheck, ...);
- every file that loads has a ``.translation`` with one bound spec per service.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.paths import CORPUS, corpus_cases
from translators.compose import ComposeFile, load
from translators.errors import InvalidSpec

ROOT = CORPUS / "compose"
EXPECTED = CORPUS / "compose-expected"
HOME = "/tmp/compose-oracle-home"
ENV = {"PATH": "/usr/bin:/bin", "HOME": HOME}
KEYS = ("image", "command", "entrypoint", "environment", "ports", "volumes", "depends_on")

# Differences from docker compose we keep on purpose: (case id, reason). Empty: none on the compared keys.
DELIBERATE_DIFFERENCES: list[tuple[str, str]] = []

# case -> text our diagnostics must contain, for each case the oracle rejects (one line per case)
EXPECTED_ERRORS: dict[str, str] = dict(
    line.split("\t", 1)
    for line in (Path(__file__).parent / "compose_expected_errors.tsv").read_text().splitlines()
    if line and not line.startswith("#")
)


pytestmark = pytest.mark.corpus


def _cases() -> list[Any]:
    cases: list[Any] = []
    for f in sorted([*ROOT.rglob("*.yml"), *ROOT.rglob("*.yaml")]):
        rel = str(f.relative_to(ROOT))
        cases.append(pytest.param(rel, [f], [], EXPECTED / rel, id=rel))
    for e in sorted(EXPECTED.rglob("MERGED__*.json")):
        where = ROOT / e.parent.relative_to(EXPECTED)
        names = e.name[len("MERGED__") : -len(".json")].split("+")
        case = str(e.relative_to(EXPECTED))[: -len(".json")]
        cases.append(pytest.param(case, [where / n for n in names], [], e.with_suffix(""), id=case))
    for e in sorted(EXPECTED.rglob("*.with-env-file-envs.*")):
        source = e.name.split(".with-env-file-envs")[0]
        rel = str(e.parent.relative_to(EXPECTED) / source)
        case = rel + ".with-env-file-envs"
        cases.append(pytest.param(case, [ROOT / rel], [Path("envs")], EXPECTED / case, id=case))
    return cases


CASES = corpus_cases(_cases(), 4)


def _placeholders(data: Any) -> Any:
    text = json.dumps(data).replace(str(ROOT), "@COMPOSE_ROOT@").replace(HOME, "@HOME@")
    return json.loads(text)


@pytest.mark.parametrize(("case", "files", "env_files", "expected"), CASES)
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
    if case not in deliberate:
        assert got == want, "the whole model differs from docker compose config"
    translation = project.translation
    assert len(translation.specs) == len(want["services"])
    assert {s.name for s in translation.specs} == {f"{want['name']}-{n}" for n in want["services"]}
    assert sorted(translation.project.order) == sorted(s.name for s in translation.specs)


def test_every_oracle_error_has_an_expectation() -> None:
    rejected = {
        c.values[0] for c in CASES if (c.values[3].parent / (c.values[3].name + ".error.txt")).exists()
    }
    assert rejected == set(EXPECTED_ERRORS)

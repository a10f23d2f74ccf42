"""The dotenv parser against compose-go's own fixtures and their oracle outputs.

Aspects: quotes, ``export``, comments and inline comments, multi-line values, ``${VAR}`` expansion
with warnings, bare keys resolved or dropped, BOM, special key characters, and the error for a key
with a space (the oracle's ``line 7: key cannot contain a space``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.paths import CORPUS, corpus_cases
from translators.compose import dotenv

FIXTURES = CORPUS / "compose" / "compose-go" / "dotenv-fixtures"
EXPECTED = CORPUS / "compose-expected" / "compose-go" / "dotenv-fixtures"
NAMES = corpus_cases([pytest.param(p.name, id=p.name) for p in sorted(FIXTURES.glob("*.env"))], 1)

NOTHING = dotenv.chained()


@pytest.mark.corpus
@pytest.mark.parametrize("name", NAMES)
def test_fixture_matches_oracle(name: str) -> None:
    text = (FIXTURES / name).read_text()
    unset: list[str] = []
    reference = EXPECTED / f"{name}.json"
    if reference.exists():
        assert dotenv.parse(text, NOTHING, unset.append) == json.loads(reference.read_text())
        warnings = EXPECTED / f"{name}.warnings.txt"
        expected_unset = (
            [line.split('\\"')[1] for line in warnings.read_text().splitlines()] if warnings.exists() else []
        )
        assert unset == expected_unset
    else:
        error = (EXPECTED / f"{name}.error.txt").read_text()
        with pytest.raises(dotenv.DotenvError) as exc:
            dotenv.parse(text, NOTHING)
        assert str(exc.value) in error


def test_bare_key_takes_the_lookup_value() -> None:
    assert dotenv.parse("A\nB=2\n", {"A": "1"}.get) == {"A": "1", "B": "2"}


def test_double_quotes_escape_and_expand(tmp_path: Path) -> None:
    assert dotenv.parse('A=x\nB="${A}\\t\\"q\\" \\$A"\n', NOTHING) == {"A": "x", "B": 'x\t"q" $A'}

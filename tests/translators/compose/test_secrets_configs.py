"""Secrets and configs: file-based as FileMounts (secret flag, targets), content and environment."""

from __future__ import annotations

from pathlib import Path

from tests.support.compose import errors_of, load_yaml


def test_file_content_environment(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        """
        name: p
        services:
          web:
            image: nginx
            secrets: [token, {source: token, target: /etc/token, mode: 0400}]
            configs: [site, {source: inline, target: /etc/inline.conf}, envcfg]
        secrets:
          token: {file: ./token.txt}
        configs:
          site: {file: site.conf}
          inline: {content: "hello"}
          envcfg: {environment: GREETING}
        """,
        env={"GREETING": "hi"},
    )
    assert project.model["secrets"]["token"] == {"name": "p_token", "file": f"{tmp_path}/token.txt"}
    files = project.translation.specs[0].config.files
    assert [(f.target, f.source, f.content, f.secret) for f in files] == [
        ("/run/secrets/token", f"{tmp_path}/token.txt", None, True),
        ("/etc/token", f"{tmp_path}/token.txt", None, True),
        ("/site", f"{tmp_path}/site.conf", None, False),
        ("/etc/inline.conf", None, "hello", False),
        ("/envcfg", None, "hi", False),
    ]
    assert files[1].mode == 0o400


def test_undefined_secret(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "services:\n  w: {image: x, secrets: [nope]}\n")
    assert any('service "w" refers to undefined secret nope' in e for e in errors)

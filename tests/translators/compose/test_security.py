"""Security: cap_add/cap_drop, read_only, privileged, security_opt forms, sysctls, tmpfs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.compose import load_yaml, warnings_of


def test_spec(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        """
        services:
          web:
            image: nginx
            cap_add: [NET_ADMIN]
            cap_drop: [ALL]
            read_only: true
            security_opt: ["no-new-privileges:false", "seccomp=unconfined", "apparmor=p", "label=type:spc_t"]
            sysctls: [net.core.somaxconn=1024]
            tmpfs: /run
        """,
    )
    cfg = project.translation.specs[0].config
    sec = cfg.security
    assert (sec.readonly, sec.no_new_privileges, sec.seccomp, sec.apparmor) == (
        True,
        False,
        "unconfined",
        "p",
    )
    assert sec.selinux_options == ["type:spc_t"]
    assert (sec.capabilities.add, sec.capabilities.drop) == (["CAP_NET_ADMIN"], ["ALL"])
    assert sec.sysctls == {"net.core.somaxconn": "1024"}
    assert [t.target for t in cfg.tmpfs] == ["/run"]
    assert project.model["services"]["web"]["tmpfs"] == ["/run"]


@pytest.mark.parametrize(
    ("opt", "expected"),
    [("no-new-privileges", True), ("no-new-privileges:true", True), ("no-new-privileges=false", False)],
    ids=["bare", "colon", "equals"],
)
def test_no_new_privileges(tmp_path: Path, opt: str, expected: bool) -> None:
    project = load_yaml(tmp_path, f"services:\n  w: {{image: x, security_opt: ['{opt}']}}\n")
    assert project.translation.specs[0].config.security.no_new_privileges is expected


def test_unknown_security_opt_is_warned(tmp_path: Path) -> None:
    project = load_yaml(tmp_path, "services:\n  w: {image: x, security_opt: ['systempaths=unconfined']}\n")
    assert warnings_of(project) == ["services.w.security_opt[0]: not supported by Berth, ignored"]

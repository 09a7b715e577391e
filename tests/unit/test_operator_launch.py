"""An operator's argv and env rendered from its profile; the reference's argv is exactly the stub's flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from longhaul.contract import Contract
from longhaul.fixtures.engine.launch import STUB_OPERATOR_CMD, OperatorFlags, operator_argv
from longhaul.fixtures.engine.operator_launch import OperatorValues, operator_launch
from longhaul.profiles import load_profile, load_reference, reference_profile_path

VALUES = OperatorValues(
    kubeconfig="/tmp/kc",
    namespace="lh-ns",
    backend_url="http://198.18.0.1:4000",
    runner_image="longhaul.local/runner:abc",
    image_pull_policy="Never",
    mode=Contract.UPSTREAM,
    refresh_threshold_s=3.0,
    check_period_s=1.0,
    token_lifetime_s=600,
)


@pytest.mark.parametrize("extra", [{}, {"runner_command": "/bin/sh -c 'exec x'", "token_audience": "aud"}])
def test_reference_argv_is_the_stubs_flags(extra: dict[str, str]) -> None:
    values = OperatorValues(**{**VALUES.__dict__, **extra})
    before_profiles = operator_argv(
        STUB_OPERATOR_CMD,
        OperatorFlags(
            namespace="lh-ns",
            backend_url=VALUES.backend_url,
            runner_image=VALUES.runner_image,
            mode=Contract.UPSTREAM,
            image_pull_policy="Never",
            refresh_interval=3.0,
            check_period=1.0,
            token_lifetime=600,
            runner_command=extra.get("runner_command"),
            token_audience=extra.get("token_audience"),
        ),
        kubeconfig=Path("/tmp/kc"),
    )
    launch = operator_launch(load_reference(), values)
    assert launch.argv == before_profiles
    assert launch.env == {}


def test_an_env_configured_operator(tmp_path: Path) -> None:
    text = reference_profile_path().read_text()
    start, end = text.index("[operator]"), text.index("[timing]")
    text = (
        text[:start]
        + """[operator]
command = "{python} -m ambient_operator"
args = ["--kubeconfig", "{kubeconfig}", "--leader-elect=false"]
scope = "cluster"
rbac = "builtin:reference"

[operator.env]
AMBIENT_CODE_RUNNER_IMAGE = "{runner_image}"
IMAGE_PULL_POLICY = "{image_pull_policy}"
TOKEN_REFRESH_THRESHOLD_SECONDS = "{refresh_threshold_s}"
TOKEN_LIFETIME_SECONDS = "{token_lifetime_s}"
PYTHONPATH = "{profile_dir}"

"""
        + text[end:]
    ).replace('    "--mode", "{mode}",\n', "")
    text = text.replace("[token.bot-token-path]", "[token.x]", 1)  # shrink to one delivery below
    text = text[: text.index("[token.x]")] + text[text.index("[token.upstream]") :]
    text = text.replace('[token.legacy-env]\nlegacy_env = "BOT_TOKEN"\n', "")
    path = tmp_path / "p.toml"
    path.write_text(text)
    profile = load_profile(path)
    launch = operator_launch(profile, VALUES)
    assert launch.argv[-3:] == ["--kubeconfig", "/tmp/kc", "--leader-elect=false"]
    assert launch.argv[1:3] == ["-m", "ambient_operator"]
    assert launch.env == {
        "AMBIENT_CODE_RUNNER_IMAGE": "longhaul.local/runner:abc",
        "IMAGE_PULL_POLICY": "Never",
        "TOKEN_REFRESH_THRESHOLD_SECONDS": "3",
        "TOKEN_LIFETIME_SECONDS": "600",
        "PYTHONPATH": str(tmp_path),
    }
    with pytest.raises(ValueError, match="no way to pass runner_command"):
        operator_launch(profile, OperatorValues(**{**VALUES.__dict__, "runner_command": "x"}))
    # --operator-cmd replaces the program, not the profile's arguments
    assert operator_launch(profile, VALUES, "/usr/bin/env my-op").argv[:2] == ["/usr/bin/env", "my-op"]

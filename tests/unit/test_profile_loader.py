"""The profile loader: the reference profile, and each kind of bad file with the message it gets."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from longhaul.contract import (
    GROUP,
    KIND,
    PLURAL,
    REFRESHED_AT_ANNOTATION,
    TOKEN_FILE_PATH,
    TOKEN_MOUNT_DIR,
    TOKEN_SECRET_KEY,
    UPSTREAM_TOKEN_PATH,
    VERSION,
    Contract,
    secret_name,
    service_account_name,
)
from longhaul.profiles import ProfileError, load_profile, load_reference, reference_profile_path
from longhaul.profiles.templates import TemplateError, check, placeholders, render


def reference_text() -> str:
    return reference_profile_path().read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(text)
    return path


def test_reference_profile_says_what_the_contract_module_says() -> None:
    p = load_reference()
    assert (p.crd.group, p.crd.version, p.crd.plural, p.crd.kind) == (GROUP, VERSION, PLURAL, KIND)
    assert render(p.names.token_secret, {"session": "s1"}) == secret_name("s1")
    assert render(p.names.service_account, {"session": "s1"}) == service_account_name("s1")
    assert p.names.token_key == TOKEN_SECRET_KEY
    assert p.names.refreshed_at_annotation == REFRESHED_AT_ANNOTATION
    assert set(p.deliveries) == set(Contract)
    assert p.deliveries[Contract.BOT_TOKEN_PATH].mount_dir == TOKEN_MOUNT_DIR
    assert p.deliveries[Contract.BOT_TOKEN_PATH].token_file(p.names.token_key) == TOKEN_FILE_PATH
    assert p.deliveries[Contract.UPSTREAM].token_file(p.names.token_key) == UPSTREAM_TOKEN_PATH
    assert (p.exit.fail_fast, p.exit.gave_up, p.exit.no_token_source, p.exit.interrupted) == (66, 75, 78, 143)
    assert p.workload.selector == "job-name={session}-job"
    assert p.runner.protocol == "longhaul-wire" and p.timing.mode == "settable"


def test_reference_profile_ships_inside_the_package() -> None:
    assert reference_profile_path().parent.name == "profiles"
    assert reference_profile_path().is_file()


def test_a_copy_of_the_reference_loads(tmp_path: Path) -> None:
    assert load_profile(write(tmp_path, reference_text())).name == "reference"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # unknown keys: name the key, the table and the file
        (("[names]", "[names]\nservce_account = 'x'"), r"names: unknown key\(s\) servce_account"),
        (("[profile]", "[profile]\ncolour = 'blue'"), r"profile: unknown key\(s\) colour"),
        (("[crd]", "[crd]\nshortNames = []"), r"crd: unknown key\(s\) shortNames"),
        # wrong types
        (('plural = "agenticsessions"', "plural = 3"), r"crd\.plural: must be a string, not int 3"),
        (("restartable = true", 'restartable = "yes"'), r"operator\.restartable: must be true or false"),
        (("fail_fast = 66", "fail_fast = true"), r"exit\.fail_fast: must be an integer, not the boolean"),
        (("fail_fast = 66", "fail_fast = 300"), r"exit\.fail_fast: 300 is no failure exit code"),
        # missing required fields
        (('kind = "AgenticSession"\n', ""), r"crd\.kind: missing \(required: a string\)"),
        (('runner_container = "runner"\n', ""), r"names\.runner_container: missing"),
        # choices
        (
            ('env_field = "env"', 'env_field = "envs"'),
            r"crd\.env_field: is 'envs'; one of 'env', 'environmentVariables'",
        ),
        (('protocol = "longhaul-wire"', 'protocol = "grpc"'), r"runner\.protocol: is 'grpc'"),
        (('scope = "namespace"', 'scope = "node"'), r"operator\.scope: is 'node'"),
        # templates with placeholders their place does not offer
        (
            ('"ambient-session-{session}"', '"ambient-session-{sesion}"'),
            r"names\.service_account: .*\{sesion\}",
        ),
        (('"{kubeconfig}"', '"{kubeconfg}"'), r"operator\.args\[1\]: .*\{kubeconfg\}"),
        (('RUNNER_MESSAGES = "{messages}"', 'RUNNER_MESSAGES = "{msgs}"'), r"workload_env\.RUNNER_MESSAGES"),
        # cross checks
        (
            ('"--mode", "{mode}",', ""),
            r"operator\.args: the profile declares 3 token deliveries but never passes \{mode\}",
        ),
        (('mode = "settable"', 'mode = "fixed"'), r'timing mode "fixed" cannot pass \{refresh_threshold_s\}'),
        (
            ("refresh_threshold_s = 420", "refresh_threshold_s = 900"),
            r"timing\.refresh_threshold_s: must be above 0",
        ),
        (
            ('selector = "job-name={session}-job"\n', ""),
            r'workload\.selector: missing: discovery = "label" needs',
        ),
        (
            ('manifest = "builtin:reference"', 'manifest = "crd.yaml"'),
            r"crd\.manifest: 'crd.yaml': no such file",
        ),
        (
            ('image = "builtin:reference"', 'image = "docker.io/x"'),
            r'runner\.image: is .docker\.io/x.; "builtin:reference" or "ref:',
        ),
        (
            ('[backend]\nreach = "url"', '[backend]\nreach = "service"'),
            r"backend\.service_name: reach = \"service\" needs",
        ),
    ],
)
def test_bad_profiles_name_the_file_and_the_key(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    old, new = change
    text = reference_text()
    assert old in text
    path = write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(ProfileError, match=message) as caught:
        load_profile(path)
    assert str(path) in str(caught.value)


def test_missing_table_and_no_delivery(tmp_path: Path) -> None:
    data = tomllib.loads(reference_text())
    text = reference_text()
    start = text.index("[workload]")
    path = write(tmp_path, text[:start] + text[text.index("# One table per token") :])
    with pytest.raises(ProfileError, match=r"workload: missing \(required: a table\)"):
        load_profile(path)
    assert "token" in data


def test_not_toml_and_not_there(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(write(tmp_path, "[profile\nname="))
    with pytest.raises(ProfileError, match="cannot read the profile"):
        load_profile(tmp_path / "absent.toml")


def test_a_runner_from_code_needs_existing_directories(tmp_path: Path) -> None:
    text = reference_text().replace('image = "builtin:reference"', 'code = ["runner-src"]')
    with pytest.raises(ProfileError, match=r"runner\.code\[0\]: .*runner-src is not a directory"):
        load_profile(write(tmp_path, text))
    (tmp_path / "runner-src").mkdir()
    assert load_profile(write(tmp_path, text)).runner.code == ((tmp_path / "runner-src").resolve(),)
    both = text.replace('code = ["runner-src"]', 'code = ["runner-src"]\nimage = "ref:x/y:1"')
    with pytest.raises(ProfileError, match=r"exactly one of image .* found \['image', 'code'\]"):
        load_profile(write(tmp_path, both))


def test_templates() -> None:
    assert placeholders("a-{session}-{{literal}}") == {"session"}
    assert render("{session}-job", {"session": "s"}) == "s-job"
    with pytest.raises(TemplateError, match="no value for session"):
        render("{session}", {})
    with pytest.raises(TemplateError, match="not a valid template"):
        placeholders("{session")
    with pytest.raises(TemplateError, match="not a plain name"):
        placeholders("{0}")
    with pytest.raises(TemplateError, match=r"uses \{x\}; this place offers \{session\}"):
        check("{x}", {"session"})

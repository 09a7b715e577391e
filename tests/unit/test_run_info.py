"""What a run reports it tested: reference stubs unless an option replaced a component."""

from __future__ import annotations

from longhaul.fixtures.plugin.run_info import REFERENCE_IMPLEMENTATIONS, RunInfo, implementations_from


def test_no_replacement_options_means_the_reference_stubs() -> None:
    assert implementations_from({"runner_image": "", "operator_cmd": None}) == REFERENCE_IMPLEMENTATIONS


def test_an_option_still_at_its_reference_value_is_not_a_replacement() -> None:
    chosen = implementations_from(
        {"runner_cmd": "python3 -m runner_stub"}, {"runner_cmd": "python3 -m runner_stub"}
    )
    assert chosen["runner"] == REFERENCE_IMPLEMENTATIONS["runner"]


def test_replacements_are_named_with_the_options_that_made_them() -> None:
    chosen = implementations_from(
        {"runner_image": "ghcr.io/acme/runner:1.2", "runner_cmd": "/app/run", "backend_cmd": "acme-backend"}
    )
    assert chosen["runner"] == "--runner-image ghcr.io/acme/runner:1.2 --runner-cmd /app/run"
    assert chosen["backend"] == "--backend-cmd acme-backend"
    assert chosen["operator"] == REFERENCE_IMPLEMENTATIONS["operator"]


def test_header_and_properties_state_the_same_facts() -> None:
    info = RunInfo("local", "local (auto: no kind binary found)", "v1.34.4", unavailable="needs root")
    header = "\n".join(info.header_lines())
    props = dict(info.properties())
    assert "local (auto: no kind binary found), Kubernetes v1.34.4" in header
    assert "provider unavailable here: needs root" in header
    assert props["longhaul.provider"] == "local"
    assert props["longhaul.k8s_version"] == "v1.34.4"
    assert props["longhaul.provider_unavailable"] == "needs root"
    assert all(name.startswith("longhaul.") for name in props)

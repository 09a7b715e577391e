"""Templates in a profile: ``str.format`` fields, checked when the profile is read, filled when used.

A profile names things by templates (``ambient-session-{session}``, an operator
argv with ``{kubeconfig}``).  A misspelt placeholder must fail when the file is
read, naming the key, not halfway through a scenario; so each place a template
may appear has its set of placeholders, and :func:`placeholders` checks a
template against it.  ``{{`` and ``}}`` are literal braces, as in ``str.format``.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from typing import Final

SESSION: Final = frozenset({"session"})
NAMESPACE: Final = frozenset({"namespace"})
# What the harness knows when it starts an operator (see longhaul.fixtures.engine.launch).
OPERATOR: Final = frozenset(
    {
        "python",  # the harness's own interpreter, shell-quoted
        "profile_dir",  # the profile's directory
        "kubeconfig",  # the operator's own least-privilege kubeconfig
        "namespace",  # the scenario's namespace ("" for a cluster-wide operator's namespace flag)
        "mode",  # the token contract: bot-token-path | legacy-env | upstream
        "backend_url",  # http://<address>:<port> the runner reaches the backend at
        "runner_image",
        "runner_command",  # the runner container's argv as a shell-quoted line (optional)
        "image_pull_policy",
        "refresh_threshold_s",  # refresh a token once it is this old, seconds (%g)
        "check_period_s",  # reconcile period, seconds (%g)
        "token_lifetime_s",  # TokenRequest expirationSeconds
        "token_audience",  # TokenRequest audience (optional)
    }
)
# Optional operator values: an argv group naming one is passed only when the scenario sets it.
OPTIONAL_OPERATOR: Final = frozenset({"runner_command", "token_audience"})
WORKLOAD: Final = frozenset({"messages", "message_interval_s", "give_up_s"})
RUNNER_OVERRIDE: Final = frozenset({"runner", "token_dir", "token_file"})


class TemplateError(ValueError):
    """A template names a placeholder its place does not offer, or is not a valid format string."""


def placeholders(template: str) -> set[str]:
    """The placeholder names in ``template``; TemplateError for a malformed one (``{``, ``{0}``)."""
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise TemplateError(f"{template!r} is not a valid template: {exc}") from None
    for name in fields:
        if not name.isidentifier():
            raise TemplateError(f"{template!r}: placeholder {{{name}}} is not a plain name")
    return set(fields)


def check(template: str, allowed: Iterable[str]) -> None:
    """Raise TemplateError naming the placeholders of ``template`` outside ``allowed``."""
    allowed = frozenset(allowed)
    unknown = placeholders(template) - allowed
    if unknown:
        raise TemplateError(
            f"{template!r} uses {', '.join(f'{{{u}}}' for u in sorted(unknown))}; "
            f"this place offers {', '.join(f'{{{a}}}' for a in sorted(allowed)) or 'no placeholders'}"
        )


def render(template: str, values: Mapping[str, object]) -> str:
    """``template`` filled from ``values``; a placeholder without a value is an error, never left as is."""
    missing = placeholders(template) - set(values)
    if missing:
        raise TemplateError(f"{template!r}: no value for {', '.join(sorted(missing))}")
    return template.format_map(values)


def uses(templates: Iterable[str], name: str) -> bool:
    """Whether any of ``templates`` names ``name``."""
    return any(name in placeholders(t) for t in templates)

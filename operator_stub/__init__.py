"""Reference operator: one runner Job per ``AgenticSession``, with a rotated token Secret.

It is a standalone program (``python -m operator_stub``) so a real operator can
replace it in the e2e suite.  Pure logic (``session``, ``render``, ``refresh``,
``plan``, ``status``) is kept apart from API I/O (``kube``, ``reconcile``) so
the former is property-tested without a cluster and the latter stays thin.
"""

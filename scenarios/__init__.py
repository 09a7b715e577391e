"""Scenario definitions: what happens to a session and what must hold, as data.

``model`` says what a scenario is (timings, faults, expectations, the verdict);
``catalog`` lists the fast and soak tiers; ``faults`` is the fault vocabulary
(delete the Secret, restart the operator, ...); ``expectations`` and
``pod_contract`` judge the evidence (``evidence``) a run collected.  Nothing
here knows how a cluster is reached: ``longhaul.fixtures.engine`` runs these on
one.  Imported as ``longhaul.scenarios``.
"""

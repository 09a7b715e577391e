"""Reconcile sessions against a real API server: observe, :func:`~operator_stub.plan.plan`, apply, report.

The only module besides :mod:`operator_stub.kube` that does I/O.  To drive it
against a cluster from a test or a REPL::

    api = KubeApi(kube.connect("/path/to/kubeconfig"))
    Reconciler(api, parse_settings([...], {}), EventLog()).reconcile_all()

Every pass starts from what exists (level-triggered), so a restarted operator
simply continues: it reads each Secret's annotations and refreshes when they
say so, not sooner.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from operator_stub import render
from operator_stub.eventlog import EventLog
from operator_stub.kube import ApiError, KubeApi, Obj
from operator_stub.plan import Action, Observed, plan
from operator_stub.refresh import RefreshReason
from operator_stub.session import InvalidSession, Session
from operator_stub.settings import OperatorSettings
from operator_stub.status import (
    Phase,
    current_phase,
    desired_status,
    job_message,
    phase_for_job,
    rejected_status,
    status_patch,
)
from operator_stub.token_secret import MintedToken, TokenRecord, format_rfc3339, parse_rfc3339


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Reconciler:
    def __init__(
        self,
        api: KubeApi,
        settings: OperatorSettings,
        log: EventLog,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._api = api
        self._settings = settings
        self._template = settings.runner_template()
        self._policy = settings.refresh_policy()
        self._log = log
        self._clock = clock
        self._seen: set[str] = set()  # session UIDs handled by this process (for "adopted" lines)

    def reconcile_all(self) -> int:
        """One pass over every watched namespace.  Returns how many sessions (or lists) failed."""
        failures = 0
        for namespace in self._settings.namespaces or (None,):
            try:
                sessions = self._api.list_sessions(namespace)
            except Exception as exc:
                self._failed(namespace or "*", exc)
                failures += 1
                continue
            for obj in sessions:
                try:
                    self.reconcile(obj)
                except Exception as exc:  # one broken session must not stop the others' refreshes
                    meta = obj.get("metadata") or {}
                    self._failed(f"{meta.get('namespace')}/{meta.get('name')}", exc)
                    failures += 1
        return failures

    def reconcile(self, obj: Mapping[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            return  # owner references let the garbage collector remove the children
        phase = current_phase(obj)
        if phase is not None and phase.terminal:
            return
        try:
            session = Session.from_object(obj)
        except InvalidSession as exc:
            key = f"{meta.get('namespace')}/{meta.get('name')}"
            if self._report(obj, key, rejected_status(str(exc))):
                self._log.emit("rejected", key, reason=str(exc))
            return
        self._reconcile_session(session, obj, phase)

    def _reconcile_session(self, session: Session, obj: Mapping[str, Any], phase: Phase | None) -> None:
        sa = self._api.read("ServiceAccount", session.namespace, session.service_account_name)
        secret = self._api.read("Secret", session.namespace, session.secret_name)
        job = self._api.read("Job", session.namespace, session.job_name)
        observed = Observed(
            session=session,
            phase=phase,
            service_account_uid=_uid(sa),
            role_exists=self._exists("Role", session, session.role_name),
            role_binding_exists=self._exists("RoleBinding", session, session.role_name),
            token=TokenRecord.from_secret(secret),
            job_exists=job is not None,
        )
        now = self._clock()
        steps = plan(observed, now, self._policy)
        self._note_adoption(session, observed, steps.refresh.due_at if steps.refresh else None)
        sa_uid, record = observed.service_account_uid, observed.token
        for action in steps.actions:
            if action is Action.CREATE_SERVICE_ACCOUNT:
                sa_uid = _uid(self._create(session, render.service_account(session)))
            elif action is Action.CREATE_ROLE:
                self._create(session, render.role(session))
            elif action is Action.CREATE_ROLE_BINDING:
                self._create(session, render.role_binding(session))
            elif action is Action.MINT_TOKEN:
                reason = steps.refresh.reason if steps.refresh else RefreshReason.DUE
                record = self._mint(session, sa_uid or "", record, reason)
            elif action is Action.CREATE_JOB:
                job = self._create(session, render.job(session, self._template))
        new_phase = phase_for_job(job)
        wanted = desired_status(session, new_phase, record, job_message(job))
        if self._report(obj, session.key, wanted) and new_phase != phase:
            self._log.emit("phase", session.key, phase=new_phase)

    def _exists(self, kind: str, session: Session, name: str) -> bool:
        return self._api.read(kind, session.namespace, name) is not None

    def _mint(self, session: Session, sa_uid: str, record: TokenRecord, reason: RefreshReason) -> TokenRecord:
        now = self._clock()
        value, expires_raw = self._api.request_token(
            session.namespace,
            session.service_account_name,
            self._settings.token_expiration_seconds,
            self._settings.token_audiences,
        )
        self._log.forbid(value)
        expires_at = parse_rfc3339(expires_raw) or now + timedelta(
            seconds=self._settings.token_expiration_seconds
        )
        token = MintedToken(value=value, minted_at=now, expires_at=expires_at, service_account_uid=sa_uid)
        self._write_secret(session, token, record)
        fields = {"fp": token.fingerprint, "expires": format_rfc3339(expires_at), "reason": reason}
        self._log.emit("refreshed", session.key, secret=session.secret_name, **fields)
        message = f"minted token fp={token.fingerprint} expires={fields['expires']} reason={reason.value}"
        self._event(session, "TokenRefreshed", message)
        return TokenRecord.of(token)

    def _write_secret(self, session: Session, token: MintedToken, record: TokenRecord) -> None:
        """Put ``token`` into the session's Secret: patch it, create it, or replace an immutable one.

        An immutable Secret (made so by a policy engine or an older operator) rejects every
        patch of its data, so it is deleted and created again, mutable; the operator itself
        never writes ``immutable``.  A pod that mounted the immutable version keeps it (kubelet
        stops watching immutable Secrets), so its runner gives up and a new pod mounts this one.
        """
        update = render.secret_update(token)
        written = None
        if record.exists and record.immutable:
            self._api.delete("Secret", session.namespace, session.secret_name)
            self._log.emit("replaced-immutable", session.key, secret=session.secret_name)
        elif record.exists:
            written = self._api.patch_secret(session.namespace, session.secret_name, update)
        if written is None:
            try:
                self._api.create(render.secret(session, token), adopt_existing=False)
            except ApiError as exc:
                if exc.status != 409:
                    raise
                self._api.patch_secret(session.namespace, session.secret_name, update)

    def _create(self, session: Session, body: Obj) -> Obj:
        created = self._api.create(body)
        self._log.emit("created", session.key, kind=body["kind"], name=body["metadata"]["name"])
        return created

    def _report(self, obj: Mapping[str, Any], key: str, wanted: Mapping[str, Any]) -> bool:
        """Patch the status subresource if anything changed; True if it did."""
        changes = status_patch(obj, wanted)
        if changes is None:
            return False
        meta = obj.get("metadata") or {}
        self._api.patch_session_status(str(meta.get("namespace")), str(meta.get("name")), changes)
        return True

    def _note_adoption(self, session: Session, observed: Observed, due_at: datetime | None) -> None:
        if session.uid in self._seen:
            return
        self._seen.add(session.uid)
        if observed.job_exists and observed.token.exists:
            due = format_rfc3339(due_at) if due_at else "now"
            self._log.emit("adopted", session.key, fp=observed.token.fingerprint, due=due)

    def _event(self, session: Session, reason: str, message: str) -> None:
        try:
            body = render.event(session, reason, message, format_rfc3339(self._clock()))
            self._api.create_event(session.namespace, body)
        except ApiError as exc:  # events are evidence, not function: never fail a rotation over one
            self._error(session.key, exc, level="warning")

    def _failed(self, key: str, exc: Exception) -> None:
        if isinstance(exc, ApiError):
            self._error(key, exc)
            return
        # Not an API answer: the message may quote inputs (a client-side model validation
        # error quotes the Secret it rejected), so log only the type and where it happened.
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f"{Path(frame.filename).name}:{frame.lineno}" if frame else None
        self._log.emit("error", key, reason=type(exc).__name__, where=where)

    def _error(self, key: str, exc: ApiError, level: str = "error") -> None:
        self._log.emit(
            level, key, action=exc.action, status=exc.status, reason=exc.reason, message=exc.message or None
        )


def _uid(obj: Mapping[str, Any] | None) -> str | None:
    if obj is None:
        return None
    uid = (obj.get("metadata") or {}).get("uid")
    return str(uid) if uid else None

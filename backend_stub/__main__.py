"""Entry point: ``python -m backend_stub [flags]``.  Every flag also reads ``BACKEND_<FLAG>`` from env.

With ``--port 0`` the kernel picks a free port; ``--port-file`` receives it
once the server listens, so a harness waits on a file instead of guessing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from backend_stub.auth import Authenticator, JwtKeyAuthenticator, SelfSubjectAccessReviewAuthenticator
from backend_stub.jwks import JwksAuthenticator, JwksError, JwksFile, JwksSource, JwksUrl, KeySet
from backend_stub.server import BackendPolicy, BackendServer
from longhaul.ledger import SessionLedger
from longhaul.logfmt import log_event

IN_CLUSTER_CA = Path("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt")


def parse_args(argv: Sequence[str], env: Mapping[str, str] = os.environ) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="backend_stub", description=__doc__)

    def opt(flag: str, **kwargs: object) -> None:
        name = "BACKEND_" + flag.lstrip("-").replace("-", "_").upper()
        if name in env:
            kwargs["default"] = (
                env[name] if kwargs.get("action") != "store_true" else env[name] in ("1", "true")
            )
        p.add_argument(flag, help=f"{kwargs.pop('help', '')} [{name}]", **kwargs)  # type: ignore[arg-type]

    opt("--host", default="127.0.0.1", help="address to listen on")
    opt("--port", type=int, default=0, help="port (0: any free port)")
    opt("--port-file", type=Path, help="write the bound port here once listening")
    opt("--ledger", type=Path, help="JSON-lines ledger file (reloaded on start)")
    opt(
        "--auth",
        choices=["jwt", "jwks", "kube"],
        default="jwt",
        help="jwt: verify with a key; jwks: verify with the issuer's key set; kube: access review",
    )
    opt("--jwt-public-key", type=Path, help="PEM public key for --auth jwt")
    opt("--jwks-url", help="key set URL for --auth jwks, e.g. <apiserver>/openid/v1/jwks")
    opt("--jwks-file", type=Path, help="local key set (JWKS JSON) for --auth jwks")
    opt("--jwks-ca-file", type=Path, help="CA bundle to verify an https --jwks-url")
    opt("--jwks-token-file", type=Path, help="bearer token to fetch --jwks-url (read on every fetch)")
    opt(
        "--jwks-refresh-interval",
        type=float,
        default=10.0,
        help="minimum seconds between key set fetches caused by an unknown kid",
    )
    opt("--audience", help="required JWT audience (--auth jwt, jwks)")
    opt("--issuer", help="required JWT issuer (--auth jwt, jwks)")
    opt("--kube-api", help="apiserver URL for --auth kube (default: in-cluster)")
    opt("--kube-ca", type=Path, help="apiserver CA bundle for --auth kube")
    opt("--kube-insecure", action="store_true", help="skip apiserver TLS verification")
    opt("--max-connection-age", type=float, help="close each connection after this many seconds")
    opt("--close-on-token-expiry", action="store_true", help="close a connection when its token expires")
    opt(
        "--max-token-age",
        type=float,
        help="reject tokens issued (iat) more than this many seconds ago; with --close-on-token-expiry "
        "also close connections at iat + this",
    )
    opt(
        "--debug-secret-file",
        type=Path,
        help="require the secret in this file (stripped) in X-Longhaul-Debug for /debug/*; else 403",
    )
    opt("--ping-interval", type=float, default=30.0, help="WebSocket ping interval in seconds")
    opt(
        "--protocol",
        choices=["longhaul-wire", "opaque"],
        default="longhaul-wire",
        help="longhaul-wire: parse hello/events/done and ack; opaque: record each frame's size, parse none",
    )
    p.add_argument(
        "--health-path",
        action="append",
        default=[],
        help="answer this path with 200 as a health check, not a contact (repeatable)",
    )
    opt(
        "--close-timeout",
        type=float,
        default=2.0,
        help="seconds to wait for a peer to close (bounds shutdown)",
    )
    args = p.parse_args(list(argv))
    if args.auth == "jwt" and args.jwt_public_key is None:
        p.error("--auth jwt needs --jwt-public-key")
    problem = jwks_flag_problem(args)
    if problem:
        p.error(problem)
    return args


def jwks_flag_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the ``--jwks-*`` flags, if anything (checked before anything starts)."""
    given = [f for f in ("url", "file", "ca_file", "token_file") if getattr(args, "jwks_" + f) is not None]
    if args.auth != "jwks":
        return f"--jwks-{given[0].replace('_', '-')} is only for --auth jwks" if given else None
    if (args.jwks_url is None) == (args.jwks_file is None):
        return "--auth jwks needs exactly one of --jwks-url and --jwks-file"
    if args.jwks_file is not None and (args.jwks_ca_file or args.jwks_token_file):
        return "--jwks-ca-file and --jwks-token-file are only for --jwks-url"
    if args.jwks_url is not None:
        scheme = args.jwks_url.partition("://")[0].lower()
        if scheme not in ("https", "http"):
            return f"--jwks-url must be an http(s) URL, not {args.jwks_url!r}"
        if scheme == "http" and (args.jwks_ca_file or args.jwks_token_file):
            return "--jwks-ca-file and --jwks-token-file need an https --jwks-url (no token in clear text)"
    if args.jwks_refresh_interval < 0:
        return "--jwks-refresh-interval must not be negative"
    for flag in ("jwks_file", "jwks_ca_file", "jwks_token_file"):
        path = getattr(args, flag)
        if path is not None and not path.is_file():
            return f"--{flag.replace('_', '-')} {path}: no such file"
    return None


def authenticator_from(args: argparse.Namespace, env: Mapping[str, str] = os.environ) -> Authenticator:
    """The configured authenticator; for jwks the key set is fetched now (JwksError if it cannot be)."""
    if args.auth == "jwt":
        return JwtKeyAuthenticator.from_file(args.jwt_public_key, args.audience, args.issuer)
    if args.auth == "jwks":
        source: JwksSource = (
            JwksFile(args.jwks_file)
            if args.jwks_file is not None
            else JwksUrl(args.jwks_url, args.jwks_ca_file, args.jwks_token_file)
        )
        keys = KeySet(source, args.jwks_refresh_interval)
        keys.load()
        log_event("jwks_loaded", source=source.describe(), keys=len(keys.kids), kids=",".join(keys.kids))
        return JwksAuthenticator(keys, args.audience, args.issuer)
    api = args.kube_api or "https://{}:{}".format(
        env.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc"),
        env.get("KUBERNETES_SERVICE_PORT", "443"),
    )
    ca = args.kube_ca or (IN_CLUSTER_CA if IN_CLUSTER_CA.exists() else None)
    return SelfSubjectAccessReviewAuthenticator(api, ca, args.kube_insecure)


def debug_secret(args: argparse.Namespace) -> str | None:
    """The /debug/* secret from ``--debug-secret-file``; never logged (``listening`` says only whether)."""
    if args.debug_secret_file is None:
        return None
    secret = Path(args.debug_secret_file).read_text().strip()
    if not secret:
        raise SystemExit(f"backend_stub: error: --debug-secret-file {args.debug_secret_file} is empty")
    return secret


async def serve(args: argparse.Namespace, authenticator: Authenticator) -> None:
    ledger = SessionLedger(args.ledger)
    policy = BackendPolicy(
        max_connection_age=args.max_connection_age,
        close_on_token_expiry=args.close_on_token_expiry,
        max_token_age=args.max_token_age,
        ping_interval=args.ping_interval,
        close_timeout=args.close_timeout,
        protocol=args.protocol,
        health_paths=tuple(args.health_path),
    )
    backend = BackendServer(authenticator, ledger, policy, debug_secret=debug_secret(args))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with backend.serve(args.host, args.port) as server:
            port = BackendServer.bound_port(server)
            if args.port_file:
                tmp = args.port_file.with_name(args.port_file.name + ".tmp")
                tmp.write_text(f"{port}\n")
                tmp.replace(args.port_file)
            log_event(
                "listening",
                host=args.host,
                port=port,
                auth=args.auth,
                audience=args.audience,
                issuer=args.issuer,
                ledger=args.ledger,
                max_connection_age=args.max_connection_age,
                close_on_token_expiry=args.close_on_token_expiry,
                max_token_age=args.max_token_age,
                debug_guarded=args.debug_secret_file is not None,
            )
            await stop.wait()
            log_event("stopping")
    finally:
        ledger.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        authenticator = authenticator_from(args)
    except JwksError as exc:
        print(f"backend_stub: error: {exc}", file=sys.stderr, flush=True)
        return 2
    asyncio.run(serve(args, authenticator))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Who may reach the UI: loopback by default; any other host needs PINPOINT_AUTH="user:password".

Kept free of heavy imports so `app.py serve --host 0.0.0.0` refuses at once, before any model loads.
"""

from __future__ import annotations

LOOPBACK = {"127.0.0.1", "localhost", "::1", "ip6-localhost"}


class BindingRefused(SystemExit):
    """Serving on a non-loopback host without PINPOINT_AUTH (exit status 1, the message on stderr)."""


def check_binding(host: str, auth: str) -> tuple[str, str] | None:
    """gradio's (user, password) from PINPOINT_AUTH; refuses a public host without it."""
    user, sep, password = (auth or "").partition(":")
    credentials = (user, password) if sep and user and password else None
    if auth and credentials is None:
        raise BindingRefused('error: PINPOINT_AUTH must be "user:password" (both non-empty)')
    if host not in LOOPBACK and credentials is None:
        raise BindingRefused(
            f"error: refusing to serve on {host}: a host other than 127.0.0.1 exposes the UI to the "
            'network; set PINPOINT_AUTH="user:password" to require a login, or use --host 127.0.0.1'
        )
    return credentials

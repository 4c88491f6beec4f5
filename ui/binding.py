"""Who may reach the UI (loopback by default; any other host needs PINPOINT_AUTH="user:password"), and
what gradio's upload route takes from them (UploadGuard).

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


UPLOAD_ROUTE = "/gradio_api/upload"
MULTIPART_ROOM = 64 * 1024  # a multipart body's boundaries and part headers, beyond the file itself


class UploadGuard:
    """ASGI middleware in front of gradio's upload route (POST /gradio_api/upload).

    gradio checks the login there (its ``login_check`` dependency, when there is one) and
    ``max_file_size`` caps each file as it streams in; this closes what is left:

    - a cross-site upload: a multipart POST needs no CORS preflight, so any web page the user opens
      can make the browser post a file to the app on 127.0.0.1 (where there is no login) or, over
      https, with the login cookie (gradio sets it SameSite=None). An upload whose Origin is not the
      app's own host is refused (403); clients that send no Origin (gradio_client, curl) are not browsers;
    - the body: the cap is per file and a request may carry 1000 of them. A body longer than one file
      at the cap is refused before it is read (413), and so is one of unstated length (411).
    """

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].endswith(UPLOAD_ROUTE):
            refusal = self.refusal({name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]})
            if refusal is not None:
                status, text = refusal
                await send({"type": "http.response.start", "status": status,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                await send({"type": "http.response.body", "body": text.encode("utf-8")})
                return
        await self.app(scope, receive, send)

    def refusal(self, headers: dict[str, str]) -> tuple[int, str] | None:
        """(status, reason) for an upload request this app does not take, from its (lowercase) headers."""
        origin = headers.get("origin")
        if origin is not None:
            own = {headers.get("host"), headers.get("x-forwarded-host")} - {None}
            if origin.partition("://")[2] not in own:
                return 403, f"upload refused: it comes from another site ({origin})"
        length = headers.get("content-length", "")
        if not length.isdigit():
            return 411, "upload refused: the request does not say its length"
        if int(length) > self.limit + MULTIPART_ROOM:
            return 413, f"upload refused: {int(length):,} bytes, over the limit of {self.limit:,} (PINPOINT_MAX_UPLOAD_BYTES)"
        return None

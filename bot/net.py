"""Listening on a port, and saying in a few words why a connection failed."""

from __future__ import annotations

import errno
import os
import socket

from aiohttp import web

from config.errors import ConfigError, Unavailable


async def listen(runner: web.AppRunner, host: str, port: int) -> None:
    """Serve `runner` on host:port (quietly: the caller says so); a port not to be had is a one-line error."""
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except socket.gaierror:
        raise ConfigError(f"--host: cannot listen on {host!r}: not a local address or host name") from None
    except OSError as exc:
        where = f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            raise Unavailable(
                f"port {port} is already in use on {host}: stop what listens there, or choose another port "
                "with serve --port"
            ) from None
        if exc.errno == errno.EACCES:
            raise ConfigError(f"--port: no permission to listen on {where} (use a port above 1023)") from None
        raise Unavailable(f"cannot listen on {where}: {describe(exc)}; check --host and --port") from None


def describe(exc: BaseException, host: str | None = None) -> str:
    """An exception as a short phrase for a one-line message; a name lookup that failed names the
    host (`host`, else the one the exception carries)."""
    if _unresolved(exc):
        name = host or getattr(exc, "host", None)
        return (
            f"the host {name} could not be resolved (DNS)" if name else "the host could not be resolved (DNS)"
        )
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno).lower()
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# getaddrinfo's answers for a name it could not turn into an address (os.strerror knows none of them).
_RESOLVER_ERRORS = {
    getattr(socket, name)
    for name in ("EAI_NONAME", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA", "EAI_ADDRFAMILY")
    if hasattr(socket, name)
}


def _unresolved(exc: BaseException) -> bool:
    """Whether `exc`, or what it wraps (aiohttp's os_error, httpx's cause), is a failed name lookup."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        if isinstance(current, socket.gaierror) or (
            isinstance(current, OSError) and current.errno in _RESOLVER_ERRORS
        ):
            return True
        current = getattr(current, "os_error", None) or current.__cause__ or current.__context__
    return False

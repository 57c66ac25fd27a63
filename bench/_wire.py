"""A lean load client for bench/targets.py: signed scribe messages written straight onto kept-alive
HTTP/1.1 connections. aiohttp's client spent about as much CPU per request as the floor it measured,
which on two cores capped a flood near the floor's own rate; this one costs a fraction of that."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time

from _support import SECRET, event_body

_ID, _TS, _N = "@@ID@@", "@@TS@@", "@@N@@"


class Events:
    """Scribe messages in one channel, each with its own ts and event id; the bot's are remembered."""

    def __init__(self, channel: str, user: str) -> None:
        self.n, self.base = 0, int(time.time())
        self.expected: set[str] = set()
        event = {"type": "message", "channel": channel, "channel_type": "channel", "user": user,
                 "text": f"scribe note {_N}", "ts": _TS, "event_ts": _TS}  # fmt: skip
        body, _ = event_body(event, _ID)
        self._parts = body.decode()

    def body(self, prefix: str, to_bot: bool) -> bytes:
        """The next message's request body; `to_bot` remembers its ts as one the bot must store."""
        i = self.n = self.n + 1
        ts = f"{self.base + i // 1_000_000}.{i % 1_000_000:06d}"  # exact: float sums can collide
        if to_bot:
            self.expected.add(ts)
        text = self._parts.replace(_ID, f"{prefix}{i:08d}").replace(_TS, ts).replace(_N, str(i))
        return text.encode()


class Connection:
    """One kept-alive connection to a server's /slack/events; reopened if the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self._stamp = (0, b"", b"")

    def _request(self, body: bytes) -> bytes:
        now = int(time.time())
        if now != self._stamp[0]:
            self._stamp = (now, str(now).encode(), b"v0:" + str(now).encode() + b":")
        _, ts, prefix = self._stamp
        signature = hmac.new(SECRET.encode(), prefix + body, hashlib.sha256).hexdigest().encode()
        return (
            b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nX-Slack-Request-Timestamp: %s\r\nX-Slack-Signature: v0=%s\r\n\r\n"
            % (self.port, len(body), ts, signature)
        ) + body

    async def post(self, body: bytes) -> tuple[int, float]:
        """POST a signed body; (status, seconds from the first byte sent to the last byte read)."""
        if self.writer is None or self.reader is None or self.reader.at_eof():
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        request = self._request(body)
        started = time.perf_counter()
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"transfer-encoding":
                raise RuntimeError("chunked answers are not read here")
        if length:
            await self.reader.readexactly(length)
        elapsed = time.perf_counter() - started
        if b"connection: close" in head.lower():
            await self.close()
        return int(head[9:12]), elapsed

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

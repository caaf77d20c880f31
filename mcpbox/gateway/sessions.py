"""Handshake-era sessions: the ``Mcp-Session-Id`` table with idle expiry and a size cap.

A session holds what ``initialize`` negotiated (version, client name, log level) plus the
cancel scopes of its in-flight calls and of its one GET stream, so ending the session ends
its work. Clients routinely abandon sessions (mcp-remote's throwaway probe, the Inspector
never sends DELETE), hence the idle timeout and the least-recently-used eviction at the cap.
Ids come from ``secrets.token_urlsafe``: unguessable and visible ASCII only.

The table is touched only from the event loop thread, so plain dict operations need no lock.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum

import anyio

from mcpbox.gateway.jsonrpc import RequestId
from mcpbox.management.catalog import Caller

logger = logging.getLogger(__name__)

SESSION_ID_BYTES = 32


class SessionState(Enum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(slots=True, eq=False)
class Session:
    """One negotiated conversation with a handshake-era client."""

    id: str
    version: str
    identity: str
    caller: Caller
    last_used: float
    state: SessionState = SessionState.OPEN
    log_level: str | None = None
    inflight: dict[RequestId, anyio.CancelScope] = field(default_factory=dict)
    stream_scope: anyio.CancelScope | None = None

    @property
    def client_name(self) -> str | None:
        return self.caller.client_name

    def cancel_request(self, request_id: object) -> bool:
        """Cancel the in-flight request ``request_id``; False when it is unknown or finished."""
        if not isinstance(request_id, str | int):
            return False
        scope = self.inflight.get(request_id)
        if scope is None:
            return False
        scope.cancel()
        return True

    def close(self) -> None:
        """End the session: running calls are cancelled and the GET stream is closed."""
        if self.state is SessionState.CLOSED:
            return
        self.state = SessionState.CLOSED
        for scope in self.inflight.values():
            scope.cancel()
        if self.stream_scope is not None:
            self.stream_scope.cancel()


class SessionTable:
    """Live sessions by id, expiring those idle longer than ``idle_seconds``."""

    def __init__(self, *, idle_seconds: float, max_sessions: int, clock: Callable[[], float]) -> None:
        self._sessions: dict[str, Session] = {}
        self._idle_seconds = idle_seconds
        self._max_sessions = max_sessions
        self._clock = clock

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[Session]:
        return iter(list(self._sessions.values()))

    def create(self, *, version: str, caller: Caller) -> Session:
        """A new open session; at the cap the least recently used one is evicted first."""
        while len(self._sessions) >= self._max_sessions:
            oldest = min(self._sessions.values(), key=lambda s: s.last_used)
            logger.info("evicting MCP session %s: %d sessions open", oldest.id[:8], len(self._sessions))
            self.remove(oldest.id)
        session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
        session = Session(
            id=session_id,
            version=version,
            identity=caller.identity,
            caller=Caller(
                identity=caller.identity,
                remote=caller.remote,
                client_name=caller.client_name,
                session_id=session_id,
            ),
            last_used=self._clock(),
        )
        self._sessions[session_id] = session
        return session

    def get(self, session_id: str) -> Session | None:
        """The open session ``session_id``, touched; None when unknown or expired."""
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self._clock()
        if self._expired(session, now):
            self.remove(session_id)
            return None
        session.last_used = now
        return session

    def touch(self, session: Session) -> None:
        session.last_used = self._clock()

    def remove(self, session_id: str) -> Session | None:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            session.close()
        return session

    def expire_idle(self) -> int:
        """Remove every idle session; returns how many went."""
        now = self._clock()
        stale = [s.id for s in self._sessions.values() if self._expired(s, now)]
        for session_id in stale:
            self.remove(session_id)
        return len(stale)

    def close_all(self) -> None:
        for session_id in list(self._sessions):
            self.remove(session_id)

    def _expired(self, session: Session, now: float) -> bool:
        # An open GET stream or a running call is activity even when no POST arrives.
        if session.stream_scope is not None or session.inflight:
            return False
        return now - session.last_used > self._idle_seconds

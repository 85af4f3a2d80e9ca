"""Run state: one JSON file per target (Okta org + WS1 organization group) in the user state dir.

Written atomically (temp file, fsync, rename) after every step transition, so a killed process leaves either
the old or the new file, never half of one. A lock file keeps two odatui processes off one target.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from odatui.core.errors import StateError
from odatui.core.files import open_temp_beside, read_bounded
from odatui.core.locks import take_lock
from odatui.core.paths import state_dir

__all__ = ["Status", "StepRecord", "RunState", "StateStore",
           "PENDING", "RUNNING", "SUCCEEDED", "FAILED", "NEEDS_ACTION", "SKIPPED", "CANCELLED"]

SCHEMA_VERSION = 1


class Status(StrEnum):
    """A step's status, in the order a step moves through them. A StrEnum: each member equals the string the
    state file holds ("needs-action"…), so stored states and faces that compare with strings keep working."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    NEEDS_ACTION = "needs-action"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


# The older names, kept for the modules (and tests) that import them.
PENDING, RUNNING, SUCCEEDED, FAILED, NEEDS_ACTION, SKIPPED, CANCELLED = (
    Status.PENDING, Status.RUNNING, Status.SUCCEEDED, Status.FAILED, Status.NEEDS_ACTION, Status.SKIPPED,
    Status.CANCELLED,
)


@dataclass
class StepRecord:
    status: str = Status.PENDING  # a Status; read back from JSON as the equal plain string
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    last_error: str | None = None
    hint: str | None = None
    retryable: bool | None = None
    summary: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    # Ownership ledger, kept across runs (outputs are replaced on every success): what odatui created in the
    # tenant versus what it found there. `odatui remove` deletes `created` (and `adopted` when asked to).
    # Entries: {"kind": "ws1.app"|"ws1.rule"|"ws1.profile"|"ws1.smart_group"|"okta.group", "id": str, "name": …}.
    created: list[dict[str, Any]] = field(default_factory=list)
    adopted: list[dict[str, Any]] = field(default_factory=list)
    # What an apply set out to create ({"kind", "name"}), saved before the first write: when the process dies
    # between the write and its record, the next run finds the object and knows it is odatui's, not adopted.
    intends: list[dict[str, Any]] = field(default_factory=list)

    def own(self, created: list[dict[str, Any]] = (), adopted: list[dict[str, Any]] = (),
            released: list[dict[str, Any]] = ()) -> None:
        """Merge one success's ownership into the ledger. Created wins over adopted: once odatui made an object,
        a later run that finds it again does not make it the admin's."""
        def key(e: dict[str, Any]) -> tuple[str, str]:
            return str(e.get("kind")), str(e.get("id"))

        intended = {(str(i.get("kind")), str(i.get("name"))) for i in self.intends}
        mine = {key(e): e for e in self.created}
        for e in [*created, *(a for a in adopted if (str(a.get("kind")), str(a.get("name"))) in intended)]:
            mine[key(e)] = dict(e)
        found = {key(e): e for e in self.adopted if key(e) not in mine}
        for e in adopted:
            if key(e) not in mine:
                found[key(e)] = dict(e)
        for e in released:
            mine.pop(key(e), None)
            found.pop(key(e), None)
        self.created, self.adopted = list(mine.values()), list(found.values())


@dataclass
class RunState:
    target: str
    steps: dict[str, StepRecord] = field(default_factory=dict)
    updated: float | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "previous state was unreadable; kept as …"
    identity: dict[str, Any] | None = None  # the tenants this state belongs to (odatui.core.identity), once confirmed

    def step(self, step_id: str) -> StepRecord:
        return self.steps.setdefault(step_id, StepRecord())

    def outputs(self) -> dict[str, dict[str, Any]]:
        return {sid: rec.outputs for sid, rec in self.steps.items() if rec.status == Status.SUCCEEDED}

    def created(self) -> dict[str, list[dict[str, Any]]]:
        """Step id → what odatui created (whatever the step's last status: a failed run keeps its ledger)."""
        return {sid: list(rec.created) for sid, rec in self.steps.items() if rec.created}

    def failed(self) -> list[str]:
        return [sid for sid, rec in self.steps.items() if rec.status in (Status.FAILED, Status.NEEDS_ACTION, Status.CANCELLED)]

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, "target": self.target, "updated": self.updated, "identity": self.identity,
                "steps": {k: asdict(v) for k, v in self.steps.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunState:
        steps = {k: StepRecord(**v) for k, v in data.get("steps", {}).items()}
        identity = data.get("identity")
        return cls(target=data["target"], steps=steps, updated=data.get("updated"),
                   identity=identity if isinstance(identity, dict) else None)


STATE_LIMIT = 16 << 20  # a run state is a few KB; more is not one of ours


def _shape_problem(state: RunState) -> str | None:
    """Why a parsed state is structurally wrong (valid JSON of the wrong shape), or None."""
    known = set(Status)
    if not isinstance(state.target, str):
        return "it is damaged (target is not text)"
    for sid, rec in state.steps.items():
        if rec.status not in known or not isinstance(rec.outputs, dict) or not isinstance(rec.attempts, int):
            return f"it is damaged (step {sid!r} has an impossible record)"
    return None


class StateStore:
    """The state file of one target, with its lock. Use as a context manager to hold the lock."""

    def __init__(self, target: str, directory: Path | None = None) -> None:
        self.target = target
        try:
            self.directory = directory or state_dir() / "runs"
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:  # a read-only or unreadable state folder: one line naming it, never a traceback
            where = exc.filename or directory or "the state folder"
            raise StateError(f"cannot use the run state folder {where}: {exc.strerror or exc}",
                             hint="make it writable (or set XDG_STATE_HOME to a folder you can write)") from None
        self.path = self.directory / f"{target}.json"
        self.lock_path = self.directory / f"{target}.lock"
        self._lock_fd: int | None = None

    def rebind(self, key: str) -> StateStore:
        """The store of `key` (a canonical identity) in the same folder; this spelling's file becomes a link to it,
        so anything that opens the state by the config's spelling (export, bundle, the wizard) reads that one.
        A state file kept under the spelling (an older odatui) moves to the canonical name if there is none yet."""
        if key == self.target:
            return self
        other = StateStore(key, self.directory)
        try:
            if self.path.is_symlink():
                linked = self.path.with_name(os.readlink(self.path))
                if linked.name != other.path.name:
                    self.path.unlink()
                    # A run that could not ask the tenants kept its state under the spelling (odatui.core.identity's
                    # "unconfirmed." keys): now that they answered, it is this target's history.
                    if "unconfirmed." in linked.name and linked.is_file() and not other.path.exists():
                        os.replace(linked, other.path)
            elif self.path.exists():
                if other.path.exists():
                    os.replace(self.path, self._aside_path("superseded"))  # the canonical history wins; kept
                else:
                    os.replace(self.path, other.path)  # resume what an older odatui recorded under the spelling
            if not self.path.is_symlink():
                os.symlink(other.path.name, self.path)
        except OSError as exc:
            raise StateError(f"cannot link the run state {self.path} to {other.path.name}: {exc.strerror}") from None
        return other

    # --- lock ---
    def acquire(self) -> None:
        try:
            fd = take_lock(self.lock_path, f"target ({self.target})",
                            "wait for it to finish or stop it; two runs on one tenant could create duplicates")
        except OSError as exc:
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            raise StateError(f"cannot create the run lock {self.lock_path}: {exc.strerror or exc}",
                             hint="free some disk space, then run again" if full else f"make {self.directory} writable"
                             ) from None
        self._lock_fd = fd
        # Holding the lock, any temp file left here is from a writer that was killed mid-write.
        for stale in self.directory.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()

    @property
    def held(self) -> bool:
        """True while this store holds its target's lock (acquire … release)."""
        return self._lock_fd is not None

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing drops the flock
            self._lock_fd = None

    def __enter__(self) -> StateStore:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # --- read / write ---
    def load(self) -> RunState:
        """The saved state, or a fresh one. An unreadable or newer file is kept aside, never overwritten."""
        if not self.path.exists():
            return RunState(self.target)
        reason = None
        try:
            size = self.path.stat().st_size
        except OSError:
            size = 0  # read_bounded names the problem
        if size > STATE_LIMIT:
            # Never blocking: a run state is a few KB, so this is not one of ours (or it is damaged); set aside.
            return self._set_aside(f"it is larger than the {STATE_LIMIT >> 20} MiB limit for a run state "
                                   f"({size} bytes)")
        raw = read_bounded(self.path, limit=STATE_LIMIT, what="run state", error=StateError)
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict) or "schema" not in data:
                reason = "it is not an odatui state file"
            elif data["schema"] > SCHEMA_VERSION:
                reason = f"it was written by a newer odatui (schema {data['schema']})"
            else:
                state = RunState.from_json(data)
                reason = _shape_problem(state)
                if reason is None:
                    return state
        except UnicodeDecodeError:
            reason = "it is not UTF-8 text"
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            reason = f"it is damaged ({type(exc).__name__})"
        return self._set_aside(reason or "it is damaged")

    def _set_aside(self, reason: str) -> RunState:
        """Keep the unusable file beside it (never overwritten) and start afresh, saying why and where it is."""
        aside = self._aside_path()
        try:
            os.replace(self.path, aside)
        except OSError as exc:
            raise StateError(f"the run state {self.path} cannot be used ({reason}) and cannot be set aside: "
                             f"{exc.strerror or exc}", hint=f"move it away by hand, or make {self.directory} writable"
                             ) from None
        state = RunState(self.target)
        state.notes.append(f"The previous run state could not be used because {reason}; it was kept as {aside}.")
        return state

    def _aside_path(self, why: str = "unreadable") -> Path:
        # A free name: os.replace onto an earlier kept copy (two bad loads in one second) would destroy it.
        stamp = int(time.time())
        for n in range(1000):
            aside = self.path.with_name(f"{self.path.stem}.{why}-{stamp}{f'-{n}' if n else ''}.json")
            if not aside.exists():
                return aside
        raise StateError(f"too many unreadable run states kept next to {self.path}", hint="remove the old ones")

    def save(self, state: RunState) -> None:
        state.updated = time.time()
        data = json.dumps(state.to_json(), indent=2, sort_keys=True).encode()
        # A spelling's file is a link to the canonical state (rebind): write through it, never over it, so a
        # writer that opened the state by the config's spelling still updates the one history.
        path = self.path.parent / os.readlink(self.path) if self.path.is_symlink() else self.path
        tmp = None
        try:
            fd, tmp = open_temp_beside(path, 0o600)  # a random name, O_EXCL | O_NOFOLLOW: never a planted link
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            hint = "free some disk space" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else None
            raise StateError(f"cannot write the run state {self.path}: {exc.strerror}; the previous state is intact",
                             hint=hint) from None

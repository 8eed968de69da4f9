"""Git sources: a branch or tag resolved to a commit, the registry file validated at that commit, pinned.

Two resolvers, one contract (`resolve(source_name, spec) -> Pin`):
- `OnlineResolver` (what `pulumi preview/up` uses, and `python -m tools.registry_pins update`): a shallow
  fetch of the ref into a cache directory with gitpython, the registry file read and validated at the
  fetched commit, and the pin recorded in the lock file (`registry/sources.lock.json`). Only a pin whose
  file validated is ever recorded.
- `LockedResolver` (the offline renderer, tests): never touches the network; the commit is the one the
  lock file records for that repository, ref and path, or a clear error says how to record it.

Credentials for private repositories at preview come from the git configuration of the machine running
Pulumi (credential helper); the deployed server gets its own from a Secret mounted at `passwordFile`.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import git

from components.config.registry import GitSourceSpec
from components.registry.data import validate_registry_data

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
LOCK_FILE = PROJECT_ROOT / "registry" / "sources.lock.json"
DEFAULT_CACHE = PROJECT_ROOT / ".cache" / "registry-git"


class GitSourceError(Exception):
    """A git source that cannot be resolved or whose data is invalid; the message names the source."""


@dataclass(frozen=True)
class Pin:
    repository: str
    ref: str
    path: str
    commit: str

    @property
    def key(self) -> str:
        return lock_key(self.repository, self.ref, self.path)


def lock_key(repository: str, ref: str, path: str) -> str:
    return f"{repository} {ref} {path}"


class PinResolver(Protocol):
    def resolve(self, source_name: str, spec: GitSourceSpec) -> Pin: ...


_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_LOCK_FIELDS = ("repository", "ref", "path", "commit")


def read_lock(path: Path = LOCK_FILE) -> dict[str, dict]:
    """The pins of the lock file; a GitSourceError naming the file when it cannot be used (unreadable, not
    UTF-8, not JSON — e.g. left with merge-conflict markers — or not shaped like `write_lock` writes it)."""
    if not path.exists():
        return {}
    redo = "fix it, or delete it and record the pins again with `python -m tools.registry_pins update <stack>`"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise GitSourceError(f"{_shown(path)}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise GitSourceError(f"{_shown(path)}: not UTF-8 text (byte {error.start}); {redo}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        conflict = " (it has merge-conflict markers)" if re.search(r"^(<<<<<<<|=======|>>>>>>>)", text, re.M) else ""
        raise GitSourceError(f"{_shown(path)}: not valid JSON{conflict} at line {error.lineno}; {redo}") from None
    pins = document.get("pins", {}) if isinstance(document, dict) else None
    if not isinstance(pins, dict) or not all(
            isinstance(entry, dict) and all(isinstance(entry.get(f), str) for f in _LOCK_FIELDS)
            and _COMMIT.match(entry["commit"]) for entry in pins.values()):
        raise GitSourceError(f"{_shown(path)}: expected {{\"pins\": {{<key>: {{repository, ref, path, commit (40 hex "
                             f"digits)}}}}}}; {redo}")
    return pins


def write_lock(pins: dict[str, dict], path: Path = LOCK_FILE) -> None:
    document = {
        "comment": "Commits the git sources of the MCP registry are pinned to. Written by "
                   "`python -m tools.registry_pins update` (and by pulumi preview/up); read by the offline renderer.",
        "pins": dict(sorted(pins.items())),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside it, then renamed over it: a reader (or an interrupted writer) never sees half a lock.
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staged.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(staged, path)


class LockedResolver:
    """Pins from the lock file only: no network."""

    def __init__(self, lock_path: Path = LOCK_FILE):
        self.lock_path = lock_path
        self._pins: dict[str, dict] | None = None

    @property
    def pins(self) -> dict[str, dict]:
        """Read when a git source needs it: a stack without one never depends on the lock file."""
        if self._pins is None:
            self._pins = read_lock(self.lock_path)
        return self._pins

    def resolve(self, source_name: str, spec: GitSourceSpec) -> Pin:
        entry = self.pins.get(lock_key(spec.repository, spec.ref, spec.path))
        if entry is None:
            raise GitSourceError(
                f"registry source {source_name!r}: no commit recorded for {spec.repository} {spec.ref} {spec.path} "
                f"in {_shown(self.lock_path)}; record it with `python -m tools.registry_pins update <stack>`")
        return Pin(spec.repository, spec.ref, spec.path, entry["commit"])


class OnlineResolver:
    """Resolves with a shallow fetch, validates the file at the commit, records the pin in the lock."""

    def __init__(self, cache_dir: Path = DEFAULT_CACHE, lock_path: Path | None = LOCK_FILE):
        self.cache_dir = Path(cache_dir)
        self.lock_path = lock_path

    def resolve(self, source_name: str, spec: GitSourceSpec) -> Pin:
        label = f"registry source {source_name!r}"
        repo = self._cache(spec.repository)
        try:
            repo.git.fetch("--depth=1", spec.repository, spec.ref)  # into FETCH_HEAD only: no ref, no tag is stored
        except git.GitCommandError as error:
            if _MISSING_REF.search(error.stderr):
                raise GitSourceError(f"{label}: ref {spec.ref} not found in {spec.repository}") from None
            raise GitSourceError(f"{label}: cannot fetch {spec.repository}: {_git_message(error.stderr)}") from None
        commit = repo.git.rev_parse("FETCH_HEAD^{commit}")
        try:
            text = repo.git.show(f"{commit}:{spec.path}")
        except git.GitCommandError:
            raise GitSourceError(f"{label}: {spec.path} not found in {spec.repository} at {commit}") from None
        problems = validate_registry_data(text, f"{spec.repository}@{commit[:12]}:{spec.path}")
        if problems:
            raise GitSourceError(f"{label}: invalid registry data:\n  " + "\n  ".join(problems))
        pin = Pin(spec.repository, spec.ref, spec.path, commit)
        if self.lock_path is not None:
            pins = read_lock(self.lock_path)
            pins[pin.key] = {k: v for k, v in asdict(pin).items()}
            write_lock(pins, self.lock_path)
        return pin

    def _cache(self, repository: str) -> git.Repo:
        """One bare repository per repository URL (no working tree: only fetched objects are kept). `git init`
        creates the folders, and on an existing repository keeps everything that is there."""
        return git.Repo.init(self.cache_dir / hashlib.sha256(repository.encode()).hexdigest()[:16], bare=True)


#: How git says a branch or tag is not on the remote (local, smart HTTP and SSH transports).
_MISSING_REF = re.compile(r"couldn't find remote ref|not our ref|no such remote ref")


def _git_message(stderr: str) -> str:
    """What git said, without gitpython's `stderr: '...'` wrapper: its first fatal or error line (the cause;
    what follows is advice), else its last line."""
    text = re.sub(r"^\s*stderr: '(.*)'\s*$", r"\1", stderr, flags=re.S)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    causes = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return causes[0] if causes else lines[-1] if lines else "git fetch failed"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)

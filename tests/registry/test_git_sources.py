"""Git sources: refs resolved to commits with gitpython against real local repositories, pins recorded."""
from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace

import git
import pytest

from components.config.registry import GitSourceSpec
from components.registry.git_sources import GitSourceError, LockedResolver, OnlineResolver, read_lock, write_lock
from tests.conftest import PROJECT_ROOT, STACKS, registry_document
from tools import registry_pins


def _spec(repo, **ref) -> GitSourceSpec:
    return GitSourceSpec(repository=repo.url, path="data/registry.json", **(ref or {"branch": "main"}))


@pytest.fixture
def resolver(tmp_path) -> OnlineResolver:
    return OnlineResolver(cache_dir=tmp_path / "cache", lock_path=tmp_path / "sources.lock.json")


def test_a_branch_resolves_to_its_head_and_a_moved_branch_to_the_new_head(git_repo, resolver):
    first = git_repo.commit({"data/registry.json": registry_document("io.example/a")})
    assert resolver.resolve("team", _spec(git_repo)).commit == first
    second = git_repo.commit({"data/registry.json": registry_document("io.example/a", "io.example/b")})
    assert second != first
    assert resolver.resolve("team", _spec(git_repo)).commit == second


def test_an_annotated_tag_resolves_to_the_commit_it_points_at(git_repo, resolver):
    tagged = git_repo.commit({"data/registry.json": registry_document("io.example/a")})
    git_repo.tag("v1.0.0")
    git_repo.commit({"data/registry.json": registry_document("io.example/b")})
    assert resolver.resolve("team", _spec(git_repo, tag="v1.0.0")).commit == tagged


def test_a_missing_ref_fails_naming_the_source_and_the_ref(git_repo, resolver):
    git_repo.commit({"data/registry.json": registry_document("io.example/a")})
    with pytest.raises(GitSourceError, match=r"registry source 'team': ref refs/heads/nope not found in file://"):
        resolver.resolve("team", _spec(git_repo, branch="nope"))


def test_a_missing_file_fails_naming_the_source_and_the_path(git_repo, resolver):
    git_repo.commit({"other.json": "{}"})
    with pytest.raises(GitSourceError, match=r"registry source 'team': data/registry.json not found in .* at [0-9a-f]{40}"):
        resolver.resolve("team", _spec(git_repo))


def test_an_unreachable_repository_fails_naming_the_source(tmp_path, resolver):
    spec = GitSourceSpec(repository=(tmp_path / "missing").as_uri(), branch="main", path="r.json")
    with pytest.raises(GitSourceError, match=r"registry source 'team': cannot fetch file://.*missing"):
        resolver.resolve("team", spec)


def test_invalid_data_at_the_commit_fails_naming_the_server(git_repo, resolver):
    document = registry_document("io.example/a")
    del document["data"]["servers"][0]["description"]
    git_repo.commit({"data/registry.json": document})
    with pytest.raises(GitSourceError, match=r"(?s)registry source 'team': invalid registry data:.*server 'io.example/a'.*description"):
        resolver.resolve("team", _spec(git_repo))
    assert read_lock(resolver.lock_path) == {}


def test_a_resolved_pin_is_recorded_and_the_offline_resolver_reads_it_without_the_repository(git_repo, resolver):
    commit = git_repo.commit({"data/registry.json": registry_document("io.example/a")})
    resolver.resolve("team", _spec(git_repo))
    offline = LockedResolver(resolver.lock_path)
    git_repo.commit({"data/registry.json": registry_document("io.example/b")})  # moved, but the lock decides
    assert offline.resolve("team", _spec(git_repo)).commit == commit


def test_the_offline_resolver_names_the_source_and_the_command_when_no_pin_is_recorded(git_repo, tmp_path):
    with pytest.raises(GitSourceError, match=r"registry source 'team': no commit recorded for .* "
                                             r"`python -m tools.registry_pins update <stack>`"):
        LockedResolver(tmp_path / "none.json").resolve("team", _spec(git_repo))


def test_the_lock_file_pins_every_git_source_of_every_shipped_stack():
    assert registry_pins.main(["check", *STACKS]) == 0
    document = json.loads((PROJECT_ROOT / "registry" / "sources.lock.json").read_text())
    for stack in STACKS:
        for name, spec in registry_pins.git_sources(stack):
            entry = document["pins"][f"{spec.repository} {spec.ref} {spec.path}"]
            assert len(entry["commit"]) == 40 and entry["ref"] == spec.ref, (stack, name)


# -- python -m tools.registry_pins update -------------------------------------------------------------------

def _project(tmp_path, sources: list[dict]):
    """A project root whose dev stack has these registry sources."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "Pulumi.dev.yaml").write_text(json.dumps({"config": {"toolhive:registry": {"sources": sources}}}))
    return root


def _git_source(name: str, url: str, **ref) -> dict:
    return {"name": name, "git": {"repository": url, "path": "data/registry.json", **(ref or {"branch": "main"})},
            "syncInterval": "5m"}


def _update(tmp_path, root, *args):
    return registry_pins.main(["update", "dev", *args], project_root=root, lock_path=tmp_path / "lock.json",
                              cache_dir=tmp_path / "cache")


def test_update_prints_old_and_new_commits_and_can_move_one_source(git_repo, tmp_path, capsys):
    first = git_repo.commit({"data/registry.json": registry_document("io.example/a")})
    git_repo.tag("v1.0.0")
    root = _project(tmp_path, [_git_source("moving", git_repo.url), _git_source("fixed", git_repo.url, tag="v1.0.0")])
    assert _update(tmp_path, root) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"dev: moving: {git_repo.url} refs/heads/main: (none) -> {first[:12]}",
        f"dev: fixed: {git_repo.url} refs/tags/v1.0.0: (none) -> {first[:12]}"]
    second = git_repo.commit({"data/registry.json": registry_document("io.example/a", "io.example/b")})
    assert _update(tmp_path, root, "--source", "fixed") == 0
    assert capsys.readouterr().out.splitlines() == [f"dev: fixed: {git_repo.url} refs/tags/v1.0.0: unchanged"]
    assert {p["ref"]: p["commit"] for p in read_lock(tmp_path / "lock.json").values()} == {
        "refs/heads/main": first, "refs/tags/v1.0.0": first}  # --source fixed left moving where it was
    assert _update(tmp_path, root, "--source", "moving") == 0
    assert capsys.readouterr().out.splitlines() == [
        f"dev: moving: {git_repo.url} refs/heads/main: {first[:12]} -> {second[:12]}"]
    assert _update(tmp_path, root, "--source", "nope") == 1
    assert "no git source named 'nope' in stack(s) dev" in capsys.readouterr().err


def test_a_failed_source_leaves_the_whole_lock_as_it_was(git_repo, tmp_path, capsys):
    git_repo.commit({"data/registry.json": registry_document("io.example/a")})
    offline = (tmp_path / "unreachable").as_uri()  # what an offline machine sees: the fetch fails
    root = _project(tmp_path, [_git_source("good", git_repo.url), _git_source("away", offline)])
    (tmp_path / "lock.json").write_text('{"pins": {}}\n')
    before = (tmp_path / "lock.json").read_bytes()
    assert _update(tmp_path, root) == 1
    err = capsys.readouterr().err
    assert f"dev: registry source 'away': cannot fetch {offline}" in err and "Traceback" not in err
    assert "lock.json left as it was: 1 source(s) failed" in err
    assert (tmp_path / "lock.json").read_bytes() == before  # not even the source that resolved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "lock.json", "project", "upstream"]  # no temp file


# ---------------------------------------------------------------------------------------------
# The fetch: shallow, without tags, into one bare cache repository per URL
# ---------------------------------------------------------------------------------------------

def test_the_fetch_is_shallow_without_tags_into_one_bare_cache_repository_per_url(git_repo, resolver):
    git_repo.commit({"data/registry.json": registry_document("io.example/a")})
    git_repo.tag("v1.0.0")
    head = git_repo.commit({"data/registry.json": registry_document("io.example/b")})
    git_repo.tag("v1.1.0")  # on the fetched commit: still not fetched
    resolver.resolve("team", _spec(git_repo))
    resolver.resolve("team", _spec(git_repo))  # the second resolve reuses the cache
    assert [p.name for p in resolver.cache_dir.iterdir()] == [hashlib.sha256(git_repo.url.encode()).hexdigest()[:16]]
    cache = git.Repo(next(resolver.cache_dir.iterdir()))
    assert cache.bare
    assert cache.git.rev_list("--count", "FETCH_HEAD") == "1" and cache.git.rev_parse("FETCH_HEAD") == head  # shallow
    assert cache.tags == []


def test_the_cache_folder_is_made_with_its_parents(git_repo, tmp_path):
    commit = git_repo.commit({"data/registry.json": registry_document("io.example/a")})
    resolver = OnlineResolver(cache_dir=tmp_path / "deep" / "er" / "cache", lock_path=None)
    assert resolver.resolve("team", _spec(git_repo)).commit == commit


class _FailingFetch:
    """A cache repository whose fetch fails as gitpython reports it: stderr wrapped in `stderr: '...'`."""

    def __init__(self, stderr: str):
        self.git = SimpleNamespace(fetch=self.fetch)
        self.stderr = stderr

    def fetch(self, *args):
        raise git.GitCommandError(["git", "fetch", *args], 128, stderr=self.stderr)


@pytest.mark.parametrize("said", [
    "fatal: couldn't find remote ref refs/heads/nope",  # local and smart HTTP
    "error: Server does not allow request for unadvertised object nope\nfatal: not our ref nope",
    "fatal: no such remote ref nope",  # older transports
])
def test_every_way_git_says_a_ref_is_missing_is_a_missing_ref(monkeypatch, resolver, said):
    monkeypatch.setattr(OnlineResolver, "_cache", lambda self, repository: _FailingFetch(said))
    spec = GitSourceSpec(repository="https://git.example/r.git", branch="nope", path="r.json")
    with pytest.raises(GitSourceError) as raised:
        resolver.resolve("team", spec)
    assert str(raised.value) == "registry source 'team': ref refs/heads/nope not found in https://git.example/r.git"


@pytest.mark.parametrize(("stderr", "shown"), [
    ("fatal: '/srv/missing' does not appear to be a git repository\nfatal: Could not read from remote repository.\n\n"
     "Please make sure you have the correct access rights\nand the repository exists.",
     "fatal: '/srv/missing' does not appear to be a git repository"),  # the cause, not the advice after it
    ("warning: redirecting to https://git.example/r.git/\nerror: RPC failed; HTTP 500\nfatal: early EOF",
     "error: RPC failed; HTTP 500"),
    ("remote: Internal error\n  \nremote: try again later\nsomething else went wrong\n", "something else went wrong"),  # no cause: the last line
    ("", "git fetch failed"),
])
def test_a_failed_fetch_names_what_git_said_first(monkeypatch, resolver, stderr, shown):
    monkeypatch.setattr(OnlineResolver, "_cache", lambda self, repository: _FailingFetch(stderr))
    spec = GitSourceSpec(repository="https://git.example/r.git", branch="main", path="r.json")
    with pytest.raises(GitSourceError) as raised:
        resolver.resolve("team", spec)
    assert str(raised.value) == f"registry source 'team': cannot fetch https://git.example/r.git: {shown}"


def test_an_unreachable_repository_names_gits_own_reason(tmp_path, resolver):
    missing = tmp_path / "missing"
    spec = GitSourceSpec(repository=missing.as_uri(), branch="main", path="r.json")
    with pytest.raises(GitSourceError) as raised:
        resolver.resolve("team", spec)
    assert str(raised.value) == (f"registry source 'team': cannot fetch {missing.as_uri()}: "
                                 f"fatal: '{missing}' does not appear to be a git repository")


def test_every_problem_of_invalid_data_is_listed_under_the_file_at_the_commit(git_repo, resolver):
    document = registry_document("io.example/a", "io.example/b")
    for server in document["data"]["servers"]:
        del server["description"]
    commit = git_repo.commit({"data/registry.json": document})
    with pytest.raises(GitSourceError) as raised:
        resolver.resolve("team", _spec(git_repo))
    head, *problems = str(raised.value).split("\n  ")
    assert head == "registry source 'team': invalid registry data:"
    assert len(problems) == 4  # each server: the schema's required property and the non-empty rule
    assert all(p.startswith(f"{git_repo.url}@{commit[:12]}:data/registry.json: server 'io.example/") for p in problems)


# ---------------------------------------------------------------------------------------------
# The lock file
# ---------------------------------------------------------------------------------------------

def test_the_lock_file_is_written_sorted_indented_and_explained_with_its_folders(tmp_path):
    path = tmp_path / "new" / "registry" / "sources.lock.json"
    pins = {key: {"repository": key, "ref": "refs/heads/main", "path": "r.json", "commit": "a" * 40} for key in "ba"}
    write_lock(pins, path)
    assert path.read_text(encoding="utf-8") == json.dumps({
        "comment": "Commits the git sources of the MCP registry are pinned to. Written by `python -m "
                   "tools.registry_pins update` (and by pulumi preview/up); read by the offline renderer.",
        "pins": {"a": pins["a"], "b": pins["b"]},
    }, indent=2) + "\n"
    assert read_lock(path) == pins
    assert [p.name for p in path.parent.iterdir()] == ["sources.lock.json"]  # the staged copy was renamed over it


@pytest.mark.parametrize(("relative", "shown"), [(True, "registry/none.lock.json"), (False, "{tmp}/none.lock.json")])
def test_a_missing_pin_names_the_lock_file_relative_to_the_project_when_inside_it(tmp_path, relative, shown):
    lock = (PROJECT_ROOT / "registry" / "none.lock.json") if relative else tmp_path / "none.lock.json"
    spec = GitSourceSpec(repository="https://git.example/r.git", branch="main", path="r.json")
    with pytest.raises(GitSourceError) as raised:
        LockedResolver(lock).resolve("team", spec)
    assert f" in {shown.format(tmp=tmp_path)}; record it with" in str(raised.value)

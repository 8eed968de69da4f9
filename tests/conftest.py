"""Shared test helpers: vendored reference data, the mock runtime and resource lookup."""
from __future__ import annotations

import ast

import json
from pathlib import Path
from typing import Any

import pytest

from tools.mock_runtime import ProgramRun, RegisteredResource
from tools.render import read_stack_file, render
from tools.validate import Problem, dry_run

PROJECT_ROOT = Path(__file__).resolve().parent.parent
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]


def project_copy(project: Path, skip: tuple[str, ...] = (), message: str = "base") -> Path:
    """The project's tracked files (less the `skip` prefixes) in `project`, committed as a fresh git repository:
    what a new clone looks like, for tests that run commands against a checkout."""
    import shutil
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    for relative in tracked.stdout.splitlines():
        source = PROJECT_ROOT / relative
        if source.is_file() and not relative.startswith(skip):
            (project / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, project / relative)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=project, check=True)
    subprocess.run([*GIT, "commit", "-qm", message], cwd=project, check=True)
    return project


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The few tests that run real processes for seconds (marked `process`) go first, in their order, the rest
    after them in theirs: under --dist worksteal the other worker takes its share of the quick tests meanwhile,
    and no worker is left waiting on a long test at the end of the run."""
    items.sort(key=lambda item: item.get_closest_marker("process") is None)


DATA_DIR = PROJECT_ROOT / "tests" / "data"
STACKS = ("dev", "staging", "prod")
#: The cluster test renders deploy to (toolhive:cluster); tests of that key pass their own.
TEST_CLUSTER = {"context": "test-cluster"}


def data_files(relative: str, pattern: str = "*.yaml") -> list[Path]:
    """The vendored reference files under tests/data/<relative> matching pattern (recursive with **), sorted.

    Called at collection time to parametrize tests: missing data is an error, never an empty (skipped) set.
    """
    folder = DATA_DIR / relative
    found = sorted(folder.glob(pattern))
    if not found:
        raise FileNotFoundError(f"no vendored reference data {pattern} in {folder} (see tests/data/README.md)")
    return found


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: reference data vendored from upstream (PSA fixtures, ToolHive examples and chart facts)."""
    if not DATA_DIR.is_dir():
        pytest.fail(f"vendored reference data not found at {DATA_DIR}")
    return DATA_DIR


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Removed: tests never read ../shared. Vendor what a test needs into tests/data and use `data_dir`."""
    pytest.fail("tests must not read ../shared: vendor the data into tests/data (tests/data/README.md) "
                "and use the data_dir fixture")


@pytest.fixture(params=[True, False], ids=["preview", "up"])
def preview(request) -> bool:
    """Every program test runs twice: as `pulumi preview` and as `pulumi up`."""
    return request.param


class Rendered:
    """A program run with lookups by Kubernetes kind and name."""

    def __init__(self, run: ProgramRun, config: dict[str, Any] | None = None, *, allow_problems: bool = False):
        self.run = run
        self.resources = run.resources
        self.outputs = run.outputs
        #: what the renderer's offline dry run (tools.validate) rejects; checked for every run
        self.problems: list[Problem] = dry_run(run.resources, config)
        if not allow_problems:
            self.assert_dry_run_clean()

    def assert_dry_run_clean(self) -> None:
        """Fail the test loudly if a real `pulumi up` of this run would fail (what the renderer refuses)."""
        if self.problems:
            pytest.fail("the offline dry run rejects this render (a real `pulumi up` would fail):\n  "
                        + "\n  ".join(map(str, self.problems)), pytrace=False)

    def objects(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [r.inputs for r in self.k8s_resources(kind)]

    def k8s_resources(self, kind: str | None = None) -> list[RegisteredResource]:
        return [r for r in self.resources
                if r.custom and r.type.startswith("kubernetes:") and (kind is None or r.inputs.get("kind") == kind)]

    def resource(self, kind: str, name: str, namespace: str | None = None) -> RegisteredResource:
        found = [r for r in self.k8s_resources(kind)
                 if r.inputs["metadata"]["name"] == name and r.inputs["metadata"].get("namespace") == namespace]
        assert len(found) == 1, f"expected one {kind} {namespace}/{name}, found {len(found)}"
        return found[0]

    def object(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self.resource(kind, name, namespace).inputs

    def waits_for(self, resource: RegisteredResource) -> set[str]:
        """URNs the engine creates before `resource`: its depends_on, their depends_on, and so on.

        What a parent component waited for counts too: the SDK registers a child only once its parent's URN
        has resolved, and it sends the parent's registration only after the parent's depends_on were created.
        """
        by_urn = {r.urn: r for r in self.resources}

        def direct(of: RegisteredResource) -> list[str]:
            found, parent = list(of.dependencies), by_urn.get(of.parent)
            while parent is not None:
                found += parent.dependencies
                parent = by_urn.get(parent.parent)
            return found

        seen: set[str] = set()
        pending = direct(resource)
        while pending:
            urn = pending.pop()
            if urn not in seen:
                seen.add(urn)
                pending.extend(direct(by_urn[urn]) if urn in by_urn else [])
        return seen


_RENDERS: dict[str, Rendered] = {}


def render_config(toolhive: dict[str, Any] | None = None, *, preview: bool = False, extra: dict | None = None,
                  secret_keys: list[str] | None = None, stack: str = "test", into: ProgramRun | None = None,
                  allow_problems: bool = False) -> Rendered:
    """Run the program under mocks with `toolhive:` keys given without their prefix.

    Every render goes through the renderer's dry run (tools.validate.dry_run): a problem fails the test
    loudly, unless `allow_problems` asks for the raw run so the test can assert on `Rendered.problems`.
    A render is deterministic, so identical inputs share one run (tests only read it).
    """
    toolhive = dict(toolhive or {})
    toolhive.setdefault("cluster", TEST_CLUSTER)  # every stack must name its cluster
    config = {f"toolhive:{key}": value for key, value in toolhive.items()}
    config.update(extra or {})
    cache_key = json.dumps([config, secret_keys, stack, preview], sort_keys=True)
    rendered = _RENDERS.get(cache_key) if into is None else None
    if rendered is None:
        run = render(config, secret_keys, stack=stack, preview=preview, result=into)
        rendered = _RENDERS[cache_key] = Rendered(run, config, allow_problems=True)
    if not allow_problems:
        rendered.assert_dry_run_clean()
    return rendered


@pytest.fixture
def component_outputs(monkeypatch) -> dict[str, list[dict]]:
    """What each component passes to register_outputs, by class name, for the renders of one test (which run
    afresh: the render cache is emptied for the test)."""
    import pulumi

    recorded: dict[str, list[dict]] = {}
    original = pulumi.ComponentResource.register_outputs

    def record(self, outputs):
        recorded.setdefault(type(self).__name__, []).append(outputs)
        return original(self, outputs)

    monkeypatch.setattr(pulumi.ComponentResource, "register_outputs", record)
    monkeypatch.setattr(f"{__name__}._RENDERS", {})
    return recorded


def render_stack(stack: str, *, preview: bool = False) -> Rendered:
    config, secret_keys = read_stack_file(PROJECT_ROOT / f"Pulumi.{stack}.yaml")
    toolhive = {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith("toolhive:")}
    others = {key: value for key, value in config.items() if not key.startswith("toolhive:")}
    return render_config(toolhive, extra=others, secret_keys=secret_keys, stack=stack, preview=preview)


def make_unreadable(monkeypatch, name: str) -> None:
    """Reading the file called `name` fails as a file without read permission does (these tests run as root,
    which reads every file whatever its mode)."""
    read_text = Path.read_text

    def read(path, *args, **kwargs):
        if path.name == name:
            raise PermissionError(13, "Permission denied", str(path))
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read)


def load_yaml_all(text: str) -> list[Any]:
    """Every document of a YAML stream, as yaml.safe_load_all reads them, with the bundle's loader (libyaml's): ten
    times faster on the megabyte of CRDs (tests/test_bench.py shows the two loaders read the same values)."""
    import yaml

    from components.bundle import LOADER

    return list(yaml.load_all(text, Loader=LOADER))


def load_yaml(text: str) -> Any:
    """One YAML document, as yaml.safe_load reads it (the bundle's loader, as load_yaml_all)."""
    import yaml

    from components.bundle import LOADER

    return yaml.load(text, Loader=LOADER)


def stack_file(stack: str) -> dict[str, Any]:
    """The `config:` map of Pulumi.<stack>.yaml as written (secure values masked)."""
    return read_stack_file(PROJECT_ROOT / f"Pulumi.{stack}.yaml")[0]


def shipped_servers(stack: str, root: Path = PROJECT_ROOT) -> list[dict[str, Any]]:
    """The server entries a shipped stack declares, read from its files (`toolhive:servers.directory`) and its
    inline lists, as written: `{kind, name, namespace, spec, file}`. Tests take a stack's servers from here,
    never from a list of names, so adding, removing or renaming a server file needs no test edit."""
    import yaml

    servers = (read_stack_file(root / f"Pulumi.{stack}.yaml")[0].get("toolhive:servers") or {})
    found = []
    for key, kind in (("mcpServers", "MCPServer"), ("remoteProxies", "MCPRemoteProxy"),
                      ("virtualServers", "VirtualMCPServer")):
        found += [{"kind": kind, **entry, "file": f"toolhive:servers.{key}[{index}]"}
                  for index, entry in enumerate(servers.get(key) or [])]
    if servers.get("directory"):
        for path in sorted((root / servers["directory"]).glob("*.yaml")):
            entry = yaml.safe_load(path.read_text(encoding="utf-8"))
            found.append({"kind": "MCPServer", **entry, "file": path.relative_to(root).as_posix()})
    return found


def deployment_env(deployment: dict[str, Any]) -> dict[str, dict]:
    """The manager container's env by name."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {var["name"]: var for var in container["env"]}


REGISTRY_DATA = PROJECT_ROOT / "registry" / "data" / "registry.json"


def registry_document(*names: str, **server_fields) -> dict[str, Any]:
    """A valid upstream-format registry.json with one server per name (fields override every server)."""
    servers = [{"name": name, "description": f"{name} does things", "version": "1.0.0",
                "packages": [{"registryType": "oci", "identifier": f"ghcr.io/example/{name.split('/')[-1]}:1.0.0",
                              "transport": {"type": "stdio"}}], **server_fields} for name in names]
    return {"version": "1.0.0", "meta": {"last_updated": "2026-01-01T00:00:00Z"}, "data": {"servers": servers}}


class LocalGitRepo:
    """A real git repository in a temp dir, for git-source tests (no network): file:// URL, commits, tags."""

    def __init__(self, path: Path):
        import git

        self.path = path
        self.repo = git.Repo.init(path, initial_branch="main")
        with self.repo.config_writer() as config:
            config.set_value("user", "name", "test").set_value("user", "email", "test@example.com")

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def commit(self, files: dict[str, Any], message: str = "change") -> str:
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
            self.repo.index.add([name])
        return self.repo.index.commit(message).hexsha

    def tag(self, name: str, annotated: bool = True) -> None:
        self.repo.create_tag(name, message=f"release {name}" if annotated else None)


@pytest.fixture
def git_repo(tmp_path) -> LocalGitRepo:
    return LocalGitRepo(tmp_path / "upstream")


def imported_top_level_modules(path: Path) -> set[str]:
    """The top-level modules a Python file imports absolutely (relative imports stay inside its package)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names

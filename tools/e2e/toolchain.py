"""The real binaries of the end-to-end run: found on PATH, or built once from the Go module proxy.

Every part is pinned in `pins.toml` beside this file. For each binary the order is:
1. a binary of that name on PATH (a user with the Pulumi CLI and envtest binaries installed needs no Go);
2. the cache, `$XDG_CACHE_HOME/toolhive-e2e/<part>-<version>/bin/` (default `~/.cache/...`);
3. a build with the go command, in a small wrapper module in that cache directory, that requires the pinned
   module (so its own `replace` directives do not apply) and copies only the replaces the build needs.

Builds keep the user's Go caches (GOMODCACHE, GOCACHE), so a second machine-warm build takes seconds.
Nothing upstream is written into the project: the wrapper modules live in the cache directory.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

PINS_FILE = Path(__file__).with_name("pins.toml")

#: k8s.io/kubernetes 1.33 replaces these with ./staging/src/k8s.io/NAME; a wrapper names the published modules.
K8S_STAGING = (
    "api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider cluster-bootstrap "
    "code-generator component-base component-helpers controller-manager cri-api cri-client csi-translation-lib "
    "dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator kube-controller-manager kube-proxy "
    "kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission sample-apiserver sample-cli-plugin "
    "sample-controller"
).split()


class ToolchainError(RuntimeError):
    """A binary is neither on PATH nor buildable here; the message says what to install."""


@dataclass(frozen=True)
class Part:
    """One pinned upstream part: a Go module and the binaries built from it."""

    name: str
    module: str
    version: str
    binaries: list[str]
    packages: list[str] = field(default_factory=list)
    requires: dict[str, str] = field(default_factory=dict)
    replaces: dict[str, str] = field(default_factory=dict)
    tags: str = ""
    ldflags: str = ""
    staging_version: str = ""
    embed_schema: str = ""
    release: str = ""


def load_pins(path: Path = PINS_FILE) -> dict[str, Part]:
    data = tomllib.loads(path.read_text())
    return {name: Part(name=name, **spec) for name, spec in data.items()}


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "toolhive-e2e"


def log(message: str) -> None:
    print(f"[e2e] {message}", file=sys.stderr, flush=True)


def wrapper_go_mod(part: Part) -> str:
    """The go.mod of the wrapper module that builds `part` (pure: tested offline)."""
    requires = {part.module: part.version, **part.requires}
    replaces = dict(part.replaces)
    if part.staging_version:
        for staging in K8S_STAGING:
            replaces[f"k8s.io/{staging}"] = f"k8s.io/{staging} {part.staging_version}"
    lines = ["module toolhive.e2e/" + part.name.replace("/", "-"), "", "go 1.24", "", "require ("]
    lines += [f"\t{mod} {ver}" for mod, ver in sorted(requires.items())]
    lines.append(")")
    if replaces:
        lines += ["", "replace ("]
        lines += [f"\t{mod} => {target}" for mod, target in sorted(replaces.items())]
        lines.append(")")
    return "\n".join(lines) + "\n"


class Toolchain:
    """Resolves every binary the run needs to a path, building what is missing."""

    def __init__(self, pins: dict[str, Part] | None = None, *, use_path: bool = True, build: bool = True):
        self.pins = pins if pins is not None else load_pins()
        self.use_path = use_path
        self.build = build
        self.timings: dict[str, float] = {}
        self.sources: dict[str, str] = {}

    def part_for(self, binary: str) -> Part:
        for part in self.pins.values():
            if binary in part.binaries:
                return part
        raise ToolchainError(f"no pinned part builds {binary!r} (tools/e2e/pins.toml)")

    def bin_dir(self, part: Part) -> Path:
        return cache_root() / f"{part.name}-{part.version}" / "bin"

    def resolve(self, binary: str) -> Path:
        if self.use_path and (found := shutil.which(binary)):
            self.sources[binary] = "PATH"
            return Path(found)
        part = self.part_for(binary)
        cached = self.bin_dir(part) / binary
        if cached.exists():
            self.sources[binary] = "cache"
            return cached
        if not self.build:
            raise ToolchainError(f"{binary} is not on PATH and not built in {cached.parent}")
        self._build(part)
        self.sources[binary] = "built"
        return cached

    def resolve_all(self, binaries: list[str]) -> dict[str, Path]:
        return {name: self.resolve(name) for name in binaries}

    # -- building ----------------------------------------------------------------------------------------------------
    def _go(self) -> str:
        go = shutil.which("go")
        if not go:
            raise ToolchainError(
                "the end-to-end run needs its binaries on PATH (pulumi, pulumi-resource-kubernetes, etcd, "
                "kube-apiserver, kube-controller-manager, thv-operator) or Go >= 1.24 and the Go module proxy "
                "to build them; neither was found"
            )
        return go

    def _build(self, part: Part) -> None:
        go = self._go()
        workdir = cache_root() / f"{part.name}-{part.version}"
        src = workdir / "src"
        bindir = workdir / "bin"
        src.mkdir(parents=True, exist_ok=True)
        bindir.mkdir(parents=True, exist_ok=True)
        (src / "go.mod").write_text(wrapper_go_mod(part))
        env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOWORK": "off"}
        started = time.monotonic()
        log(f"building {part.name} {part.version} ({', '.join(part.binaries)}); a cold build takes minutes")
        flags = ["-trimpath"]
        if part.tags:
            flags += ["-tags", part.tags]
        flags += ["-ldflags", f"-s -w {part.ldflags}".strip()]
        if part.embed_schema:
            self._prepare_provider_main(part, src, env)
            targets = [(".", part.binaries[0])]
        else:
            targets = list(zip(part.packages, part.binaries))
        for package, binary in targets:
            out = bindir / (binary + ".tmp")
            cmd = [go, "build", *flags, "-o", str(out), package]
            proc = subprocess.run(cmd, cwd=src, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if proc.returncode != 0:
                tail = "\n".join(proc.stdout.strip().splitlines()[-25:])
                raise ToolchainError(f"building {binary} from {part.module}@{part.version} failed:\n{tail}")
            out.rename(bindir / binary)
        self.timings[part.name] = round(time.monotonic() - started, 1)
        log(f"built {part.name} in {self.timings[part.name]} s")

    def _prepare_provider_main(self, part: Part, src: Path, env: dict[str, str]) -> None:
        """A provider's main package embeds generated files: do upstream's `go generate` step in the wrapper."""
        proc = subprocess.run(
            [self._go(), "mod", "download", "-json", f"{part.module}@{part.version}"],
            cwd=src, env=env, capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise ToolchainError(f"downloading {part.module}@{part.version} failed: {proc.stderr.strip()[-2000:]}")
        module_dir = Path(json.loads(proc.stdout)["Dir"])
        cmd_dir = module_dir / part.embed_schema
        schema = json.loads((cmd_dir / "schema.json").read_text())
        schema["version"] = part.release
        (src / "schema-embed.json").write_text(json.dumps(schema, separators=(",", ":")))
        mapping = json.loads((cmd_dir / "terraform-mapping.json").read_text())
        (src / "terraform-mapping-embed.json").write_text(json.dumps(mapping, separators=(",", ":")))
        (src / "main.go").write_text(PROVIDER_MAIN.format(module=part.module, name=part.binaries[0].rsplit("-", 1)[1]))


#: The provider's main package, as its upstream main.go does it: serve with the embedded schema.
PROVIDER_MAIN = """package main

import (
\t_ "embed"

\t"{module}/pkg/provider"
\t"{module}/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {{
\tprovider.Serve("{name}", version.Version, pulumiSchema, terraformMapping)
}}
"""


def main(argv: list[str] | None = None) -> int:
    """`python -m tools.e2e.toolchain [PART ...]`: build (or find) the pinned parts and print where they are."""
    args = argv if argv is not None else sys.argv[1:]
    chain = Toolchain()
    parts = [chain.pins[name] for name in args] if args else list(chain.pins.values())
    try:
        for part in parts:
            for binary in part.binaries:
                path = chain.resolve(binary)
                print(f"{binary}\t{chain.sources[binary]}\t{path}")
    except ToolchainError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

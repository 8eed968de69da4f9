"""The e2e toolchain: pins in one file, wrapper modules that build what `go install` refuses, PATH first."""
from __future__ import annotations

import os
import stat

from tools.e2e import toolchain
from tools.e2e.random_provider import generate


def test_every_binary_the_run_needs_is_pinned_once():
    pins = toolchain.load_pins()
    from tools.e2e.__main__ import BINARIES
    owners = {binary: name for name, part in pins.items() for binary in part.binaries}
    assert set(BINARIES) <= set(owners)
    assert len(owners) == sum(len(p.binaries) for p in pins.values())


def test_the_kubernetes_wrapper_replaces_every_staging_module_with_its_published_version():
    part = toolchain.load_pins()["kubernetes"]
    go_mod = toolchain.wrapper_go_mod(part)
    assert f"\tk8s.io/kubernetes {part.version}\n" in go_mod
    for staging in ("api", "apiserver", "client-go", "kube-aggregator", "pod-security-admission"):
        assert f"\tk8s.io/{staging} => k8s.io/{staging} {part.staging_version}\n" in go_mod
    assert part.staging_version == "v0" + part.version[2:].replace("1.", ".", 1)


def test_the_pulumi_wrapper_pins_sdk_and_pkg_together_and_keeps_the_clipboard_replace():
    part = toolchain.load_pins()["pulumi"]
    go_mod = toolchain.wrapper_go_mod(part)
    assert f"github.com/pulumi/pulumi/pkg/v3 {part.version}" in go_mod
    assert f"github.com/pulumi/pulumi/sdk/v3 {part.version}" in go_mod
    assert "github.com/atotto/clipboard => github.com/tgummerer/clipboard" in go_mod
    assert part.version in part.ldflags


def test_a_binary_on_path_wins_over_the_cache_and_a_build(tmp_path, monkeypatch):
    fake = tmp_path / "etcd"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    chain = toolchain.Toolchain(build=False)
    assert chain.resolve("etcd") == fake and chain.sources["etcd"] == "PATH"


def test_a_missing_binary_without_go_is_a_clear_error_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    chain = toolchain.Toolchain()
    try:
        chain.resolve("thv-operator")
    except toolchain.ToolchainError as exc:
        assert "Go" in str(exc) and "PATH" in str(exc)
    else:
        raise AssertionError("resolving without PATH, cache or go must fail")


def test_the_random_stand_in_meets_length_classes_and_minimums():
    password = generate({"length": 32, "special": True, "overrideSpecial": "-_:.", "minSpecial": 3})
    assert len(password) == 32
    assert sum(ch in "-_:." for ch in password) >= 3
    assert set(password) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:.")
    plain = generate({"length": 20, "special": False})
    assert plain.isalnum() and len(plain) == 20


def test_stopping_a_process_terminates_it_and_kills_one_that_ignores_sigterm():
    import subprocess
    import sys

    from tools.e2e.controlplane import stop_process

    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    stop_process(polite)
    assert polite.returncode is not None
    stubborn = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, "
                                 "signal.SIG_IGN); print('ready', flush=True); time.sleep(30)"], stdout=subprocess.PIPE)
    stubborn.stdout.readline()
    stop_process(stubborn, grace=0.5)
    assert stubborn.returncode == -9
    stop_process(stubborn)  # already gone: nothing to do

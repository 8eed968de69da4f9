"""Pod Security Standards (policy v1.37): conformance with the upstream PSA fixtures, and the rules
the policy module must follow when pods are wrapped in workloads and ToolHive resources."""
from __future__ import annotations

import ast
import copy
import sys
from pathlib import Path

import pytest
import yaml

from policies import pod_security
from policies.pod_security import LEVELS, POLICY_NAME, check_object, check_pod, pod_templates
from tests.conftest import DATA_DIR, data_files

PSS_VERSION = "v1.37"
VERDICTS = ("pass", "fail")
# Fixture counts of the upstream v1.37 set (vendored in tests/data/pss); guards against a partial copy.
EXPECTED_FIXTURE_COUNTS = {
    ("baseline", "fail"): 34,
    ("baseline", "pass"): 15,
    ("restricted", "fail"): 76,
    ("restricted", "pass"): 23,
}


def _fixture_names(level: str, verdict: str) -> list[str]:
    """Fixture file names, discovered at collection time (parametrization needs them up front); none is an error."""
    return [p.name for p in data_files(f"pss/{PSS_VERSION}/{level}/{verdict}")]


FIXTURES = [(level, verdict, name) for level in LEVELS for verdict in VERDICTS
            for name in _fixture_names(level, verdict)]
FIXTURE_IDS = [f"{level}/{verdict}/{name.removesuffix('.yaml')}" for level, verdict, name in FIXTURES]
BASELINE_FAIL = _fixture_names("baseline", "fail")
RESTRICTED_PASS = _fixture_names("restricted", "pass")


def _load_pod(level: str, verdict: str, name: str) -> dict:
    pod = yaml.safe_load((DATA_DIR / "pss" / PSS_VERSION / level / verdict / name).read_text())
    assert pod["kind"] == "Pod", name
    return pod


def _deployment(pod: dict) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "wrapped"},
        "spec": {"selector": {"matchLabels": {"app": "x"}},
                 "template": {"metadata": pod.get("metadata") or {}, "spec": pod["spec"]}},
    }


def _cronjob(pod: dict) -> dict:
    return {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "wrapped"},
        "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {
            "template": {"metadata": pod.get("metadata") or {}, "spec": pod["spec"]}}}},
    }


def _mcpserver(pod: dict) -> dict:
    return {
        "apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServer", "metadata": {"name": "wrapped"},
        "spec": {"image": "ghcr.io/stackloklabs/mcp-fetch:latest", "transport": "stdio",
                 "podTemplateSpec": {"metadata": pod.get("metadata") or {}, "spec": pod["spec"]}},
    }


WRAPPERS = {
    "Deployment": (_deployment, "spec.template"),
    "CronJob": (_cronjob, "spec.jobTemplate.spec.template"),
    "MCPServer": (_mcpserver, "spec.podTemplateSpec"),
}


def _restricted_pod(**spec_overrides) -> dict:
    """A minimal pod spec that meets restricted, to vary one setting at a time."""
    spec = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "app", "image": "registry.k8s.io/pause",
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        }],
    }
    spec.update(spec_overrides)
    return spec


def _app_security_context(spec: dict) -> dict:
    return spec["containers"][0]["securityContext"]


# ---------------------------------------------------------------------------------------------
# Conformance with the upstream fixtures
# ---------------------------------------------------------------------------------------------

def test_the_upstream_fixture_set_is_present_and_complete(data_dir):
    for (level, verdict), expected in EXPECTED_FIXTURE_COUNTS.items():
        found = list((data_dir / "pss" / PSS_VERSION / level / verdict).glob("*.yaml"))
        assert len(found) == expected, f"{level}/{verdict}: expected {expected} fixtures, found {len(found)}"
    assert len(FIXTURES) == sum(EXPECTED_FIXTURE_COUNTS.values())


@pytest.mark.parametrize(("level", "verdict", "name"), FIXTURES, ids=FIXTURE_IDS)
def test_every_fixture_pod_gets_the_upstream_verdict_at_its_level(level, verdict, name):
    pod = _load_pod(level, verdict, name)
    violations = check_pod(pod["spec"], pod.get("metadata"), level)
    if verdict == "fail":
        assert violations, f"{level}/{verdict}/{name} must be rejected at {level}"
    else:
        assert violations == [], f"{level}/{verdict}/{name} must be accepted at {level}"


@pytest.mark.parametrize("name", BASELINE_FAIL, ids=[n.removesuffix(".yaml") for n in BASELINE_FAIL])
def test_every_baseline_failure_is_also_rejected_at_restricted(name):
    pod = _load_pod("baseline", "fail", name)
    assert check_pod(pod["spec"], pod.get("metadata"), "restricted")


@pytest.mark.parametrize("name", RESTRICTED_PASS, ids=[n.removesuffix(".yaml") for n in RESTRICTED_PASS])
def test_every_restricted_pass_also_passes_baseline(name):
    pod = _load_pod("restricted", "pass", name)
    assert check_pod(pod["spec"], pod.get("metadata"), "baseline") == []


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
@pytest.mark.parametrize(("level", "verdict", "name"), FIXTURES, ids=FIXTURE_IDS)
def test_a_fixture_pod_wrapped_in_a_workload_gets_the_same_verdict(wrapper, level, verdict, name):
    wrap, template_path = WRAPPERS[wrapper]
    pod = _load_pod(level, verdict, name)
    violations = check_object(wrap(copy.deepcopy(pod)), level)
    assert bool(violations) == (verdict == "fail"), violations
    for message in violations:  # every message points into the wrapped template
        assert message.startswith((f"{template_path}.spec.", f"{template_path}.metadata.")), message


# ---------------------------------------------------------------------------------------------
# Specification: level composition and pod/container precedence
# ---------------------------------------------------------------------------------------------

def test_the_policy_is_named_and_has_two_levels():
    assert POLICY_NAME == "pod-security-standards"
    assert LEVELS == ("baseline", "restricted")


def test_restricted_requires_every_container_to_drop_all_capabilities():
    spec = _restricted_pod()
    assert check_pod(spec, None, "restricted") == []
    _app_security_context(spec)["capabilities"] = {"drop": ["NET_RAW", "SYS_ADMIN"]}
    violations = check_pod(spec, None, "restricted")
    assert violations == ["spec.containers[0] (name 'app'): securityContext.capabilities.drop must include ALL "
                          "(set securityContext.capabilities.drop to [\"ALL\"])"]
    assert check_pod(spec, None, "baseline") == []


def test_restricted_allows_adding_only_net_bind_service():
    spec = _restricted_pod()
    _app_security_context(spec)["capabilities"]["add"] = ["NET_BIND_SERVICE"]
    assert check_pod(spec, None, "restricted") == []
    _app_security_context(spec)["capabilities"]["add"] = ["NET_BIND_SERVICE", "CHOWN"]
    assert any("capabilities.add must not include CHOWN" in v for v in check_pod(spec, None, "restricted"))
    assert check_pod(spec, None, "baseline") == []  # CHOWN is in the baseline default set


def test_windows_pods_skip_the_linux_only_restricted_checks():
    spec = {"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": True},
            "containers": [{"name": "app", "image": "mcr.microsoft.com/windows/nanoserver"}]}
    assert check_pod(spec, None, "restricted") == []
    linux = dict(spec, os={"name": "linux"})
    violations = " ".join(check_pod(linux, None, "restricted"))
    for linux_only in ("allowPrivilegeEscalation", "capabilities.drop", "seccompProfile"):
        assert linux_only in violations


def test_windows_pods_still_must_run_as_non_root_and_not_as_host_process():
    spec = {"os": {"name": "windows"},
            "securityContext": {"windowsOptions": {"hostProcess": True}},
            "containers": [{"name": "app", "image": "mcr.microsoft.com/windows/nanoserver"}]}
    violations = " ".join(check_pod(spec, None, "restricted"))
    assert "runAsNonRoot must be true" in violations
    assert "spec.securityContext.windowsOptions.hostProcess must not be true" in violations


def test_a_container_run_as_non_root_false_overrides_pod_level_true():
    spec = _restricted_pod()
    _app_security_context(spec)["runAsNonRoot"] = False
    assert check_pod(spec, None, "restricted") == [
        "spec.containers[0] (name 'app'): securityContext.runAsNonRoot must not be false (set it to true or remove it)"
    ]


def test_pod_level_run_as_non_root_covers_containers_that_leave_it_unset():
    spec = _restricted_pod()
    assert check_pod(spec, None, "restricted") == []
    del spec["securityContext"]["runAsNonRoot"]
    assert check_pod(spec, None, "restricted")
    _app_security_context(spec)["runAsNonRoot"] = True  # every container opting in is enough
    assert check_pod(spec, None, "restricted") == []


def test_restricted_seccomp_needs_a_pod_profile_or_one_on_every_container():
    spec = _restricted_pod(securityContext={"runAsNonRoot": True})
    assert any("seccompProfile.type must be RuntimeDefault or Localhost" in v
               for v in check_pod(spec, None, "restricted"))
    _app_security_context(spec)["seccompProfile"] = {"type": "Localhost", "localhostProfile": "p.json"}
    assert check_pod(spec, None, "restricted") == []
    # a valid pod-level profile does not excuse a container that sets Unconfined
    spec["securityContext"]["seccompProfile"] = {"type": "RuntimeDefault"}
    _app_security_context(spec)["seccompProfile"] = {"type": "Unconfined"}
    assert check_pod(spec, None, "restricted")
    assert check_pod(spec, None, "baseline")


def test_init_and_ephemeral_containers_are_checked_like_containers():
    spec = _restricted_pod(
        initContainers=[{"name": "init", "image": "x", "securityContext": {"privileged": True}}],
        ephemeralContainers=[{"name": "debug", "image": "busybox",
                              "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}],
    )
    violations = check_pod(spec, None, "baseline")
    assert violations == [
        "spec.initContainers[0] (name 'init'): securityContext.privileged must not be true (set it to false or remove it)",
        "spec.ephemeralContainers[0] (name 'debug'): securityContext.capabilities.add must not include SYS_PTRACE "
        "(remove it; only AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, "
        "SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT may be added)",
    ]
    restricted = " ".join(check_pod(spec, None, "restricted"))
    assert "spec.ephemeralContainers[0] (name 'debug'): securityContext.allowPrivilegeEscalation" in restricted


def test_user_namespace_pods_may_unmask_proc_at_baseline_but_not_at_restricted():
    spec = _restricted_pod(hostUsers=False)
    _app_security_context(spec)["procMount"] = "Unmasked"
    assert check_pod(spec, None, "baseline") == []
    assert check_pod(spec, None, "restricted") == [
        "spec.containers[0] (name 'app'): securityContext.procMount must be Default or unset "
        "(got 'Unmasked'; remove it)"
    ]
    spec["hostUsers"] = True
    assert check_pod(spec, None, "baseline")


def test_user_namespace_pods_are_exempt_from_run_as_non_root_and_run_as_user():
    spec = _restricted_pod(securityContext={"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}})
    assert len(check_pod(spec, None, "restricted")) == 2  # runAsUser=0, runAsNonRoot unset
    spec["hostUsers"] = False
    assert check_pod(spec, None, "restricted") == []


def test_a_volume_without_a_source_is_an_empty_dir_and_image_volumes_are_allowed_at_restricted():
    spec = _restricted_pod(volumes=[{"name": "scratch"}, {"name": "model", "image": {"reference": "x:1"}}])
    assert check_pod(spec, None, "restricted") == []


def test_apparmor_profile_fields_are_checked_at_pod_and_container_level():
    spec = _restricted_pod()
    spec["securityContext"]["appArmorProfile"] = {"type": "Unconfined"}
    _app_security_context(spec)["appArmorProfile"] = {"type": "Localhost", "localhostProfile": "k8s-app"}
    assert check_pod(spec, None, "baseline") == [
        "spec.securityContext.appArmorProfile.type must be RuntimeDefault or Localhost "
        "(got 'Unconfined'; set it to RuntimeDefault or Localhost, or remove it)"
    ]


def test_the_sysctls_made_safe_in_v1_37_are_allowed():
    spec = _restricted_pod()
    spec["securityContext"]["sysctls"] = [{"name": "net.ipv4.tcp_notsent_lowat", "value": "16384"},
                                          {"name": "kernel.msgmax", "value": "65536"}]
    violations = check_pod(spec, None, "baseline")
    assert len(violations) == 1 and violations[0].startswith("spec.securityContext.sysctls[1] (name 'kernel.msgmax')")


# ---------------------------------------------------------------------------------------------
# Specification: objects, templates, ToolHive resources, messages
# ---------------------------------------------------------------------------------------------

TEMPLATE_LOCATIONS = [
    ("v1", "Pod", None, "spec"),
    ("apps/v1", "Deployment", ("spec", "template"), "spec.template.spec"),
    ("apps/v1", "StatefulSet", ("spec", "template"), "spec.template.spec"),
    ("apps/v1", "DaemonSet", ("spec", "template"), "spec.template.spec"),
    ("apps/v1", "ReplicaSet", ("spec", "template"), "spec.template.spec"),
    ("v1", "ReplicationController", ("spec", "template"), "spec.template.spec"),
    ("batch/v1", "Job", ("spec", "template"), "spec.template.spec"),
    ("batch/v1", "CronJob", ("spec", "jobTemplate", "spec", "template"), "spec.jobTemplate.spec.template.spec"),
    ("v1", "PodTemplate", ("template",), "template.spec"),
    ("toolhive.stacklok.dev/v1beta1", "MCPServer", ("spec", "podTemplateSpec"), "spec.podTemplateSpec.spec"),
    ("toolhive.stacklok.dev/v1beta1", "MCPRemoteProxy", ("spec", "podTemplateSpec"), "spec.podTemplateSpec.spec"),
    ("toolhive.stacklok.dev/v1beta1", "VirtualMCPServer", ("spec", "podTemplateSpec"), "spec.podTemplateSpec.spec"),
    ("toolhive.stacklok.dev/v1alpha1", "MCPRegistry", ("spec", "podTemplateSpec"), "spec.podTemplateSpec.spec"),
]


@pytest.mark.parametrize(("api_version", "kind", "template_keys", "spec_path"), TEMPLATE_LOCATIONS,
                         ids=[kind for _, kind, _, _ in TEMPLATE_LOCATIONS])
def test_pod_templates_are_found_in_every_supported_kind(api_version, kind, template_keys, spec_path):
    pod_spec = {"containers": [{"name": "c", "image": "x"}]}
    metadata = {"annotations": {"a": "b"}}
    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "o"}}
    if template_keys is None:
        obj.update(metadata=metadata, spec=pod_spec)
    else:
        node = obj
        for key in template_keys[:-1]:
            node = node.setdefault(key, {})
        node[template_keys[-1]] = {"metadata": metadata, "spec": pod_spec}
    assert pod_templates(obj) == [(spec_path, metadata, pod_spec)]


@pytest.mark.parametrize("obj", [
    {"apiVersion": "v1", "kind": "ConfigMap", "data": {"spec": "x"}},
    {"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 80}]}},
    {"apiVersion": "example.com/v1", "kind": "Deployment", "spec": {"template": {"spec": {"hostPID": True}}}},
    {"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPGroup", "spec": {}},
    {"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServer", "spec": {"image": "x"}},
], ids=["ConfigMap", "Service", "foreign-group-Deployment", "MCPGroup", "MCPServer-without-template"])
def test_objects_without_a_pod_template_have_none(obj):
    assert pod_templates(obj) == []
    assert check_object(obj, "restricted") == []


def test_mcpserver_host_path_volumes_are_rejected_at_baseline_and_restricted():
    server = {"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPServer", "metadata": {"name": "fs"},
              "spec": {"image": "ghcr.io/example/fs-mcp:1", "volumes": [
                  {"name": "data", "hostPath": "/var/data", "mountPath": "/data", "readOnly": True}]}}
    for level in LEVELS:
        violations = check_object(server, level)
        assert len(violations) == 1
        assert violations[0].startswith("spec.volumes[0] (name 'data'): hostPath '/var/data'")
    server["spec"]["volumes"] = []
    assert check_object(server, "baseline") == []


def test_a_partial_toolhive_template_without_containers_is_checked_only_at_pod_level():
    proxy = {"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPRemoteProxy", "metadata": {"name": "p"},
             "spec": {"remoteURL": "https://mcp.example.com",
                      "podTemplateSpec": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}}}}}
    assert check_object(proxy, "restricted") == []
    proxy["spec"]["podTemplateSpec"]["spec"]["securityContext"] = {"runAsNonRoot": False}
    assert check_object(proxy, "restricted") == [
        "spec.podTemplateSpec.spec.securityContext.runAsNonRoot must not be false (set it to true)"
    ]


def test_the_upstream_mcpserver_pod_template_example_meets_restricted(data_dir):
    example = yaml.safe_load(
        (data_dir / "toolhive" / "examples" / "mcp-servers" / "mcpserver_with_pod_template.yaml").read_text())
    assert check_object(example, "restricted") == []


def test_an_unknown_level_raises_value_error_naming_the_allowed_levels():
    for call in (lambda: check_object({"apiVersion": "v1", "kind": "ConfigMap"}, "privileged"),
                 lambda: check_pod({}, None, "Restricted")):
        with pytest.raises(ValueError) as error:
            call()
        assert "baseline" in str(error.value) and "restricted" in str(error.value)


def test_check_object_defaults_to_restricted():
    deployment = _deployment({"spec": {"containers": [{"name": "app", "image": "x"}]}})
    assert check_object(deployment) == check_object(deployment, "restricted") != check_object(deployment, "baseline")


def test_a_violation_message_names_the_field_path_and_what_to_set_it_to():
    spec = _restricted_pod()
    del _app_security_context(spec)["allowPrivilegeEscalation"]
    violations = check_object(_deployment({"spec": spec}), "restricted")
    assert violations == [
        "spec.template.spec.containers[0] (name 'app'): securityContext.allowPrivilegeEscalation "
        "must be false (set it to false)"
    ]
    host = check_pod(_restricted_pod(hostNetwork=True), None, "baseline")
    assert host == ["spec.hostNetwork must not be true (remove it or set it to false; sharing the host's "
                    "network namespace is forbidden)"]


def test_annotation_violations_name_the_pod_metadata_path():
    pod = {"spec": _restricted_pod(), "metadata": {"annotations": {
        "container.apparmor.security.beta.kubernetes.io/app": "unconfined"}}}
    violations = check_object(_cronjob(pod), "baseline")
    assert violations == [
        "spec.jobTemplate.spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/app'] "
        "must be 'runtime/default' or 'localhost/<profile>' (got 'unconfined'; change it or remove the annotation)"
    ]


def test_the_module_uses_only_the_standard_library():
    tree = ast.parse(Path(pod_security.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


@pytest.mark.parametrize("level", LEVELS)
def test_mcpregistry_hostpath_volume_is_rejected_at_every_level(level):
    registry = {"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPRegistry", "metadata": {"name": "r"},
                "spec": {"configYAML": "x", "volumes": [{"name": "data", "hostPath": {"path": "/var/data"}},
                                                        {"name": "creds", "secret": {"secretName": "git"}}]}}
    (violation,) = check_object(registry, level)
    assert violation.startswith("spec.volumes[0] (name 'data'):")


def test_mcpregistry_secret_and_configmap_volumes_pass_restricted():
    registry = {"apiVersion": "toolhive.stacklok.dev/v1beta1", "kind": "MCPRegistry", "metadata": {"name": "r"},
                "spec": {"configYAML": "x", "volumes": [{"name": "creds", "secret": {"secretName": "git"}},
                                                        {"name": "data", "configMap": {"name": "reg"}}]}}
    assert check_object(registry, "restricted") == []

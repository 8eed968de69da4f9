"""Kubernetes Pod Security Standards (PSS), policy version v1.37, in pure Python.

Mirrors the upstream Pod Security Admission controller (k8s.io/pod-security-admission,
``policy/check_*.go``) at levels ``baseline`` and ``restricted``: the same fields, allowed values,
pod/container precedence, exemptions (Windows pods, user-namespace pods) and the same
"restricted = baseline minus overridden checks plus restricted checks" composition.

Objects are plain manifest dicts (camelCase keys), as written to the Kubernetes API. Values are
judged the way the API server would see them after defaulting: an unset field is the same as an
explicit ``null``, and a volume with no source is an ``emptyDir``.

Public API: :data:`POLICY_NAME`, :data:`LEVELS`, :func:`check_pod`, :func:`pod_templates`,
:func:`check_object`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

POLICY_NAME = "pod-security-standards"
LEVELS = ("baseline", "restricted")

# ---------------------------------------------------------------------------------------------
# Allowed values (upstream constants at policy version v1.37)
# ---------------------------------------------------------------------------------------------

#: check_capabilities_baseline.go, capabilities_allowed_1_0 (exact, case-sensitive names).
BASELINE_ALLOWED_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})

#: check_sysctls.go, the safe set as of v1.37 (1.0 + 1.27 + 1.29 + 1.32 + 1.37 additions).
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.ip_local_reserved_ports",  # 1.27
    "net.ipv4.tcp_keepalive_time",  # 1.29
    "net.ipv4.tcp_fin_timeout",  # 1.29
    "net.ipv4.tcp_keepalive_intvl",  # 1.29
    "net.ipv4.tcp_keepalive_probes",  # 1.29
    "net.ipv4.tcp_rmem",  # 1.32
    "net.ipv4.tcp_wmem",  # 1.32
    "net.ipv4.tcp_slow_start_after_idle",  # 1.37
    "net.ipv4.tcp_notsent_lowat",  # 1.37
})

#: check_seLinuxOptions.go, selinuxAllowedTypes1_31 ("" means unset).
SELINUX_ALLOWED_TYPES = frozenset({
    "", "container_t", "container_init_t", "container_kvm_t", "container_engine_t",
})

#: check_restrictedVolumes.go: the only inline volume sources allowed at restricted.
RESTRICTED_ALLOWED_VOLUME_TYPES = (
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
    "persistentVolumeClaim", "projected", "secret",
)

#: Every other corev1.VolumeSource field (each one forbidden at restricted).
RESTRICTED_FORBIDDEN_VOLUME_TYPES = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi",
    "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile",
    "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume",
    "scaleIO", "storageos",
)

SECCOMP_ALLOWED_TYPES = ("RuntimeDefault", "Localhost")
APPARMOR_ALLOWED_TYPES = ("RuntimeDefault", "Localhost")
APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"

_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")  # upstream visit order
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_LIFECYCLE_HANDLERS = ("postStart", "preStop")
_HOST_HANDLERS = ("httpGet", "tcpSocket")


# ---------------------------------------------------------------------------------------------
# Small dict helpers: a missing key and an explicit null mean the same thing.
# ---------------------------------------------------------------------------------------------

def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _is_true(value: Any) -> bool:
    return value is True


def _is_zero_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value == 0


def _join_sorted(items: frozenset[str]) -> str:
    return ", ".join(sorted(items))


def _remove(items: list[str]) -> str:
    return "remove it" if len(items) == 1 else "remove them"


# ---------------------------------------------------------------------------------------------
# The pod under evaluation
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Container:
    path: str  # e.g. "spec.template.spec.containers[0]"
    name: str
    spec: dict

    @property
    def sc(self) -> dict:
        """The container's securityContext ({} when unset)."""
        return _dict(self.spec.get("securityContext"))

    @property
    def where(self) -> str:
        return f"{self.path} (name '{self.name}')" if self.name else self.path


@dataclass(frozen=True)
class _Pod:
    spec: dict
    metadata: dict
    path: str  # path of the pod spec, e.g. "spec.template.spec"

    @property
    def sc(self) -> dict:
        """The pod-level securityContext ({} when unset)."""
        return _dict(self.spec.get("securityContext"))

    @property
    def sc_path(self) -> str:
        return f"{self.path}.securityContext"

    @property
    def metadata_path(self) -> str:
        """Path of the pod metadata that goes with this spec ("spec.template.spec" -> "spec.template.metadata")."""
        if self.path == "spec" or self.path.endswith(".spec"):
            return self.path[: -len("spec")] + "metadata"
        return f"metadata of {self.path}"

    @property
    def is_windows(self) -> bool:
        """spec.os.name == windows: upstream exempts such pods from Linux-only restricted checks."""
        return _dict(self.spec.get("os")).get("name") == "windows"

    @property
    def in_user_namespace(self) -> bool:
        """spec.hostUsers == false: upstream relaxes some checks for user-namespace pods (v1.35+)."""
        return self.spec.get("hostUsers") is False

    def containers(self) -> Iterator[_Container]:
        """initContainers, containers and ephemeralContainers, in upstream visit order."""
        for list_name in _CONTAINER_LISTS:
            for i, c in enumerate(_list(self.spec.get(list_name))):
                c = _dict(c)
                yield _Container(f"{self.path}.{list_name}[{i}]", str(c.get("name") or ""), c)


Check = Callable[[_Pod], list[str]]


# ---------------------------------------------------------------------------------------------
# Baseline checks
# ---------------------------------------------------------------------------------------------

def check_host_namespaces(pod: _Pod) -> list[str]:
    """Baseline "Host Namespaces" (hostNamespaces): hostNetwork, hostPID and hostIPC must be unset or false."""
    return [
        f"{pod.path}.{field} must not be true (remove it or set it to false; sharing the host's "
        f"{what} namespace is forbidden)"
        for field, what in (("hostNetwork", "network"), ("hostPID", "PID"), ("hostIPC", "IPC"))
        if _is_true(pod.spec.get(field))
    ]


def check_privileged(pod: _Pod) -> list[str]:
    """Baseline "Privileged Containers" (privileged): securityContext.privileged must be unset or false."""
    return [
        f"{c.where}: securityContext.privileged must not be true (set it to false or remove it)"
        for c in pod.containers()
        if _is_true(c.sc.get("privileged"))
    ]


def check_capabilities_baseline(pod: _Pod) -> list[str]:
    """Baseline "Capabilities" (capabilities_baseline): capabilities.add only from the default set."""
    out = []
    for c in pod.containers():
        added = _list(_dict(c.sc.get("capabilities")).get("add"))
        bad = [str(cap) for cap in added if cap not in BASELINE_ALLOWED_CAPABILITIES]
        if bad:
            out.append(
                f"{c.where}: securityContext.capabilities.add must not include {', '.join(bad)} "
                f"({_remove(bad)}; only {_join_sorted(BASELINE_ALLOWED_CAPABILITIES)} may be added)"
            )
    return out


def check_host_path_volumes(pod: _Pod) -> list[str]:
    """Baseline "HostPath Volumes" (hostPathVolumes): spec.volumes[*].hostPath must be unset."""
    out = []
    for i, vol in enumerate(_list(pod.spec.get("volumes"))):
        vol = _dict(vol)
        if vol.get("hostPath") is not None:
            out.append(
                f"{_volume_where(pod, i, vol)}: hostPath volumes are forbidden (remove hostPath; use "
                f"e.g. a persistentVolumeClaim, configMap, secret or emptyDir volume instead)"
            )
    return out


def check_host_ports(pod: _Pod) -> list[str]:
    """Baseline "Host Ports" (hostPorts): ports[*].hostPort must be unset or 0."""
    out = []
    for c in pod.containers():
        for j, port in enumerate(_list(c.spec.get("ports"))):
            host_port = _dict(port).get("hostPort")
            if host_port not in (None, 0):
                out.append(
                    f"{c.where}: ports[{j}].hostPort must be unset or 0 (remove hostPort {host_port}; "
                    f"expose the port through a Service instead)"
                )
    return out


def check_host_probes_and_lifecycle(pod: _Pod) -> list[str]:
    """Baseline "Host Probes / Lifecycle Hooks" (hostProbesAndHostLifecycle, v1.34+):
    probes and lifecycle handlers must not set httpGet.host or tcpSocket.host."""
    out = []
    for c in pod.containers():
        handlers = [(probe, _dict(c.spec.get(probe))) for probe in _PROBES]
        lifecycle = _dict(c.spec.get("lifecycle"))
        handlers += [(f"lifecycle.{h}", _dict(lifecycle.get(h))) for h in _LIFECYCLE_HANDLERS]
        for where, handler in handlers:
            for kind in _HOST_HANDLERS:
                host = _dict(handler.get(kind)).get("host")
                if host:
                    out.append(
                        f"{c.where}: {where}.{kind}.host must be unset (remove host '{host}'; probes "
                        f"and lifecycle handlers must target the pod's own IP)"
                    )
    return out


def check_apparmor(pod: _Pod) -> list[str]:
    """Baseline "AppArmor" (appArmorProfile): appArmorProfile.type (pod and containers) must be
    RuntimeDefault or Localhost, and container.apparmor.security.beta.kubernetes.io/* annotations
    must be empty, runtime/default or localhost/*."""
    out = []
    fix = "set it to RuntimeDefault or Localhost, or remove it"
    if pod.sc.get("appArmorProfile") is not None:
        pod_type = _dict(pod.sc["appArmorProfile"]).get("type")
        if pod_type not in APPARMOR_ALLOWED_TYPES:
            out.append(f"{pod.sc_path}.appArmorProfile.type must be RuntimeDefault or Localhost "
                       f"(got {pod_type!r}; {fix})")
    for c in pod.containers():
        if c.sc.get("appArmorProfile") is not None:
            ctype = _dict(c.sc["appArmorProfile"]).get("type")
            if ctype not in APPARMOR_ALLOWED_TYPES:
                out.append(f"{c.where}: securityContext.appArmorProfile.type must be RuntimeDefault or "
                           f"Localhost (got {ctype!r}; {fix})")
    for key, value in sorted(_dict(pod.metadata.get("annotations")).items()):
        if not str(key).startswith(APPARMOR_ANNOTATION_PREFIX):
            continue
        value = "" if value is None else str(value)
        if value and value != "runtime/default" and not value.startswith("localhost/"):
            out.append(
                f"{pod.metadata_path}.annotations['{key}'] must be 'runtime/default' or "
                f"'localhost/<profile>' (got {value!r}; change it or remove the annotation)"
            )
    return out


def _selinux_problems(options: dict) -> list[str]:
    problems = []
    if str(options.get("type") or "") not in SELINUX_ALLOWED_TYPES:
        problems.append(
            f"seLinuxOptions.type must be one of {', '.join(sorted(t for t in SELINUX_ALLOWED_TYPES if t))} "
            f"or unset (got {options.get('type')!r})"
        )
    for field in ("user", "role"):
        if options.get(field):
            problems.append(f"seLinuxOptions.{field} must be unset (got {options.get(field)!r}; remove it)")
    return problems


def check_selinux(pod: _Pod) -> list[str]:
    """Baseline "SELinux" (seLinuxOptions): type limited to the container_* set; user and role unset."""
    out = [f"{pod.sc_path}.{p}" for p in _selinux_problems(_dict(pod.sc.get("seLinuxOptions")))]
    for c in pod.containers():
        out += [f"{c.where}: securityContext.{p}" for p in _selinux_problems(_dict(c.sc.get("seLinuxOptions")))]
    return out


def _proc_mount_violations(pod: _Pod, hint: str) -> list[str]:
    return [
        f"{c.where}: securityContext.procMount must be Default or unset (got {c.sc.get('procMount')!r}; "
        f"remove it{hint})"
        for c in pod.containers()
        if c.sc.get("procMount") is not None and c.sc.get("procMount") != "Default"
    ]


def check_proc_mount_baseline(pod: _Pod) -> list[str]:
    """Baseline "/proc Mount Type" (procMount): procMount must be Default or unset, except that
    pods in a user namespace (spec.hostUsers: false) may use any procMount (v1.35+)."""
    if pod.in_user_namespace:
        return []
    return _proc_mount_violations(pod, ", or run the pod in a user namespace with spec.hostUsers: false")


def check_seccomp_baseline(pod: _Pod) -> list[str]:
    """Baseline "Seccomp" (seccompProfile_baseline): seccompProfile.type must not be Unconfined."""
    out = []
    if _dict(pod.sc.get("seccompProfile")).get("type") == "Unconfined":
        out.append(f"{pod.sc_path}.seccompProfile.type must not be Unconfined (set it to RuntimeDefault)")
    for c in pod.containers():
        if _dict(c.sc.get("seccompProfile")).get("type") == "Unconfined":
            out.append(f"{c.where}: securityContext.seccompProfile.type must not be Unconfined "
                       f"(set it to RuntimeDefault or remove it)")
    return out


def check_sysctls(pod: _Pod) -> list[str]:
    """Baseline "Sysctls" (sysctls): spec.securityContext.sysctls[*].name only from the safe set."""
    out = []
    for i, sysctl in enumerate(_list(pod.sc.get("sysctls"))):
        name = _dict(sysctl).get("name")
        if name not in SAFE_SYSCTLS:
            out.append(f"{pod.sc_path}.sysctls[{i}] (name {name!r}) is not a safe sysctl (remove it; "
                       f"allowed: {_join_sorted(SAFE_SYSCTLS)})")
    return out


def check_windows_host_process(pod: _Pod) -> list[str]:
    """Baseline "HostProcess" (windowsHostProcess): windowsOptions.hostProcess must be unset or false."""
    out = []
    if _is_true(_dict(pod.sc.get("windowsOptions")).get("hostProcess")):
        out.append(f"{pod.sc_path}.windowsOptions.hostProcess must not be true (set it to false or remove it)")
    for c in pod.containers():
        if _is_true(_dict(c.sc.get("windowsOptions")).get("hostProcess")):
            out.append(f"{c.where}: securityContext.windowsOptions.hostProcess must not be true "
                       f"(set it to false or remove it)")
    return out


# ---------------------------------------------------------------------------------------------
# Restricted checks
# ---------------------------------------------------------------------------------------------

def _volume_where(pod: _Pod, index: int, volume: dict) -> str:
    name = volume.get("name")
    return f"{pod.path}.volumes[{index}]" + (f" (name '{name}')" if name else "")


def check_restricted_volumes(pod: _Pod) -> list[str]:
    """Restricted "Volume Types" (restrictedVolumes, overrides hostPathVolumes): only configMap,
    csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected and secret."""
    out = []
    for i, vol in enumerate(_list(pod.spec.get("volumes"))):
        vol = _dict(vol)
        if any(vol.get(t) is not None for t in RESTRICTED_ALLOWED_VOLUME_TYPES):
            continue
        bad = [t for t in RESTRICTED_FORBIDDEN_VOLUME_TYPES if vol.get(t) is not None]
        if bad:  # no known source at all: the API server defaults it to emptyDir, which is allowed
            out.append(
                f"{_volume_where(pod, i, vol)}: volume type {', '.join(bad)} is not allowed (use one of "
                f"{', '.join(RESTRICTED_ALLOWED_VOLUME_TYPES)})"
            )
    return out


def check_allow_privilege_escalation(pod: _Pod) -> list[str]:
    """Restricted "Privilege Escalation" (allowPrivilegeEscalation): every container must set
    securityContext.allowPrivilegeEscalation=false (Linux-only: skipped for Windows pods)."""
    if pod.is_windows:
        return []
    return [
        f"{c.where}: securityContext.allowPrivilegeEscalation must be false (set it to false)"
        for c in pod.containers()
        if c.sc.get("allowPrivilegeEscalation") is not False
    ]


def check_run_as_non_root(pod: _Pod) -> list[str]:
    """Restricted "Running as Non-root" (runAsNonRoot): runAsNonRoot=true at pod level or on every
    container; a container's explicit false overrides the pod's true. Skipped for user-namespace
    pods (spec.hostUsers: false, v1.35+)."""
    if pod.in_user_namespace:
        return []
    out = []
    pod_value = pod.sc.get("runAsNonRoot")
    if pod_value is False:
        out.append(f"{pod.sc_path}.runAsNonRoot must not be false (set it to true)")
    for c in pod.containers():
        value = c.sc.get("runAsNonRoot")
        if value is False:
            out.append(f"{c.where}: securityContext.runAsNonRoot must not be false (set it to true or remove it)")
        elif value is None and pod_value is not True:
            out.append(f"{c.where}: securityContext.runAsNonRoot must be true (set it to true, or set "
                       f"{pod.sc_path}.runAsNonRoot to true for the whole pod)")
    return out


def check_run_as_user(pod: _Pod) -> list[str]:
    """Restricted "Running as Non-root user" (runAsUser): runAsUser must not be 0 at pod or
    container level. Skipped for user-namespace pods (spec.hostUsers: false, v1.35+)."""
    if pod.in_user_namespace:
        return []
    out = []
    if _is_zero_int(pod.sc.get("runAsUser")):
        out.append(f"{pod.sc_path}.runAsUser must not be 0 (set a non-zero UID or remove it)")
    for c in pod.containers():
        if _is_zero_int(c.sc.get("runAsUser")):
            out.append(f"{c.where}: securityContext.runAsUser must not be 0 (set a non-zero UID or remove it)")
    return out


def check_seccomp_restricted(pod: _Pod) -> list[str]:
    """Restricted "Seccomp" (seccompProfile_restricted, overrides seccompProfile_baseline):
    seccompProfile.type must be RuntimeDefault or Localhost, set at pod level or on every
    container (Linux-only: skipped for Windows pods)."""
    if pod.is_windows:
        return []
    out = []
    pod_profile = pod.sc.get("seccompProfile")
    pod_ok = False
    if pod_profile is not None:
        pod_type = _dict(pod_profile).get("type")
        if pod_type in SECCOMP_ALLOWED_TYPES:
            pod_ok = True
        else:
            out.append(f"{pod.sc_path}.seccompProfile.type must be RuntimeDefault or Localhost "
                       f"(got {pod_type!r}; set it to RuntimeDefault)")
    for c in pod.containers():
        profile = c.sc.get("seccompProfile")
        if profile is not None:
            ctype = _dict(profile).get("type")
            if ctype not in SECCOMP_ALLOWED_TYPES:
                out.append(f"{c.where}: securityContext.seccompProfile.type must be RuntimeDefault or "
                           f"Localhost (got {ctype!r}; set it to RuntimeDefault)")
        elif not pod_ok:
            out.append(f"{c.where}: securityContext.seccompProfile.type must be RuntimeDefault or Localhost "
                       f"(set it, or set {pod.sc_path}.seccompProfile.type to RuntimeDefault for the whole pod)")
    return out


def check_capabilities_restricted(pod: _Pod) -> list[str]:
    """Restricted "Capabilities" (capabilities_restricted, overrides capabilities_baseline):
    capabilities.drop must include ALL and capabilities.add may only contain NET_BIND_SERVICE
    (Linux-only: skipped for Windows pods)."""
    if pod.is_windows:
        return []
    out = []
    for c in pod.containers():
        caps = _dict(c.sc.get("capabilities"))
        if "ALL" not in _list(caps.get("drop")):
            out.append(f"{c.where}: securityContext.capabilities.drop must include ALL "
                       f"(set securityContext.capabilities.drop to [\"ALL\"])")
        bad = [str(cap) for cap in _list(caps.get("add")) if cap != "NET_BIND_SERVICE"]
        if bad:
            out.append(f"{c.where}: securityContext.capabilities.add must not include {', '.join(bad)} "
                       f"({_remove(bad)}; only NET_BIND_SERVICE may be added)")
    return out


def check_proc_mount_restricted(pod: _Pod) -> list[str]:
    """Restricted "/proc Mount Type" (procMount_restricted, overrides procMount, v1.35+):
    procMount must be Default or unset, even for user-namespace pods."""
    return _proc_mount_violations(pod, "")


# ---------------------------------------------------------------------------------------------
# Levels: restricted = baseline minus the checks it overrides, plus the restricted checks.
# ---------------------------------------------------------------------------------------------

BASELINE_CHECKS: dict[str, Check] = {
    "hostNamespaces": check_host_namespaces,
    "privileged": check_privileged,
    "capabilities_baseline": check_capabilities_baseline,
    "hostPathVolumes": check_host_path_volumes,
    "hostPorts": check_host_ports,
    "hostProbesAndHostLifecycle": check_host_probes_and_lifecycle,
    "appArmorProfile": check_apparmor,
    "seLinuxOptions": check_selinux,
    "procMount": check_proc_mount_baseline,
    "seccompProfile_baseline": check_seccomp_baseline,
    "sysctls": check_sysctls,
    "windowsHostProcess": check_windows_host_process,
}

#: check id -> (check, baseline check ids it replaces at restricted)
RESTRICTED_CHECKS: dict[str, tuple[Check, tuple[str, ...]]] = {
    "restrictedVolumes": (check_restricted_volumes, ("hostPathVolumes",)),
    "allowPrivilegeEscalation": (check_allow_privilege_escalation, ()),
    "runAsNonRoot": (check_run_as_non_root, ()),
    "runAsUser": (check_run_as_user, ()),
    "seccompProfile_restricted": (check_seccomp_restricted, ("seccompProfile_baseline",)),
    "capabilities_restricted": (check_capabilities_restricted, ("capabilities_baseline",)),
    "procMount_restricted": (check_proc_mount_restricted, ("procMount",)),
}


def _checks_for(level: str) -> list[Check]:
    _validate_level(level)
    if level == "baseline":
        return list(BASELINE_CHECKS.values())
    overridden = {o for _, overrides in RESTRICTED_CHECKS.values() for o in overrides}
    baseline = [check for cid, check in BASELINE_CHECKS.items() if cid not in overridden]
    return baseline + [check for check, _ in RESTRICTED_CHECKS.values()]


def _validate_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(
            f"unknown Pod Security Standards level {level!r}; allowed levels: {', '.join(LEVELS)}"
        )


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------

def check_pod(pod_spec: dict, pod_metadata: dict | None, level: str, path: str = "spec") -> list[str]:
    """Violations of one pod spec at `level`; each message names the field path (e.g.
    'spec.containers[0].securityContext.allowPrivilegeEscalation') and what to set it to."""
    checks = _checks_for(level)
    pod = _Pod(spec=_dict(pod_spec), metadata=_dict(pod_metadata), path=path)
    return [message for check in checks for message in check(pod)]


_CORE_GROUPS = {""}
_APPS_GROUPS = {"apps", "extensions"}
_BATCH_GROUPS = {"batch"}
TOOLHIVE_GROUP = "toolhive.stacklok.dev"
TOOLHIVE_POD_TEMPLATE_KINDS = ("MCPServer", "MCPRemoteProxy", "VirtualMCPServer", "MCPRegistry")

# kind -> (allowed API groups, path of the PodTemplateSpec-like dict, or None for a Pod)
_WORKLOAD_TEMPLATES: dict[str, tuple[set[str], tuple[str, ...] | None]] = {
    "Pod": (_CORE_GROUPS, None),
    "ReplicationController": (_CORE_GROUPS, ("spec", "template")),
    "PodTemplate": (_CORE_GROUPS, ("template",)),
    "Deployment": (_APPS_GROUPS, ("spec", "template")),
    "StatefulSet": (_APPS_GROUPS, ("spec", "template")),
    "DaemonSet": (_APPS_GROUPS, ("spec", "template")),
    "ReplicaSet": (_APPS_GROUPS, ("spec", "template")),
    "Job": (_BATCH_GROUPS, ("spec", "template")),
    "CronJob": (_BATCH_GROUPS, ("spec", "jobTemplate", "spec", "template")),
    **{kind: ({TOOLHIVE_GROUP}, ("spec", "podTemplateSpec")) for kind in TOOLHIVE_POD_TEMPLATE_KINDS},
}


def _api_group(obj: dict) -> str:
    api_version = str(obj.get("apiVersion") or "")
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def pod_templates(obj: dict) -> list[tuple[str, dict, dict]]:
    """(spec path, pod metadata, pod spec) of every pod template inside a Kubernetes object given as a
    manifest dict (camelCase keys, with apiVersion and kind): Pod (spec), Deployment, StatefulSet,
    DaemonSet, ReplicaSet, ReplicationController, Job (spec.template.spec), CronJob
    (spec.jobTemplate.spec.template.spec), PodTemplate (template.spec), and the ToolHive resources
    (apiVersion toolhive.stacklok.dev/*) MCPServer, MCPRemoteProxy, VirtualMCPServer, MCPRegistry:
    spec.podTemplateSpec (a possibly partial PodTemplateSpec {metadata, spec}). Other kinds: []."""
    obj = _dict(obj)
    entry = _WORKLOAD_TEMPLATES.get(str(obj.get("kind") or ""))
    if entry is None or _api_group(obj) not in entry[0]:
        return []
    template_path = entry[1]
    if template_path is None:  # a Pod is its own template
        spec = obj.get("spec")
        return [("spec", _dict(obj.get("metadata")), spec)] if isinstance(spec, dict) else []
    template: Any = obj
    for key in template_path:
        template = _dict(template).get(key)
    if not isinstance(template, dict):
        return []
    prefix = ".".join(template_path)
    return [(f"{prefix}.spec", _dict(template.get("metadata")), _dict(template.get("spec")))]


def _mcpserver_host_path_volumes(obj: dict) -> list[str]:
    """MCPServer spec.volumes entries are hostPath mounts into the MCP server pod (CRD: name,
    hostPath, mountPath, readOnly), so each one is a baseline "HostPath Volumes" violation."""
    if obj.get("kind") != "MCPServer" or _api_group(obj) != TOOLHIVE_GROUP:
        return []
    out = []
    for i, vol in enumerate(_list(_dict(obj.get("spec")).get("volumes"))):
        vol = _dict(vol)
        if vol.get("hostPath") is not None:
            name = f" (name '{vol['name']}')" if vol.get("name") else ""
            out.append(
                f"spec.volumes[{i}]{name}: hostPath {vol['hostPath']!r} mounts a host directory, which "
                f"Pod Security Standards forbid (remove the entry; mount a persistentVolumeClaim, "
                f"configMap, secret or emptyDir volume through spec.podTemplateSpec instead)"
            )
    return out


def _mcpregistry_volumes(obj: dict, level: str) -> list[str]:
    """MCPRegistry spec.volumes are standard Kubernetes Volumes the operator appends to the registry
    API pod, so they get the pod's volume checks (hostPath at baseline, volume types at restricted)."""
    if obj.get("kind") != "MCPRegistry" or _api_group(obj) != TOOLHIVE_GROUP:
        return []
    pod = _Pod(spec={"volumes": _list(_dict(obj.get("spec")).get("volumes"))}, metadata={}, path="spec")
    return check_host_path_volumes(pod) if level == "baseline" else check_restricted_volumes(pod)


def check_object(obj: dict, level: str = "restricted") -> list[str]:
    """All violations of an object: every pod template via check_pod, plus the volumes ToolHive
    resources add to their pods outside the template: MCPServer spec.volumes (hostPath mounts) and
    MCPRegistry spec.volumes (standard Volumes). Raises ValueError for an unknown level."""
    _validate_level(level)
    violations = []
    for path, metadata, spec in pod_templates(obj):
        violations += check_pod(spec, metadata, level, path)
    violations += _mcpserver_host_path_volumes(_dict(obj))
    violations += _mcpregistry_volumes(_dict(obj), level)
    return violations

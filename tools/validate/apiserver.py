"""API-server rules no OpenAPI schema expresses, for the kinds this program writes.

Reproduces the checks of the API server's per-kind validation (k8s.io/kubernetes pkg/apis/*/validation)
and of server-side apply (list-map keys must be unique) that a render can hit:

* pods (Pod and every pod template): container names unique across containers, initContainers and
  ephemeralContainers; per container an image, requests <= limits (quantities parsed exactly), unique
  env names, env value xor valueFrom, ports (1-65535, protocol, IANA names unique, containerPort/protocol
  unique), volumeMounts (unique mountPath, existing volume); unique volume and imagePullSecret names;
  tolerations (operator Equal/Exists, Exists takes no value, an empty key needs Exists, effect enum,
  tolerationSeconds only with NoExecute); nodeSelector and template labels/annotations syntax;
  topologySpreadConstraints;
* workloads: a valid, non-empty selector that matches the template's labels; replicas >= 0;
* LimitRange: every quantity valid, min <= defaultRequest <= default <= max, default/defaultRequest
  within maxLimitRequestRatio;
* ResourceQuota: every hard limit a valid non-negative quantity;
* NetworkPolicy: selectors, ipBlock CIDRs (and ``except`` inside them), ports and endPort, policyTypes;
* Service: a DNS-1035 name, selector syntax, ports (range, unique names and port/protocol, targetPort);
* names and keys by the rule of the field they land in (components/k8s/validation.py, shared with the
  config models): volume names, Secret and ConfigMap keys of env references and volume items, storage
  class names (PVCs, volumeClaimTemplates), Ingress hosts (DNS names, never IPs) and class, ServiceAccount
  names, StatefulSet names with room for the controller-revision-hash label of their pods;
* PodDisruptionBudget: selector, not both minAvailable and maxUnavailable;
* RBAC: role rules with verbs (and API groups for resource rules), bindings with a valid roleRef and
  subjects of a known kind with a non-empty name (and a namespace for service accounts where needed).

Object metadata (names, labels, annotations of the object itself) is checked by ``schema``.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable, Iterator

from components.k8s import validation
from tools.validate import quantity
from tools.validate.problem import Problem, problem

Issue = tuple[list, str]  # (path parts, message)

_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
# 1.33 (RelaxedEnvironmentVariableValidation, on by default): any printable ASCII but '='
_ENV_NAME = re.compile(r"^[ -<>-~]+$")

_PROTOCOLS = ("TCP", "UDP", "SCTP")
_TAINT_EFFECTS = ("", "NoSchedule", "PreferNoSchedule", "NoExecute")
_ANNOTATIONS_MAX = 256 * 1024
RBAC_GROUP = "rbac.authorization.k8s.io"


def check(objects: list[dict]) -> list[Problem]:
    """API-server problems of every object."""
    problems: list[Problem] = []
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        for rule in _RULES.get(obj.get("kind"), ()):
            problems.extend(problem(obj, path, message) for path, message in rule(obj))
    return problems


# --------------------------------------------------------------------------------------------------
# Small syntax checks


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def is_dns1123_label(value: Any) -> bool:
    return isinstance(value, str) and not validation.dns1123_label(value)


def is_dns1123_subdomain(value: Any) -> bool:
    return isinstance(value, str) and not validation.dns1123_subdomain(value)


def _rule(check: Callable[[str], list[str]], value: Any, path: list) -> Iterator[Issue]:
    """A rule of components/k8s/validation.py on one field (the same helper the config models use)."""
    if not isinstance(value, str):
        yield path, "must be a string"
    elif problems := check(value):
        yield path, f"{value!r} {problems[0]}"


def qualified_name_error(key: Any) -> str | None:
    """Why ``key`` is no valid qualified name ([DNS-subdomain prefix/]name of at most 63), or None."""
    if not isinstance(key, str):
        return "must be a string"
    prefix, slash, name = key.rpartition("/")
    if slash and not is_dns1123_subdomain(prefix):
        return f"prefix {prefix!r} must be a DNS-1123 subdomain"
    if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        return ("name part must be 1-63 alphanumerics, '-', '_' or '.', "
                "starting and ending with an alphanumeric")
    return None


def label_value_error(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        return "must be at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
    return None


def _labels(labels: Any, path: list, what: str = "label") -> Iterator[Issue]:
    for key, value in _dict(labels).items():
        reason = qualified_name_error(key)
        if reason:
            yield [*path, key], f"invalid {what} key {key!r}: {reason}"
        reason = label_value_error(value)
        if reason:
            yield [*path, key], f"invalid {what} value {value!r}: {reason}"


def _annotations(annotations: Any, path: list) -> Iterator[Issue]:
    total = 0
    for key, value in _dict(annotations).items():
        reason = qualified_name_error(key.lower() if isinstance(key, str) else key)
        if reason:
            yield [*path, key], f"invalid annotation key {key!r}: {reason}"
        total += len(str(key)) + len(value if isinstance(value, str) else "")
    if total > _ANNOTATIONS_MAX:
        yield path, f"annotations total {total} bytes, must be at most {_ANNOTATIONS_MAX}"


def _selector(selector: Any, path: list) -> Iterator[Issue]:
    """A metav1.LabelSelector: label syntax in matchLabels, operators and values in matchExpressions."""
    selector = _dict(selector)
    yield from _labels(selector.get("matchLabels"), [*path, "matchLabels"])
    for i, expression in enumerate(_list(selector.get("matchExpressions"))):
        expression = _dict(expression)
        where = [*path, "matchExpressions", i]
        reason = qualified_name_error(expression.get("key"))
        if reason:
            yield [*where, "key"], f"invalid label key {expression.get('key')!r}: {reason}"
        operator, values = expression.get("operator"), _list(expression.get("values"))
        if operator in ("In", "NotIn"):
            if not values:
                yield [*where, "values"], f"must be specified when operator is {operator}"
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                yield [*where, "values"], f"may not be specified when operator is {operator}"
        else:
            yield [*where, "operator"], f"{operator!r} is not one of In, NotIn, Exists, DoesNotExist"
        for j, value in enumerate(values):
            reason = label_value_error(value)
            if reason:
                yield [*where, "values", j], f"invalid label value {value!r}: {reason}"


def _selector_matches(selector: dict, labels: dict) -> bool:
    if any(labels.get(key) != value for key, value in _dict(selector.get("matchLabels")).items()):
        return False
    for expression in _list(selector.get("matchExpressions")):
        key, operator, values = expression.get("key"), expression.get("operator"), _list(expression.get("values"))
        present = key in labels
        if ((operator == "In" and labels.get(key) not in values) or (operator == "NotIn" and present and labels[key] in values)
                or (operator == "Exists" and not present) or (operator == "DoesNotExist" and present)):
            return False
    return True


def _unique(items: list, key: Callable[[Any], Any], path: list, field: str, what: str) -> Iterator[Issue]:
    """Duplicates of ``key(item)`` in a list (server-side apply rejects duplicate list-map keys)."""
    seen: dict[Any, int] = {}
    for i, item in enumerate(items):
        value = key(_dict(item))
        if value is None:
            continue
        if value in seen:
            yield [*path, i, field], f"duplicate {what} {_show(value)} (same as [{seen[value]}])"
        else:
            seen[value] = i


def _show(value: Any) -> str:
    return "/".join(map(str, value)) if isinstance(value, tuple) else repr(value)


def _port_number(value: Any, path: list, *, allow_zero: bool = False) -> Iterator[Issue]:
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 65535:
        yield path, f"{value!r} must be a port number between {low} and 65535"


def _int_or_name_port(value: Any, path: list) -> Iterator[Issue]:
    if isinstance(value, str):
        if not _is_iana_svc_name(value):
            yield path, f"{value!r} must be a port number or an IANA service name (at most 15 lowercase alphanumerics and '-', with a letter)"
    else:
        yield from _port_number(value, path)


def _is_iana_svc_name(value: Any) -> bool:
    return (isinstance(value, str) and len(value) <= 15 and bool(_IANA_SVC_NAME.match(value))
            and "--" not in value and any(c.isalpha() for c in value))


def _protocol(value: Any, path: list) -> Iterator[Issue]:
    if value is not None and value not in _PROTOCOLS:
        yield path, f"{value!r} is not one of {', '.join(_PROTOCOLS)}"


# --------------------------------------------------------------------------------------------------
# Pods


def _resources(resources: Any, path: list) -> Iterator[Issue]:
    """Every quantity parses; a request is at most its limit."""
    resources = _dict(resources)
    parsed: dict[str, dict[str, Any]] = {}
    for section in ("requests", "limits"):
        parsed[section] = {}
        for name, value in _dict(resources.get(section)).items():
            amount = quantity.parse(value)
            if amount is None:
                yield [*path, section, name], f"{value!r} is not a valid quantity"
            elif amount < 0:
                yield [*path, section, name], f"{value!r} must be greater than or equal to 0"
            else:
                parsed[section][name] = amount
    for name, request in parsed["requests"].items():
        limit = parsed["limits"].get(name)
        if limit is not None and request > limit:
            yield ([*path, "requests", name],
                   f"{resources['requests'][name]!r} must be less than or equal to the {name} limit {resources['limits'][name]!r}")


def _container(container: dict, path: list, volumes: set) -> Iterator[Issue]:
    if not container.get("image"):
        yield [*path, "image"], "required: a container image"
    yield from _resources(container.get("resources"), [*path, "resources"])
    env = _list(container.get("env"))
    yield from _unique(env, lambda e: e.get("name"), [*path, "env"], "name", "env name")
    for i, var in enumerate(env):
        var = _dict(var)
        name = var.get("name")
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            yield [*path, "env", i, "name"], f"{name!r} must be printable ASCII characters other than '='"
        if var.get("value") not in (None, "") and var.get("valueFrom") is not None:
            yield [*path, "env", i, "valueFrom"], "may not be set when value is not empty"
        if var.get("valueFrom") is not None and len(_dict(var.get("valueFrom"))) != 1:
            yield [*path, "env", i, "valueFrom"], "must set exactly one source (configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef, fileKeyRef)"
        for source in ("secretKeyRef", "configMapKeyRef"):
            ref = _dict(_dict(var.get("valueFrom")).get(source))
            if "key" in ref:
                yield from _rule(validation.secret_key, ref["key"], [*path, "env", i, "valueFrom", source, "key"])
    ports = _list(container.get("ports"))
    for i, port in enumerate(ports):
        port = _dict(port)
        yield from _port_number(port.get("containerPort"), [*path, "ports", i, "containerPort"])
        if "hostPort" in port:
            yield from _port_number(port.get("hostPort"), [*path, "ports", i, "hostPort"], allow_zero=True)
        yield from _protocol(port.get("protocol"), [*path, "ports", i, "protocol"])
        if "name" in port and not _is_iana_svc_name(port["name"]):
            yield [*path, "ports", i, "name"], f"{port['name']!r} must be an IANA service name (at most 15 lowercase alphanumerics and '-', with a letter)"
    yield from _unique(ports, lambda p: p.get("name"), [*path, "ports"], "name", "port name")
    yield from _unique(ports, lambda p: (p.get("containerPort"), p.get("protocol") or "TCP"),
                       [*path, "ports"], "containerPort", "containerPort/protocol")
    mounts = _list(container.get("volumeMounts"))
    yield from _unique(mounts, lambda m: m.get("mountPath"), [*path, "volumeMounts"], "mountPath", "mountPath")
    for i, mount in enumerate(mounts):
        mount = _dict(mount)
        if mount.get("name") not in volumes:
            yield [*path, "volumeMounts", i, "name"], f"{mount.get('name')!r} is not a volume of the pod"
        if not mount.get("mountPath"):
            yield [*path, "volumeMounts", i, "mountPath"], "required: a mount path"


def _toleration(toleration: dict, path: list) -> Iterator[Issue]:
    key, operator, value, effect = (toleration.get("key"), toleration.get("operator", "Equal"),
                                    toleration.get("value", ""), toleration.get("effect", ""))
    if key:
        reason = qualified_name_error(key)
        if reason:
            yield [*path, "key"], f"invalid toleration key {key!r}: {reason}"
    elif operator != "Exists":
        yield [*path, "operator"], "must be Exists when key is empty (to tolerate every taint)"
    if operator == "Exists":
        if value:
            yield [*path, "value"], "must be empty when operator is Exists"
    elif operator == "Equal":
        reason = label_value_error(value)
        if reason:
            yield [*path, "value"], f"invalid toleration value {value!r}: {reason}"
    else:
        yield [*path, "operator"], f"{operator!r} is not one of Equal, Exists"
    if effect not in _TAINT_EFFECTS:
        yield [*path, "effect"], f"{effect!r} is not one of NoSchedule, PreferNoSchedule, NoExecute (or empty)"
    if "tolerationSeconds" in toleration and effect != "NoExecute":
        yield [*path, "tolerationSeconds"], "may only be set when effect is NoExecute"


def _pod_spec(spec: Any, path: list, claims: set = frozenset()) -> Iterator[Issue]:
    """``claims``: the volumes a StatefulSet's volumeClaimTemplates add."""
    spec = _dict(spec)
    volumes = _list(spec.get("volumes"))
    yield from _unique(volumes, lambda v: v.get("name"), [*path, "volumes"], "name", "volume name")
    volume_names = {_dict(v).get("name") for v in volumes} | set(claims)
    for i, volume in enumerate(volumes):
        volume = _dict(volume)
        yield from _rule(validation.volume_name, volume.get("name"), [*path, "volumes", i, "name"])
        for source in ("secret", "configMap"):
            for j, item in enumerate(_list(_dict(volume.get(source)).get("items"))):
                yield from _rule(validation.secret_key, _dict(item).get("key"), [*path, "volumes", i, source, "items", j, "key"])
    seen: dict[str, str] = {}
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for i, container in enumerate(_list(spec.get(group))):
            container = _dict(container)
            name = container.get("name")
            where = [*path, group, i]
            if not is_dns1123_label(name):
                yield [*where, "name"], f"{name!r} must be a DNS-1123 label"
            elif name in seen:
                yield [*where, "name"], f"duplicate container name {name!r} (same as {seen[name]})"
            else:
                seen[name] = f"{group}[{i}]"
            yield from _container(container, where, volume_names)
    secrets = _list(spec.get("imagePullSecrets"))
    yield from _unique(secrets, lambda s: s.get("name"), [*path, "imagePullSecrets"], "name", "imagePullSecret")
    for i, secret in enumerate(secrets):
        if not _dict(secret).get("name"):
            yield [*path, "imagePullSecrets", i, "name"], "required: a Secret name"
    for i, toleration in enumerate(_list(spec.get("tolerations"))):
        yield from _toleration(_dict(toleration), [*path, "tolerations", i])
    yield from _labels(spec.get("nodeSelector"), [*path, "nodeSelector"], "nodeSelector")
    for i, constraint in enumerate(_list(spec.get("topologySpreadConstraints"))):
        constraint = _dict(constraint)
        where = [*path, "topologySpreadConstraints", i]
        if not isinstance(constraint.get("maxSkew"), int) or constraint["maxSkew"] <= 0:
            yield [*where, "maxSkew"], "must be greater than zero"
        if constraint.get("whenUnsatisfiable") not in ("DoNotSchedule", "ScheduleAnyway"):
            yield [*where, "whenUnsatisfiable"], "must be DoNotSchedule or ScheduleAnyway"
        if qualified_name_error(constraint.get("topologyKey")):
            yield [*where, "topologyKey"], "must be a label key"
        yield from _selector(constraint.get("labelSelector"), [*where, "labelSelector"])
    for field in ("serviceAccountName", "priorityClassName"):
        if spec.get(field) and not is_dns1123_subdomain(spec[field]):
            yield [*path, field], f"{spec[field]!r} must be a DNS-1123 subdomain"


def _pod_template(template: Any, path: list, claims: set = frozenset()) -> Iterator[Issue]:
    metadata = _dict(_dict(template).get("metadata"))
    yield from _labels(metadata.get("labels"), [*path, "metadata", "labels"])
    yield from _annotations(metadata.get("annotations"), [*path, "metadata", "annotations"])
    yield from _pod_spec(_dict(template).get("spec"), [*path, "spec"], claims)


def _pod(obj: dict) -> Iterator[Issue]:
    yield from _pod_spec(obj.get("spec"), ["spec"])


def _workload(obj: dict) -> Iterator[Issue]:
    spec = _dict(obj.get("spec"))
    if obj.get("kind") == "StatefulSet":
        yield from _rule(validation.statefulset_name, _dict(obj.get("metadata")).get("name"), ["metadata", "name"])
        for i, claim in enumerate(_list(spec.get("volumeClaimTemplates"))):
            yield from _claim_spec(_dict(_dict(claim).get("spec")), ["spec", "volumeClaimTemplates", i, "spec"])
    template = _dict(spec.get("template"))
    claims = {_dict(_dict(claim).get("metadata")).get("name") for claim in _list(spec.get("volumeClaimTemplates"))}
    yield from _pod_template(template, ["spec", "template"], claims)
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        yield ["spec", "replicas"], "must be greater than or equal to 0"
    if obj.get("kind") == "Job" or "selector" not in spec and obj.get("kind") == "ReplicationController":
        return
    selector = _dict(spec.get("selector"))
    yield from _selector(selector, ["spec", "selector"])
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        yield ["spec", "selector"], "empty selector is invalid for a workload"
    elif not _selector_matches(selector, _dict(_dict(template.get("metadata")).get("labels"))):
        yield ["spec", "template", "metadata", "labels"], "`selector` does not match template `labels`"


def _cron_job(obj: dict) -> Iterator[Issue]:
    yield from _pod_template(_dict(_dict(_dict(obj.get("spec")).get("jobTemplate")).get("spec")).get("template"),
                             ["spec", "jobTemplate", "spec", "template"])


# --------------------------------------------------------------------------------------------------
# Namespace fences


def _limit_range(obj: dict) -> Iterator[Issue]:
    for i, item in enumerate(_list(_dict(obj.get("spec")).get("limits"))):
        item = _dict(item)
        where = ["spec", "limits", i]
        if item.get("type") not in ("Container", "Pod", "PersistentVolumeClaim"):
            yield [*where, "type"], f"{item.get('type')!r} is not one of Container, Pod, PersistentVolumeClaim"
        if item.get("type") == "Pod" and (item.get("default") or item.get("defaultRequest")):
            yield where, "default and defaultRequest may not be set for type Pod"
        values: dict[str, dict[str, Any]] = {}
        for section in ("min", "max", "default", "defaultRequest", "maxLimitRequestRatio"):
            for name, raw in _dict(item.get(section)).items():
                amount = quantity.parse(raw)
                if amount is None or amount < 0:
                    yield [*where, section, name], f"{raw!r} is not a valid non-negative quantity"
                else:
                    values.setdefault(name, {})[section] = (amount, raw)
        # min <= defaultRequest <= default <= max, for every resource (as the API server checks them)
        order = ("min", "defaultRequest", "default", "max")
        for name, found in values.items():
            for low_index, low in enumerate(order):
                for high in order[low_index + 1:]:
                    if low in found and high in found and found[low][0] > found[high][0]:
                        yield ([*where, high, name],
                               f"{high} {found[high][1]!r} must be greater than or equal to {low} {found[low][1]!r}")
            ratio = found.get("maxLimitRequestRatio")
            if ratio and ratio[0] < 1:
                yield [*where, "maxLimitRequestRatio", name], "must be greater than or equal to 1"
            elif ratio and "default" in found and found.get("defaultRequest", (0,))[0] > 0:
                defaults = found["default"][0] / found["defaultRequest"][0]
                if defaults > ratio[0]:  # ValidateLimitRange: default / defaultRequest within the ratio
                    yield ([*where, "maxLimitRequestRatio", name],
                           f"ratio {defaults.normalize():f} of default to defaultRequest is greater than max ratio "
                           f"{ratio[1]!r}")


def _resource_quota(obj: dict) -> Iterator[Issue]:
    for name, raw in _dict(_dict(obj.get("spec")).get("hard")).items():
        amount = quantity.parse(raw)
        if amount is None or amount < 0:
            yield ["spec", "hard", name], f"{raw!r} is not a valid non-negative quantity"


def _network_policy(obj: dict) -> Iterator[Issue]:
    spec = _dict(obj.get("spec"))
    yield from _selector(spec.get("podSelector"), ["spec", "podSelector"])
    for i, policy_type in enumerate(_list(spec.get("policyTypes"))):
        if policy_type not in ("Ingress", "Egress"):
            yield ["spec", "policyTypes", i], f"{policy_type!r} is not one of Ingress, Egress"
    for direction, peers_field in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(_list(spec.get(direction))):
            rule = _dict(rule)
            for j, peer in enumerate(_list(rule.get(peers_field))):
                yield from _peer(_dict(peer), ["spec", direction, i, peers_field, j])
            for j, port in enumerate(_list(rule.get("ports"))):
                yield from _policy_port(_dict(port), ["spec", direction, i, "ports", j])


def _peer(peer: dict, path: list) -> Iterator[Issue]:
    selectors = [key for key in ("podSelector", "namespaceSelector") if key in peer]
    for key in selectors:
        yield from _selector(peer[key], [*path, key])
    if "ipBlock" in peer:
        if selectors:
            yield path, "may not specify ipBlock together with podSelector or namespaceSelector"
        block = _dict(peer["ipBlock"])
        network = _cidr(block.get("cidr"))
        if network is None:
            yield [*path, "ipBlock", "cidr"], f"{block.get('cidr')!r} is not a valid CIDR (e.g. 10.0.0.0/16 or fd00::/8)"
        for k, excluded in enumerate(_list(block.get("except"))):
            inner = _cidr(excluded)
            if inner is None:
                yield [*path, "ipBlock", "except", k], f"{excluded!r} is not a valid CIDR"
            elif network is not None and (inner.version != network.version or not inner.subnet_of(network)):
                yield [*path, "ipBlock", "except", k], f"{excluded!r} must be within {block.get('cidr')!r}"
    elif not selectors:
        yield path, "must specify a peer (podSelector, namespaceSelector or ipBlock)"


def _cidr(value: Any):
    """A CIDR as Go's net.ParseCIDR reads it (host bits may be set; the prefix is required)."""
    if not isinstance(value, str) or "/" not in value:
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def _policy_port(port: dict, path: list) -> Iterator[Issue]:
    yield from _protocol(port.get("protocol"), [*path, "protocol"])
    if "port" in port:
        yield from _int_or_name_port(port["port"], [*path, "port"])
    if "endPort" in port:
        if not isinstance(port.get("port"), int):
            yield [*path, "endPort"], "may only be set with a numeric port"
        else:
            yield from _port_number(port["endPort"], [*path, "endPort"])
            if isinstance(port["endPort"], int) and port["endPort"] < port["port"]:
                yield [*path, "endPort"], "must be greater than or equal to port"


# --------------------------------------------------------------------------------------------------
# Services, disruption budgets, RBAC


def _claim_spec(spec: dict, path: list) -> Iterator[Issue]:
    if spec.get("storageClassName"):
        yield from _rule(validation.storage_class_name, spec["storageClassName"], [*path, "storageClassName"])


def _persistent_volume_claim(obj: dict) -> Iterator[Issue]:
    yield from _claim_spec(_dict(obj.get("spec")), ["spec"])


def _ingress(obj: dict) -> Iterator[Issue]:
    spec = _dict(obj.get("spec"))
    if "ingressClassName" in spec:
        yield from _rule(validation.ingress_class_name, spec["ingressClassName"], ["spec", "ingressClassName"])
    for i, rule in enumerate(_list(spec.get("rules"))):
        if _dict(rule).get("host"):
            yield from _rule(validation.ingress_host, rule["host"], ["spec", "rules", i, "host"])


def _service_account(obj: dict) -> Iterator[Issue]:
    yield from _rule(validation.service_account_name, _dict(obj.get("metadata")).get("name"), ["metadata", "name"])


def _service(obj: dict) -> Iterator[Issue]:
    spec = _dict(obj.get("spec"))
    yield from _rule(validation.service_name, _dict(obj.get("metadata")).get("name"), ["metadata", "name"])
    yield from _labels(spec.get("selector"), ["spec", "selector"], "selector")
    ports = _list(spec.get("ports"))
    for i, port in enumerate(ports):
        port = _dict(port)
        yield from _port_number(port.get("port"), ["spec", "ports", i, "port"])
        yield from _protocol(port.get("protocol"), ["spec", "ports", i, "protocol"])
        if "targetPort" in port:
            yield from _int_or_name_port(port["targetPort"], ["spec", "ports", i, "targetPort"])
        if len(ports) > 1 and not port.get("name"):
            yield ["spec", "ports", i, "name"], "required when a Service has more than one port"
        elif port.get("name") and not is_dns1123_label(port["name"]):
            yield ["spec", "ports", i, "name"], f"{port['name']!r} must be a DNS-1123 label"
    yield from _unique(ports, lambda p: p.get("name"), ["spec", "ports"], "name", "port name")
    yield from _unique(ports, lambda p: (p.get("port"), p.get("protocol") or "TCP"), ["spec", "ports"], "port", "port/protocol")


def _pod_disruption_budget(obj: dict) -> Iterator[Issue]:
    spec = _dict(obj.get("spec"))
    yield from _selector(spec.get("selector"), ["spec", "selector"])
    if "minAvailable" in spec and "maxUnavailable" in spec:
        yield ["spec"], "minAvailable and maxUnavailable cannot both be set"


def _role(obj: dict) -> Iterator[Issue]:
    for i, rule in enumerate(_list(obj.get("rules"))):
        rule = _dict(rule)
        where = ["rules", i]
        if not _list(rule.get("verbs")):
            yield [*where, "verbs"], "verbs must contain at least one value"
        if rule.get("nonResourceURLs"):
            if obj.get("kind") == "Role":
                yield [*where, "nonResourceURLs"], "namespaced rules cannot apply to non-resource URLs"
            if rule.get("resources") or rule.get("apiGroups"):
                yield [*where, "nonResourceURLs"], "rules cannot apply to both regular resources and non-resource URLs"
        elif not _list(rule.get("apiGroups")):
            yield [*where, "apiGroups"], "resource rules must supply at least one api group"
        elif not _list(rule.get("resources")):
            yield [*where, "resources"], "resource rules must supply at least one resource"


def _binding(obj: dict) -> Iterator[Issue]:
    cluster = obj.get("kind") == "ClusterRoleBinding"
    ref = _dict(obj.get("roleRef"))
    if ref.get("apiGroup") != RBAC_GROUP:
        yield ["roleRef", "apiGroup"], f"must be {RBAC_GROUP}"
    allowed = ("ClusterRole",) if cluster else ("Role", "ClusterRole")
    if ref.get("kind") not in allowed:
        yield ["roleRef", "kind"], f"{ref.get('kind')!r} is not one of {', '.join(allowed)}"
    if not ref.get("name"):
        yield ["roleRef", "name"], "required: the name of the role"
    for i, subject in enumerate(_list(obj.get("subjects"))):
        subject = _dict(subject)
        where = ["subjects", i]
        kind, name = subject.get("kind"), subject.get("name")
        if not isinstance(name, str) or not name.strip():
            yield [*where, "name"], f"required: a non-empty {kind or 'subject'} name"
        if kind == "ServiceAccount":
            if subject.get("apiGroup"):
                yield [*where, "apiGroup"], "must be empty for a ServiceAccount"
            if isinstance(name, str) and name and not is_dns1123_subdomain(name):
                yield [*where, "name"], f"{name!r} must be a DNS-1123 subdomain"
            if cluster and not subject.get("namespace"):
                yield [*where, "namespace"], "required for a ServiceAccount subject of a ClusterRoleBinding"
        elif kind in ("User", "Group"):
            if subject.get("apiGroup") != RBAC_GROUP:
                yield [*where, "apiGroup"], f"must be {RBAC_GROUP} for a {kind}"
        else:
            yield [*where, "kind"], f"{kind!r} is not one of User, Group, ServiceAccount"


_RULES: dict[str, tuple[Callable[[dict], Iterator[Issue]], ...]] = {
    "Pod": (_pod,),
    "Deployment": (_workload,), "StatefulSet": (_workload,), "DaemonSet": (_workload,), "ReplicaSet": (_workload,),
    "ReplicationController": (_workload,), "Job": (_workload,), "CronJob": (_cron_job,),
    "LimitRange": (_limit_range,),
    "ResourceQuota": (_resource_quota,),
    "NetworkPolicy": (_network_policy,),
    "Service": (_service,), "ServiceAccount": (_service_account,),
    "PersistentVolumeClaim": (_persistent_volume_claim,), "Ingress": (_ingress,),
    "PodDisruptionBudget": (_pod_disruption_budget,),
    "Role": (_role,), "ClusterRole": (_role,),
    "RoleBinding": (_binding,), "ClusterRoleBinding": (_binding,),
}

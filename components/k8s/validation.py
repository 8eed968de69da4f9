"""The API server's syntax rules for names, label and annotation keys and values (apimachinery's
util/validation and ValidateLabels/ValidateAnnotations), as plain functions returning messages.

Each check returns a list of problems (empty = valid), like apimachinery, so the config models and an
offline dry-run validator can share them. Messages say what is allowed, never more than the value.
"""
from __future__ import annotations

import ipaddress
import re

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63
TOTAL_ANNOTATION_SIZE_MAX = 256 * 1024  # bytes of all keys and values together

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_QUALIFIED_NAME_RULE = ("a name of at most 63 characters: letters, digits, '-', '_' or '.', starting and ending "
                        "with a letter or digit, with an optional DNS subdomain prefix and '/' (e.g. example.com/my-key)")


def dns1123_label(value: str) -> list[str]:
    if len(value) > DNS1123_LABEL_MAX or not _DNS1123_LABEL.match(value):
        return [f"must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or "
                f"digit, at most {DNS1123_LABEL_MAX} characters"]
    return []


def dns1123_subdomain(value: str) -> list[str]:
    if len(value) > DNS1123_SUBDOMAIN_MAX or not _DNS1123_SUBDOMAIN.match(value):
        return [f"must be a DNS subdomain: lowercase letters, digits, '-' and '.', starting and ending with a "
                f"letter or digit, at most {DNS1123_SUBDOMAIN_MAX} characters"]
    return []


def qualified_name(key: str) -> list[str]:
    """A label or annotation key: `[prefix/]name`, prefix a DNS subdomain, name as _QUALIFIED_NAME."""
    parts = key.split("/")
    if len(parts) > 2:
        return [f"must be {_QUALIFIED_NAME_RULE}; it has more than one '/'"]
    name = parts[-1]
    problems = []
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            problems.append("has an empty prefix before '/'")
        else:
            problems += [f"prefix {message}" for message in dns1123_subdomain(prefix)]
    if not name or len(name) > QUALIFIED_NAME_MAX or not _QUALIFIED_NAME.match(name):
        problems.append(f"must be {_QUALIFIED_NAME_RULE}")
    return problems


def label_value(value: str) -> list[str]:
    if len(value) > LABEL_VALUE_MAX or not _LABEL_VALUE.match(value):
        return [f"must be empty or at most {LABEL_VALUE_MAX} characters: letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit"]
    return []


def labels(mapping: dict[str, str]) -> dict[tuple[str, str], list[str]]:
    """Problems of a label map (also nodeSelector, selectors), by (key, 'key' | 'value')."""
    problems: dict[tuple[str, str], list[str]] = {}
    for key, value in mapping.items():
        if found := qualified_name(key):
            problems[(key, "key")] = found
        if found := label_value(value):
            problems[(key, "value")] = found
    return problems


def annotations(mapping: dict[str, str]) -> dict[tuple[str, str], list[str]]:
    """Problems of an annotation map: keys as label keys (the API server lowercases them first), values
    free, all keys and values together at most 256 KiB (reported under the key ('', 'size'))."""
    problems: dict[tuple[str, str], list[str]] = {}
    for key in mapping:
        if found := qualified_name(key.lower()):
            problems[(key, "key")] = found
    size = sum(len(key.encode()) + len(value.encode()) for key, value in mapping.items())
    if size > TOTAL_ANNOTATION_SIZE_MAX:
        problems[("", "size")] = [f"annotations take {size} bytes; keys and values together may take at most "
                                  f"{TOTAL_ANNOTATION_SIZE_MAX} (256 KiB)"]
    return problems


# --- the rule of the field a name lands in (apimachinery validation, api/core|apps|networking validation) ---

_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_CONFIG_MAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
#: `controller-revision-hash=<statefulset>-<hash>` on every StatefulSet pod: a label value (<= 63), with a
#: hash of up to 10 characters (k8s.io/kubernetes pkg/controller ComputeHash, rand.SafeEncodeString of a uint32).
REVISION_HASH_MAX = 10
STATEFULSET_NAME_MAX = LABEL_VALUE_MAX - 1 - REVISION_HASH_MAX


def dns1035_label(value: str) -> list[str]:
    if len(value) > DNS1123_LABEL_MAX or not _DNS1035_LABEL.match(value):
        return [f"must be a DNS-1035 label: lowercase letters, digits and '-', starting with a letter and ending "
                f"with a letter or digit, at most {DNS1123_LABEL_MAX} characters"]
    return []


def secret_key(value: str) -> list[str]:
    """A key of a Secret or ConfigMap (IsConfigMapKey), wherever a reference names one."""
    if not value or len(value) > DNS1123_SUBDOMAIN_MAX or not _CONFIG_MAP_KEY.match(value) \
            or value in (".", "..") or value.startswith(".."):
        return [f"must be letters, digits, '-', '_' and '.', at most {DNS1123_SUBDOMAIN_MAX} "
                "characters, not '.' or '..' and not starting with '..'"]
    return []


def volume_name(value: str) -> list[str]:
    """A pod volume's name (ValidateVolumes): a DNS label."""
    return [f"volume name {problem}" for problem in dns1123_label(value)]


def storage_class_name(value: str) -> list[str]:
    """storageClassName of a PersistentVolumeClaim (ValidateClassName): a DNS subdomain."""
    return dns1123_subdomain(value)


def ingress_class_name(value: str) -> list[str]:
    """spec.ingressClassName of an Ingress (ValidateIngressClassName): a DNS subdomain."""
    return dns1123_subdomain(value)


def ingress_host(value: str) -> list[str]:
    """An Ingress rule's host: a DNS name (a leading '*.' allowed), never an IP address."""
    try:
        ipaddress.ip_address(value)
        is_ip = True
    except ValueError:  # netutils.ParseIPSloppy also reads IPv4 with leading zeros
        is_ip = bool(re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,3}){3}", value))
    if is_ip:
        return ["must be a DNS name, not an IP address"]
    if dns1123_subdomain(value[2:] if value.startswith("*.") else value):
        return [f"must be a DNS name (optionally starting with '*.'): lowercase letters, digits, '-' and '.', "
                f"at most {DNS1123_SUBDOMAIN_MAX} characters"]
    return []


def service_name(value: str) -> list[str]:
    """metadata.name of a Service (ValidateServiceName): a DNS-1035 label."""
    return dns1035_label(value)


def service_account_name(value: str) -> list[str]:
    """metadata.name of a ServiceAccount, and spec.serviceAccountName: a DNS subdomain."""
    return dns1123_subdomain(value)


def statefulset_name(value: str) -> list[str]:
    """A StatefulSet's name with room for its pods' controller-revision-hash label (`<name>-<hash>`)."""
    if problems := dns1123_subdomain(value):
        return problems
    if len(value) > STATEFULSET_NAME_MAX:
        return [f"must be at most {STATEFULSET_NAME_MAX} characters: its pods are labelled controller-revision-hash="
                f"<name>-<hash of up to {REVISION_HASH_MAX}>, a label value of at most {LABEL_VALUE_MAX}"]
    return []

"""The one way to build security contexts: hardened defaults that meet Pod Security `restricted`."""
from __future__ import annotations

NON_ROOT_UID = 1000


def pod_security_context() -> dict:
    return {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def container_security_context(run_as_user: int = NON_ROOT_UID) -> dict:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": run_as_user,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }

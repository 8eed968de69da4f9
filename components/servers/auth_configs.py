"""The MCPOIDCConfig and MCPExternalAuthConfig objects the stack creates (`toolhive:servers.oidcConfigs`,
`externalAuthConfigs`), each with its secrets by reference: a value read at deploy time (aws-sm://,
pulumi-config://) is written into a Secret `<name>-oidc-secret-<key>` / `<name>-auth-secret-<key>` beside it,
a `k8s-secret://` reference names an existing Secret. Servers that reference one wait for it
(components/servers/stacks.py); references to objects nobody creates were refused by
components/servers/references.py before anything was registered.
"""
from __future__ import annotations

import pulumi

from components.config.auth import ExternalAuthConfigEntry, OidcConfigEntry
from components.config.servers import ServersConfig
from components.k8s.labels import standard_labels
from components.platform.crds import ToolHiveCrds
from components.servers import common
from components.servers.references import EXTERNAL_AUTH, OIDC

CLIENT_SECRET, HEADER_VALUE, TOKEN = "client-secret", "header-value", "token"


def secret_requests(config: ServersConfig) -> list[tuple[str, str]]:
    """(who asked, reference) of every secret the auth objects read, for resolve_secrets."""
    return [(f"toolhive:servers.{key}[{index}].{field}", ref)
            for entry, index, key in _entries(config) for _, ref, field in _wanted(entry)]


def _entries(config: ServersConfig):
    yield from ((entry, index, "oidcConfigs") for index, entry in enumerate(config.oidc_configs))
    yield from ((entry, index, "externalAuthConfigs") for index, entry in enumerate(config.external_auth_configs))


def _wanted(entry) -> list[tuple[str, str, str]]:
    """(key in the object's Secret, reference, the entry's field it was written in)."""
    found = []
    if isinstance(entry, OidcConfigEntry):
        if entry.inline is not None and entry.inline.client_secret:
            found.append((CLIENT_SECRET, entry.inline.client_secret, "inline.clientSecret"))
        return found
    if entry.token_exchange is not None and entry.token_exchange.client_secret:
        found.append((CLIENT_SECRET, entry.token_exchange.client_secret, "tokenExchange.clientSecret"))
    if entry.header_injection is not None:
        found.append((HEADER_VALUE, entry.header_injection.value, "headerInjection.value"))
    if entry.bearer_token is not None:
        found.append((TOKEN, entry.bearer_token.token, "bearerToken.token"))
    return found


def _ref(keys: common.SecretKeys, text: str) -> dict:
    name, key = keys.keys[text]
    return {"name": name, "key": key}


def oidc_spec(entry: OidcConfigEntry, keys: common.SecretKeys) -> dict:
    if entry.kubernetes_service_account is not None:
        return {"type": "kubernetesServiceAccount",
                "kubernetesServiceAccount": entry.kubernetes_service_account.model_dump(by_alias=True, exclude_none=True)}
    inline = entry.inline
    out: dict = {"issuer": inline.issuer}
    optional = {
        "clientId": inline.client_id,
        "clientSecretRef": _ref(keys, inline.client_secret) if inline.client_secret else None,
        "jwksUrl": inline.jwks_url,
        "introspectionUrl": inline.introspection_url,
        "caBundleRef": {"configMapRef": inline.ca_bundle.model_dump()} if inline.ca_bundle else None,
        "jwksAllowPrivateIP": inline.jwks_allow_private_ip or None,
        "protectedResourceAllowPrivateIP": inline.protected_resource_allow_private_ip or None,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    return {"type": "inline", "inline": out}


def external_auth_spec(entry: ExternalAuthConfigEntry, keys: common.SecretKeys) -> dict:
    spec: dict = {"type": entry.type}
    if entry.token_exchange is not None:
        exchange = entry.token_exchange.model_dump(by_alias=True, exclude_none=True, exclude={"client_secret"})
        if not exchange.get("scopes"):
            exchange.pop("scopes", None)
        if entry.token_exchange.client_secret:
            exchange["clientSecretRef"] = _ref(keys, entry.token_exchange.client_secret)
        spec["tokenExchange"] = exchange
    elif entry.header_injection is not None:
        spec["headerInjection"] = {"headerName": entry.header_injection.header_name,
                                   "valueSecretRef": _ref(keys, entry.header_injection.value)}
    elif entry.bearer_token is not None:
        spec["bearerToken"] = {"tokenSecretRef": _ref(keys, entry.bearer_token.token)}
    return spec


class AuthConfigs(pulumi.ComponentResource):
    """Every auth object of the stack; `objects` maps (kind, namespace, name) to the custom resource."""

    def __init__(self, name: str, config: ServersConfig, *, crds: ToolHiveCrds, namespaces: dict[str, pulumi.Resource],
                 secret_values: dict[str, pulumi.Output], opts: pulumi.ResourceOptions | None = None):
        super().__init__("toolhive:servers:AuthConfigs", name, None, opts)
        self.objects: dict[tuple[str, str, str], pulumi.Resource] = {}
        for entry, _, _ in _entries(config):
            oidc = isinstance(entry, OidcConfigEntry)
            kind, suffix = (OIDC, "oidc") if oidc else (EXTERNAL_AUTH, "auth")
            labels = standard_labels(entry.name, f"mcp-{suffix}-config")
            depends_on = [namespaces[entry.namespace]]
            wanted = [(secret_key, ref) for secret_key, ref, _ in _wanted(entry)]
            keys = common.server_secrets(f"{entry.name}-{suffix}", entry.namespace, wanted, secret_values,
                                         labels=labels, parent=self, depends_on=depends_on)
            spec = oidc_spec(entry, keys) if oidc else external_auth_spec(entry, keys)
            self.objects[kind, entry.namespace, entry.name] = crds.custom_resource(
                kind, entry.name, entry.namespace, spec, labels=labels, parent=self,
                depends_on=[*depends_on, *keys.secrets])
        self.register_outputs({"objects": sorted(f"{kind} {ns}/{name}" for kind, ns, name in self.objects)})

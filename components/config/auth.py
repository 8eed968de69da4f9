"""Stack config: the auth objects servers reference (`toolhive:servers.oidcConfigs`, `externalAuthConfigs`) and
the objects that exist outside the stack (`toolhive:servers.existing`).

A server's `oidcConfigRef`, `externalAuthConfigRef`, `k8s-secret://` reference or `passwordRef` names an object
of its namespace. The v0.44.0 operator fails the reconcile when an MCPOIDCConfig or MCPExternalAuthConfig is
missing, and a pod whose secretKeyRef names a missing Secret never starts. So each referenced object is either
created by the stack (the models here, rendered by components/servers/auth_configs.py, their secrets by
reference like the servers') or declared as existing; anything else stops the preview, naming the server and
the reference (components/servers/catalog.py). Shapes follow the v0.44.0 CRDs (v1beta1).
"""
from __future__ import annotations

from typing import Annotated, Optional

from pydantic import Field, model_validator

from components.config.base import KeyedError, Model, Name, ObjectName
from components.config.registry import HttpsUrl
from components.secret_sources import SecretRef


class ObjectRef(Model):
    """An object of a tenant namespace that this stack does not create."""

    namespace: Name
    name: ObjectName


class ExistingObjects(Model):
    """Objects created outside the stack (by the platform team, another stack, an operator) that servers may
    reference. Declaring them is the promise that they exist before the servers start."""

    oidc_configs: list[ObjectRef] = Field(default_factory=list, description="MCPOIDCConfig objects.")
    external_auth_configs: list[ObjectRef] = Field(default_factory=list, description="MCPExternalAuthConfig objects.")
    secrets: list[ObjectRef] = Field(
        default_factory=list, description="Secrets read by k8s-secret:// references, sessionStorage.passwordRef and "
        "toolhive:operator.defaultRedis.existingSecret (in each namespace whose proxies use it).")


class ConfigMapKey(Model):
    name: ObjectName
    key: Annotated[str, Field(pattern=r"^[-._a-zA-Z0-9]+$")]


class InlineOidc(Model):
    issuer: HttpsUrl = Field(description="The OIDC issuer (https).")
    client_id: Optional[str] = Field(None, min_length=1)
    client_secret: Optional[SecretRef] = Field(
        None, description="aws-sm://..., pulumi-config://... (written into Secret <name>-oidc-secret-client-secret) "
        "or k8s-secret://<secret>#<key> (an existing Secret).")
    jwks_url: Optional[HttpsUrl] = None
    introspection_url: Optional[HttpsUrl] = None
    ca_bundle: Optional[ConfigMapKey] = Field(None, description="A ConfigMap key with the issuer's CA bundle.")
    jwks_allow_private_ip: bool = Field(False, alias="jwksAllowPrivateIP")
    protected_resource_allow_private_ip: bool = Field(False, alias="protectedResourceAllowPrivateIP")


class ServiceAccountOidc(Model):
    """Tokens of Kubernetes service accounts (the API server as issuer)."""

    service_account: Optional[Name] = None
    namespace: Optional[Name] = None
    issuer: Optional[str] = Field(None, min_length=1, description="Default: https://kubernetes.default.svc.")
    jwks_url: Optional[str] = Field(None, min_length=1)
    introspection_url: Optional[str] = Field(None, min_length=1)
    use_cluster_auth: Optional[bool] = None


class OidcConfigEntry(Model):
    """An MCPOIDCConfig the stack creates, for servers' oidcConfigRef and VirtualMCPServers' incomingAuth."""

    name: ObjectName
    namespace: Name = Field(description="A tenant namespace of this stack (where the servers that use it run).")
    inline: Optional[InlineOidc] = None
    kubernetes_service_account: Optional[ServiceAccountOidc] = None

    @model_validator(mode="after")
    def _one_type(self) -> "OidcConfigEntry":
        if (self.inline is None) == (self.kubernetes_service_account is None):
            raise KeyedError(("inline",), "set exactly one of inline and kubernetesServiceAccount")
        return self


class TokenExchange(Model):
    token_url: HttpsUrl
    audience: str = Field(min_length=1)
    client_id: Optional[str] = Field(None, min_length=1)
    client_secret: Optional[SecretRef] = None
    scopes: list[str] = Field(default_factory=list)
    subject_token_type: Optional[Annotated[str, Field(
        pattern=r"^(access_token|id_token|jwt|urn:ietf:params:oauth:token-type:(access_token|id_token|jwt))$")]] = None
    external_token_header_name: Optional[str] = Field(None, min_length=1)


class HeaderInjection(Model):
    header_name: str = Field(min_length=1)
    value: SecretRef = Field(description="The header's value: a secret reference, never a literal.")


class BearerToken(Model):
    token: SecretRef


class Unauthenticated(Model):
    pass


#: entry field -> the CRD's `type`
EXTERNAL_AUTH_TYPES = {"token_exchange": "tokenExchange", "header_injection": "headerInjection",
                       "bearer_token": "bearerToken", "unauthenticated": "unauthenticated"}


class ExternalAuthConfigEntry(Model):
    """An MCPExternalAuthConfig the stack creates (the types with secrets by reference; others: existing)."""

    name: ObjectName
    namespace: Name
    token_exchange: Optional[TokenExchange] = None
    header_injection: Optional[HeaderInjection] = None
    bearer_token: Optional[BearerToken] = None
    unauthenticated: Optional[Unauthenticated] = None

    @model_validator(mode="after")
    def _one_type(self) -> "ExternalAuthConfigEntry":
        if sum(getattr(self, field) is not None for field in EXTERNAL_AUTH_TYPES) != 1:
            raise KeyedError(("tokenExchange",), "set exactly one of tokenExchange, headerInjection, bearerToken "
                             "and unauthenticated (other types: create the object yourself and declare it in "
                             "toolhive:servers.existing.externalAuthConfigs)")
        return self

    @property
    def type(self) -> str:
        return next(EXTERNAL_AUTH_TYPES[f] for f in EXTERNAL_AUTH_TYPES if getattr(self, f) is not None)

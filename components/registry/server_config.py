"""The registry server's `config.yaml` (thv-registry-api v1.3.0), typed, and rendered by the program.

The registry server's Go source (internal/config) is not available to this project: field names and the
start-up checks follow the upstream configuration reference (`../shared/registry-server/v1.3.0/
docs/configuration.md`, `database.md`, `authentication.md`). Unknown keys are rejected, and so is every
field that would put a credential into the file (`database.password`, `migrationPassword`, inline
secrets): config.yaml lands in a ConfigMap, so credentials only ever appear as *paths* (passwordFile,
clientSecretFile, a pgpass file). `referenced_paths()` lists every path the file points at, so the
deployment can prove each one lies under a volumeMount.
"""
from __future__ import annotations

from typing import Annotated, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from components.config.base import KeyedError, Name, Port
from components.config.registry import (SOURCE_KINDS, SYNCED_KINDS, configured_kinds, AbsolutePath, Claims, DatabaseHost,
                                         Filter, GoDuration, HttpsUrl, HttpUrl, PublicPath, SyncInterval, UniqueNames,
                                         Url)

class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class GitAuth(_Model):
    username: str
    password_file: AbsolutePath


class GitSource(_Model):
    repository: Url
    branch: Optional[str] = None
    tag: Optional[str] = None
    commit: Optional[Annotated[str, Field(pattern=r"^[0-9a-f]{7,40}$")]] = None
    path: str = Field(min_length=1)
    auth: Optional[GitAuth] = None

    @model_validator(mode="after")
    def _one_ref(self) -> "GitSource":
        if sum(ref is not None for ref in (self.branch, self.tag, self.commit)) > 1:
            raise KeyedError(("branch",), "set at most one of branch, tag and commit")
        return self


class ApiSource(_Model):
    endpoint: HttpUrl


class FileSource(_Model):
    path: Optional[AbsolutePath] = None
    url: Optional[HttpUrl] = None

    @model_validator(mode="after")
    def _one_location(self) -> "FileSource":
        if (self.path is None) == (self.url is None):
            raise KeyedError(("path",), "set exactly one of path and url")
        return self


class ManagedSource(_Model):
    pass


class KubernetesSource(_Model):
    namespaces: UniqueNames = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_namespace(self) -> "KubernetesSource":
        # v1.3.0 keeps one entry set per source: each namespace's event deletes the other namespaces' entries
        # as orphans (toolhive-registry-server issue #886). One source per namespace is a stable union.
        if len(self.namespaces) > 1:
            raise KeyedError(("namespaces",), "one namespace per kubernetes source: over several, v1.3.0 deletes "
                             "each namespace's entries when another namespace changes (upstream issue #886); "
                             "declare one kubernetes source per namespace")
        return self


class SyncPolicy(_Model):
    interval: SyncInterval


class Source(_Model):
    name: Name
    git: Optional[GitSource] = None
    api: Optional[ApiSource] = None
    file: Optional[FileSource] = None
    managed: Optional[ManagedSource] = None
    kubernetes: Optional[KubernetesSource] = None
    sync_policy: Optional[SyncPolicy] = None
    filter: Optional[Filter] = None
    claims: Optional[Claims] = None

    @property
    def kind(self) -> str:
        return configured_kinds(self)[0]

    @model_validator(mode="after")
    def _source_rules(self) -> "Source":
        kinds = configured_kinds(self)
        if len(kinds) != 1:
            raise KeyedError((), f"source {self.name!r} must configure exactly one of {', '.join(SOURCE_KINDS)}"
                             f" (got {', '.join(kinds) or 'none'})")
        if kinds[0] in SYNCED_KINDS and self.sync_policy is None:
            raise KeyedError(("syncPolicy",), f"is required for a {kinds[0]} source")
        if kinds[0] not in SYNCED_KINDS and (self.sync_policy is not None or self.filter is not None):
            raise KeyedError(("syncPolicy",), f"a {kinds[0]} source takes neither syncPolicy nor filter")
        return self


class Registry(_Model):
    name: Name
    sources: list[Name] = Field(min_length=1)
    claims: Optional[Claims] = None


class Database(_Model):
    """No password fields: extra keys are forbidden, so `password` in config.yaml cannot even be written."""

    host: DatabaseHost
    port: Port
    user: str = Field(min_length=1)
    migration_user: Optional[str] = None
    database: str = Field(min_length=1)
    ssl_mode: Literal["disable", "require", "verify-ca", "verify-full"] = "require"
    max_open_conns: Optional[int] = Field(None, ge=1)
    max_idle_conns: Optional[int] = Field(None, ge=0)
    conn_max_lifetime: Optional[GoDuration] = None


class OAuthProvider(_Model):
    name: Name
    issuer_url: HttpsUrl
    jwks_url: Optional[HttpsUrl] = None
    audience: str = Field(min_length=1)
    client_id: Optional[str] = None
    client_secret_file: Optional[AbsolutePath] = None
    ca_cert_path: Optional[AbsolutePath] = None
    auth_token_file: Optional[AbsolutePath] = None
    introspection_url: Optional[HttpsUrl] = None
    allow_private_ip: Optional[bool] = Field(None, alias="allowPrivateIP")


class OAuth(_Model):
    resource_url: HttpsUrl
    realm: Optional[str] = None
    scopes_supported: Optional[list[str]] = None
    providers: list[OAuthProvider] = Field(min_length=1)


class Auth(_Model):
    mode: Literal["anonymous", "oauth"]
    public_paths: Optional[list[PublicPath]] = None
    oauth: Optional[OAuth] = None

    @model_validator(mode="after")
    def _oauth_when_oauth(self) -> "Auth":
        if self.mode == "oauth" and self.oauth is None:
            raise KeyedError(("oauth",), "is required when mode is oauth (at least one provider)")
        if self.mode == "anonymous" and self.oauth is not None:
            raise KeyedError(("oauth",), "only applies when mode is oauth")
        if self.oauth is not None:
            _unique([p.name for p in self.oauth.providers], ("oauth", "providers"))
        return self


def _unique(names: list[str], where: tuple) -> None:
    for index, name in enumerate(names):
        if names.index(name) != index:
            raise KeyedError((*where, index, "name"), f"{name!r} is declared twice")


class ServerConfig(_Model):
    """The whole config.yaml."""

    sources: list[Source] = Field(min_length=1)
    registries: list[Registry] = Field(min_length=1)
    database: Database
    auth: Auth

    @model_validator(mode="after")
    def _references(self) -> "ServerConfig":
        source_names = [source.name for source in self.sources]
        _unique(source_names, ("sources",))
        _unique([registry.name for registry in self.registries], ("registries",))
        managed = [index for index, source in enumerate(self.sources) if source.kind == "managed"]
        if len(managed) > 1:
            raise KeyedError(("sources", managed[1], "managed"), "at most one managed source is allowed")
        for index, registry in enumerate(self.registries):
            for position, name in enumerate(registry.sources):
                if name not in source_names:
                    raise KeyedError(("registries", index, "sources", position),
                                     f"{name!r} is not a source; sources: {', '.join(source_names)}")
        return self

    def referenced_paths(self) -> list[str]:
        """Every filesystem path the server will open because config.yaml says so."""
        paths = []
        for source in self.sources:
            if source.file is not None and source.file.path:
                paths.append(source.file.path)
            if source.git is not None and source.git.auth is not None:
                paths.append(source.git.auth.password_file)
        if self.auth.oauth is not None:
            for provider in self.auth.oauth.providers:
                paths += [p for p in (provider.client_secret_file, provider.ca_cert_path, provider.auth_token_file) if p]
        return paths

    def document(self) -> dict:
        return self.model_dump(by_alias=True, exclude_none=True)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.document(), sort_keys=False, default_flow_style=False)

    @classmethod
    def from_yaml(cls, text: str) -> "ServerConfig":
        return cls.model_validate(yaml.safe_load(text))

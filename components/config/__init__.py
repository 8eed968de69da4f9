"""The stack configuration: what a `toolhive:` key in Pulumi.<stack>.yaml may say.

These pydantic models are the single source of truth for configuration: defaults (which serve a local
dev cluster), descriptions (which become the JSON Schema editors validate against) and validation all
live here, one module per area; `loader` reads Pulumi config into them and names the key of every error.
"""
from components.config.base import KeyedError, Model
from components.config.images import ImageOverrides, ImagesConfig
from components.config.operator import OperatorConfig
from components.config.stack import StackConfig, is_secret_setting
from components.config.tenants import TenantNamespace

__all__ = ["ImageOverrides", "ImagesConfig", "KeyedError", "Model", "OperatorConfig", "StackConfig",
           "TenantNamespace", "is_secret_setting"]

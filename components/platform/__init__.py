"""What every cluster gets: the CRDs, the operator, tenant namespaces and team RBAC (composed in toolhive_platform)."""

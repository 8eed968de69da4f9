"""Pulumi components that put ToolHive and everything around it onto a cluster."""

"""Per-server stacks: MCPServer, MCPRemoteProxy, VirtualMCPServer, their tool configs, secrets and scaling."""

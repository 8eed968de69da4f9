"""The shared Kubernetes vocabulary: labels, names, security contexts — one way to build each."""

"""The scale benchmark: `python -m bench --servers 10,100,1000` (see bench/__main__.py)."""

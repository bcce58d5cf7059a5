"""The HTTP routes, one module per area; :mod:`account_api.app` mounts them."""

from westws import west_workspace  # noqa: F401  (session fixture)

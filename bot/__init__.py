"""The composition root: the CLI, the terminal shell, the runtime and the app factory."""

"""Per-user actions: ``registry`` declares them, ``catalogue`` imports every action module, ``runner``
executes them on one user or many."""

"""Graph operations per resource, returning plain Python data. Views and tasks call these, never raw URLs."""

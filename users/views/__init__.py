"""Users table views: the table (table.py), its column chooser (columns.py), exports (export.py) and the
More info panel (details.py). Each resolves the tenant scope through ``scope.py``, which asks
``tenants.access`` (the one place that decides who sees what)."""

"""Research compromised account: gather every indicator of compromise for one user, judge it, remediate.

* ``sources``   – the evidence sources (graph.services.compromise) and how their answers become rows;
* ``gather``    – runs every source in parallel within the throttling budget; each gives rows or a reason;
* ``rules``     – the indicator rules that flag rows (pure functions over rows, unit-tested on crafted data);
* ``verdict``   – the summary at the top of the report: what looks malicious, normal, or could not be checked;
* ``timeline``  – every dated event of every section merged, and the sign-in countries;
* ``remediate`` – the lock-down steps, reusing the actions registry where an action exists;
* ``tasks``     – the Celery bodies of the research and remediation Jobs (the Job row is the progress);
* ``views`` / ``urls`` / ``export`` – the report page, its CSV per section, the remediation confirmation.

The report is stored per tenant and user (users.models.CompromiseReport).
"""

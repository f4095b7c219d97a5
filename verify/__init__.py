"""``make verify``: the reliability and security proof. Each part measures one property of the running
system (load, faults, crashes, hostile input, access, secrets, backups) and records figures; the runner
prints one figure per line and fails when any figure misses its bound."""

"""Bulk add users and bulk invite guests from a CSV or XLSX file (/users/bulk-add/?tenant=...).

columns (the one column list: template, reader, validator) → parse (the file) → validate (every row, before
anything is sent; facts: what the tenant has) → service.start (a Job) → runner (Graph $batch, throttling,
exactly once; plan: what is sent for a row; store: the database side) → views (preview, fix in place,
progress, results, the one-time password download; sealed: how passwords reach the browser only).
"""

"""The sandbox's Exchange Online admin API (``/adminapi/{version}/{tenant}/InvokeCommand``).

``views`` authenticates and pages, ``cmdlets`` holds the registry and dispatcher, ``mailbox`` the mailbox
cmdlets, ``errors`` the error body. Nothing is imported here so ``switches`` can use ``errors`` freely.
"""

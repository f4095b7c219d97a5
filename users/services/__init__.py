"""Read models composed from Graph and Exchange for pages (the View user page's sections)."""

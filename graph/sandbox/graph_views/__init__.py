"""Graph endpoint views of the sandbox tenant (mounted under /sandbox/graph/<version>/ by graph_urls)."""

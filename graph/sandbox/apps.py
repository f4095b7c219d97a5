from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "graph.sandbox"
    label = "sandbox"
    verbose_name = "Graph-compatible sandbox tenant"

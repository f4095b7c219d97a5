from django.apps import AppConfig


class CippusersConfig(AppConfig):
    name = "cippusers"
    verbose_name = "cippusers core"

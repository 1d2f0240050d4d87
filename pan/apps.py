from django.apps import AppConfig


class PanConfig(AppConfig):
    name = "pan"
    verbose_name = "Shared files"

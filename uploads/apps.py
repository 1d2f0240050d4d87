from django.apps import AppConfig


class UploadsConfig(AppConfig):
    name = "uploads"
    verbose_name = "Resumable uploads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from pan import quotas

        from . import signals  # noqa: F401 - connects the purge and the cleanup on delete
        from .services import owner_reserved_bytes

        # Every quota check (multipart paths too) counts what unfinished uploads reserved.
        if owner_reserved_bytes not in quotas.reservation_counters:
            quotas.reservation_counters.append(owner_reserved_bytes)

"""Seed the `uploaders` role (SPEC §3: upload only; share with others
without seeing the share list)."""

from django.db import migrations


def seed(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="user")
    upload, _ = Permission.objects.get_or_create(
        codename="upload", content_type=content_type, defaults={"name": "Can upload files"}
    )
    group, _ = Group.objects.get_or_create(name="uploaders")
    group.permissions.add(upload)


def unseed(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="uploaders").delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_seed_roles")]

    operations = [migrations.RunPython(seed, unseed)]

"""Usernames: two characters suffice, and look-alikes are refused (SPEC §3).

Fills `username_skeleton` for every existing user, oldest first. When two
existing names already look alike, the older keeps the skeleton and the
later one is left without (logged), so the upgrade never stops on them; the
later user keeps working, and new look-alikes of both are refused.
"""

import logging

import accounts.validators
from django.db import migrations, models

logger = logging.getLogger("accounts")


def fill_skeletons(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    holders: dict[str, str] = {}
    changed = []
    for user in User.objects.order_by("pk").only("pk", "username").iterator(chunk_size=1000):
        skeleton = accounts.validators.username_skeleton(user.username)
        if skeleton in holders:
            logger.warning(
                "username %r looks like the older %r: left without a skeleton", user.username, holders[skeleton]
            )
            continue
        holders[skeleton] = user.username
        user.username_skeleton = skeleton
        changed.append(user)
    User.objects.bulk_update(changed, ["username_skeleton"], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_uploaders_role'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='username_skeleton',
            field=models.CharField(blank=True, editable=False, max_length=64, null=True, unique=True, verbose_name='username look'),
        ),
        migrations.RunPython(fill_skeletons, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='user',
            name='username',
            field=models.CharField(error_messages={'unique': 'A user with that username already exists.'}, help_text='2–150 characters: letters, digits, CJK characters, _ - and .', max_length=150, unique=True, validators=[accounts.validators.UsernameValidator()], verbose_name='username'),
        ),
    ]

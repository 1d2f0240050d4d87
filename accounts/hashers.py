from django.contrib.auth.hashers import Argon2PasswordHasher


class PanArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's minimum: 19 MiB, 2 passes, 1 lane.

    Django's defaults (100 MiB, 8 lanes) cost ~10x more per login, which on
    a 2-core machine turns a burst of logins into a queue. Hashes made with
    other parameters verify and are re-hashed with these on the next login
    (`must_update`). The name stays "argon2" so the stored format is the
    standard one.
    """

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1

"""Password hashing: argon2id with the parameters OWASP's Password Storage Cheat Sheet recommends.

Django's own Argon2PasswordHasher defaults to 100 MiB and 8 lanes; OWASP's first recommended setting is
m=19 MiB, t=2, p=1, about 20-30 ms of one core here instead of PBKDF2's 1,000,000 rounds (0.6 s), so login
and sign-up fit their budgets. The algorithm name stays "argon2": Django re-hashes a stored argon2 hash
whose parameters differ from these at the next login (`must_update`), as it does a PBKDF2 one.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1

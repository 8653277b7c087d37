import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import PBKDF2PasswordHasher, identify_hasher
from django.db import connection
from django.test import override_settings

from accounts.models import User
from accounts.tests.factories import TEST_PASSWORD, UserFactory
from spacemanager.testing import explain

PRODUCTION_HASHERS = [
    "accounts.hashers.OwaspArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


@pytest.mark.django_db
def test_email_lookup_ignores_case_and_surrounding_spaces():
    person = UserFactory(email="someone@example.com")

    assert User.objects.with_email("  SomeOne@Example.COM ").get() == person
    assert User.objects.get_by_natural_key("SOMEONE@example.com") == person
    assert not User.objects.with_email("someone@example.co").exists()


@pytest.mark.django_db
def test_email_lookup_is_an_index_scan_of_the_lowercase_email_index():
    UserFactory.create_batch(3)
    queryset = User.objects.with_email("Someone@Example.com")

    sql, _params = queryset.query.sql_with_params()
    assert 'WHERE LOWER("accounts_user"."email") = (LOWER(%s))' in sql
    # The test table is tiny, so forbid sequential scans to see which index the planner can use at all.
    plan = explain(queryset, enable_seqscan=False)
    assert "Index Scan using accounts_user_email_ci_unique" in plan


@pytest.mark.django_db
@override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS)
def test_new_passwords_are_hashed_with_argon2id_at_owasp_parameters():
    person = User.objects.create_user(email="new@example.com", password=TEST_PASSWORD)

    assert person.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert person.check_password(TEST_PASSWORD)


@pytest.mark.django_db
@override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS)
def test_a_pbkdf2_hash_still_logs_in_and_is_upgraded_to_argon2id():
    # A hash as the earlier releases stored it (fewer rounds here only to keep the test fast).
    old_hash = PBKDF2PasswordHasher().encode(TEST_PASSWORD, "oldsaltoldsalt", iterations=1000)
    person = UserFactory(email="old@example.com")
    User.objects.filter(pk=person.pk).update(password=old_hash)

    assert authenticate(username="OLD@example.com", password=TEST_PASSWORD) == person

    person.refresh_from_db()
    assert identify_hasher(person.password).algorithm == "argon2"
    assert "argon2id" in person.password
    assert authenticate(username="old@example.com", password=TEST_PASSWORD) == person
    assert authenticate(username="old@example.com", password="wrong-password") is None
    assert connection.schema_name == "public"

import pytest

from stack import secrets
from stack.errors import SecretsError


def test_first_run_generates_every_secret_private(tmp_path):
    store = secrets.ensure(tmp_path / "s", data_exists=False)
    for spec in secrets.SPECS:
        path = store.path(spec.name)
        assert path.stat().st_mode & 0o777 == 0o600
        assert store.read(spec.name)
    assert (tmp_path / "s").stat().st_mode & 0o777 == 0o700


def test_second_run_keeps_values(tmp_path):
    first = secrets.ensure(tmp_path, data_exists=False).read("postgres_password")
    assert secrets.ensure(tmp_path, data_exists=True).read("postgres_password") == first


def test_lost_secrets_with_existing_data_is_an_error_with_the_fix(tmp_path):
    with pytest.raises(SecretsError, match=r"missing but the stack has data.*secrets --rotate"):
        secrets.ensure(tmp_path / "s", data_exists=True)


def test_missing_issued_secret_is_reported_not_replaced(tmp_path):
    secrets.ensure(tmp_path, data_exists=False)
    (tmp_path / "rabbitmq_password").unlink()
    with pytest.raises(SecretsError, match=r"missing from .*: rabbitmq_password"):
        secrets.ensure(tmp_path, data_exists=True)


def test_corrupt_secret_is_named(tmp_path):
    secrets.ensure(tmp_path, data_exists=False)
    (tmp_path / "postgres_password").write_text("x\n")
    with pytest.raises(SecretsError, match="postgres_password: corrupt"):
        secrets.ensure(tmp_path, data_exists=True)


def test_hash_that_does_not_match_is_named(tmp_path):
    secrets.ensure(tmp_path, data_exists=False)
    (tmp_path / "admin_password").write_text("A" * 32 + "\n")
    with pytest.raises(SecretsError, match=r"admin_password\.bcrypt: is not the bcrypt hash"):
        secrets.ensure(tmp_path, data_exists=True)


def test_readable_by_others_is_refused(tmp_path):
    secrets.ensure(tmp_path, data_exists=False)
    (tmp_path / "postgres_password").chmod(0o644)
    with pytest.raises(SecretsError, match="chmod 600"):
        secrets.ensure(tmp_path, data_exists=True)


def test_rotate_changes_every_value(tmp_path):
    before = secrets.ensure(tmp_path, data_exists=False).read("db_auth_password")
    secrets.rotate(tmp_path)
    after = secrets.ensure(tmp_path, data_exists=True)
    assert after.read("db_auth_password") != before


def test_jwt_key_is_an_ed25519_pem_and_a_broken_one_is_named(tmp_path):
    store = secrets.ensure(tmp_path, data_exists=False)
    assert store.read("jwt_private_key").startswith("-----BEGIN PRIVATE KEY-----")
    (tmp_path / "jwt_private_key").write_text("-----BEGIN PRIVATE KEY-----\nnope\n")
    with pytest.raises(SecretsError, match="jwt_private_key: corrupt"):
        secrets.ensure(tmp_path, data_exists=True)

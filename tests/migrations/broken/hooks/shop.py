"""Hooks of tests/migrations/broken/shop.yaml: a migration that cannot be done."""


def migrate(snapshot, from_version, to_version):
    raise ValueError(f"no way from version {from_version}")

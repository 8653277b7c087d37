import pytest

from spacemanager.settings import LOCAL_MEDIA_STORAGE


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploaded files of a test go to its own folder (the default storage, local and signed)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**LOCAL_MEDIA_STORAGE, "OPTIONS": {"location": tmp_path / "media"}},
    }
    return tmp_path / "media"

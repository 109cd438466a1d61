"""ServerSettings: API keys and key files (digests, refusals that never show a key), the
REPPROFILE_* environment round trip, and create_app reading the environment.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import repprofile
from repprofile.server import ServerSettings, create_app

from ._server_helpers import AUTH, KEY, KEY2


def test_key_digests_are_the_sha256_of_every_key(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.txt"
    key_file.write_text(
        f"# API keys of the ATS\r\n\r\n  {KEY2}  \r\n#{'x' * 20}\r\n"
        "third-key-from-the-file-1\nexactly-16-chars\n",
        encoding="utf-8",
    )
    digests = ServerSettings(api_keys=(KEY,), key_file=key_file).key_digests()
    expected = [KEY, KEY2, "third-key-from-the-file-1", "exactly-16-chars"]
    assert digests == tuple(hashlib.sha256(k.encode()).digest() for k in expected)


def test_no_key_at_all_is_refused() -> None:
    with pytest.raises(repprofile.InputError, match="no API key is configured") as info:
        ServerSettings().key_digests()
    assert "REPPROFILE_API_KEYS" in str(info.value)
    with pytest.raises(repprofile.InputError, match="no API key is configured"):
        create_app(ServerSettings())


@pytest.mark.parametrize(
    ("keys", "file_text", "where", "length"),
    [
        ((KEY, "short-key-123"), None, "REPPROFILE_API_KEYS key 2", 13),
        (("with space in the key 0123",), None, "REPPROFILE_API_KEYS key 1", 26),
        ((), f"# comment\n{KEY}\n\nfile-key-15char\n", "keys.txt line 4", 15),
    ],
)
def test_a_bad_key_names_its_source_never_the_key(
    tmp_path: Path, keys: tuple[str, ...], file_text: str | None, where: str, length: int
) -> None:
    key_file = None
    if file_text is not None:
        key_file = tmp_path / "keys.txt"
        key_file.write_text(file_text, encoding="utf-8")
    settings = ServerSettings(api_keys=keys, key_file=key_file)
    with pytest.raises(repprofile.InputError) as info:
        settings.key_digests()
    message = str(info.value)
    assert where in message
    assert f"at least 16 characters without spaces or commas, got {length} characters" in message
    for secret in ("short-key-123", "with space in the key", "file-key-15char", KEY):
        assert secret not in message
    with pytest.raises(repprofile.InputError):
        create_app(settings)


@pytest.mark.parametrize(
    ("name", "reason"), [("missing.txt", "No such file or directory"), ("", "Is a directory")]
)
def test_an_unreadable_key_file_is_refused(tmp_path: Path, name: str, reason: str) -> None:
    path = tmp_path / name if name else tmp_path
    with pytest.raises(repprofile.InputError) as info:
        ServerSettings(key_file=path).key_digests()
    assert str(info.value) == f"{path}: cannot read the API key file ({reason})"


def test_a_key_file_that_is_not_utf8_is_refused_with_input_error(tmp_path: Path) -> None:
    path = tmp_path / "keys.bin"
    path.write_bytes(b"\xff\xfe" + KEY.encode())
    with pytest.raises(repprofile.InputError, match=r"keys\.bin"):
        ServerSettings(key_file=path).key_digests()


def test_a_key_file_with_a_byte_order_mark_still_works(tmp_path: Path) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(KEY + "\n", encoding="utf-8-sig")
    settings = ServerSettings(key_file=path)
    assert settings.key_digests() == (hashlib.sha256(KEY.encode()).digest(),)


def test_keys_never_appear_in_repr_or_str() -> None:
    settings = ServerSettings(api_keys=(KEY, KEY2))
    assert KEY not in repr(settings)
    assert KEY2 not in repr(settings)
    assert KEY not in str(settings)
    assert KEY2 not in str(settings)


def test_from_env_reads_every_variable(tmp_path: Path) -> None:
    env = {
        "REPPROFILE_API_KEYS": f" {KEY} ,, {KEY2},",
        "REPPROFILE_API_KEY_FILE": str(tmp_path / "keys.txt"),
        "REPPROFILE_MAX_BODY_BYTES": "12345",
        "REPPROFILE_MAX_CANDIDATES": "17",
        "REPPROFILE_CORS_ORIGINS": "https://ats.example, https://hr.example",
        "REPPROFILE_DOCS": "0",
        "UNRELATED": "x",
    }
    assert ServerSettings.from_env(env) == ServerSettings(
        api_keys=(KEY, KEY2),
        key_file=tmp_path / "keys.txt",
        max_body_bytes=12345,
        max_candidates=17,
        cors_origins=("https://ats.example", "https://hr.example"),
        docs=False,
    )


def test_from_env_defaults() -> None:
    settings = ServerSettings.from_env({})
    assert settings == ServerSettings()
    assert (settings.max_body_bytes, settings.max_candidates) == (5_000_000, 10_000)
    assert (settings.api_keys, settings.key_file, settings.cors_origins) == ((), None, ())
    assert settings.docs is True


@pytest.mark.parametrize(
    ("value", "docs"),
    [("0", False), ("false", False), (" OFF ", False), ("no", False), ("1", True), ("yes", True)],
)
def test_from_env_docs_switch(value: str, docs: bool) -> None:
    assert ServerSettings.from_env({"REPPROFILE_DOCS": value}).docs is docs


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REPPROFILE_MAX_BODY_BYTES", "5MB", "max_body_bytes: Input should be a valid integer"),
        ("REPPROFILE_MAX_CANDIDATES", "0", "max_candidates: Input should be greater than 0"),
    ],
)
def test_from_env_refuses_bad_numbers(name: str, value: str, message: str) -> None:
    with pytest.raises(repprofile.InputError, match="server settings") as info:
        ServerSettings.from_env({name: value, "REPPROFILE_API_KEYS": KEY})
    assert message in str(info.value)
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    "settings",
    [
        ServerSettings(),
        ServerSettings(api_keys=(KEY,)),
        ServerSettings(
            api_keys=(KEY, KEY2),
            key_file=Path("/etc/repprofile/keys.txt"),
            max_body_bytes=1,
            max_candidates=3,
            cors_origins=("https://ats.example", "http://localhost:3000"),
            docs=False,
        ),
    ],
)
def test_to_env_round_trips(settings: ServerSettings) -> None:
    env = settings.to_env()
    assert all(isinstance(v, str) for v in env.values())
    assert ServerSettings.from_env(env) == settings


def test_create_app_without_settings_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ServerSettings().to_env():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("REPPROFILE_API_KEY_FILE", raising=False)
    monkeypatch.setenv("REPPROFILE_API_KEYS", KEY2)
    monkeypatch.setenv("REPPROFILE_DOCS", "0")
    with TestClient(create_app()) as c:
        assert c.get("/v1/roles", headers={"Authorization": f"Bearer {KEY2}"}).status_code == 200
        assert c.get("/v1/roles", headers=AUTH).status_code == 401
        assert (
            c.get("/openapi.json", headers={"Authorization": f"Bearer {KEY2}"}).status_code == 404
        )


def test_a_key_with_a_comma_is_refused_since_it_could_not_survive_the_environment() -> None:
    settings = ServerSettings(api_keys=("abcdefgh,ijklmnopqrs",))
    with pytest.raises(repprofile.InputError, match="without spaces or commas, got 20 characters"):
        settings.key_digests()


def test_settings_never_show_the_keys() -> None:
    settings = ServerSettings(api_keys=(KEY,))
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert KEY not in text
    assert settings.to_env()["REPPROFILE_API_KEYS"] == KEY  # handed to the workers
    app = create_app(settings)
    assert app.state.service.settings.api_keys == ()  # the app keeps digests only

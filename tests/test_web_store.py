"""The web assessment's store, free of HTTP: tokens, answer checks, progress, the scoring
record built from stored answers, and the settings. Expected values are worked out by
hand (the SHA-256 of "abc" is the FIPS 180-2 test vector)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from repprofile._formats.questionnaire import Questionnaire, load_questionnaire
from repprofile.web import WebSettings
from repprofile.web._db import Answer
from repprofile.web._store import (
    AnswerError,
    AnswerIn,
    NewInvitation,
    answer_record,
    check_answer,
    create_invitation,
    hash_token,
    new_token,
    save_answers,
    seal_token,
    unseal_token,
)


@pytest.fixture
def engine(web_engine: Engine) -> Engine:
    """A fresh database at the newest migration: SQLite and PostgreSQL (tests/conftest.py)."""
    return web_engine


@pytest.fixture(scope="module")
def rep_types() -> Questionnaire:
    return load_questionnaire("rep-types")


@pytest.fixture(scope="module")
def rep_hiring() -> Questionnaire:
    return load_questionnaire("rep-hiring")


def test_a_token_is_128_bits_url_safe_and_only_its_sha256_is_kept() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200
    for t in tokens:
        assert len(t) == 22  # 16 bytes in base64url without padding
        assert set(t) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_a_sealed_token_opens_only_with_the_same_key_and_invitation() -> None:
    token = "fYN4xq5_mdTXvNNRT8Js_w"
    sealed = seal_token(token, b"key-1", "inv_1")
    assert len(sealed) == 32  # 16 bytes as hex
    assert token not in sealed
    assert unseal_token(sealed, b"key-1", "inv_1") == token
    assert unseal_token(sealed, b"key-2", "inv_1") != token
    assert unseal_token(sealed, b"key-1", "inv_2") != token


def test_likert_answers_must_be_whole_numbers_on_the_scale(rep_types: Questionnaire) -> None:
    item = rep_types.items[0].id
    assert check_answer(rep_types, AnswerIn(item, "", " 4 ", 2.5)) == AnswerIn(item, "", "4", 2.5)
    for bad in ("0", "6", "4.5", "", "four"):
        with pytest.raises(
            AnswerError, match=rf"item '{item}': expected a whole number from 1 to 5"
        ):
            check_answer(rep_types, AnswerIn(item, "", bad))
    with pytest.raises(AnswerError, match=r"item 'nope': not an item of 'rep-types'"):
        check_answer(rep_types, AnswerIn("nope", "", "3"))
    with pytest.raises(AnswerError, match="not an item"):
        check_answer(rep_types, AnswerIn(item, "a", "3"))
    # an impossible time is dropped, not stored
    assert check_answer(rep_types, AnswerIn(item, "", "3", -1.0)).seconds is None


def test_sjt_ratings_use_the_sjt_scale_and_name_the_option(rep_hiring: Questionnaire) -> None:
    assert check_answer(rep_hiring, AnswerIn("sr01", "e", "6")).value == "6"
    with pytest.raises(
        AnswerError, match=r"item 'sr01' option 'a': expected a whole number from 1 to 6"
    ):
        check_answer(rep_hiring, AnswerIn("sr01", "a", "7"))
    with pytest.raises(
        AnswerError, match=r"item 'sr01': expected an option of \['a', 'b', 'c', 'd', 'e'\]"
    ):
        check_answer(rep_hiring, AnswerIn("sr01", "z", "3"))
    with pytest.raises(AnswerError, match="expected an option of"):
        check_answer(rep_hiring, AnswerIn("sr01", "", "3"))


def test_the_scoring_record_nests_sjt_answers_and_sums_item_seconds(
    rep_hiring: Questionnaire,
) -> None:
    likert = rep_hiring.likert_items[0].id
    rows = [
        Answer(item_id=likert, part="", value="5", seconds=2.0),
        Answer(item_id="sr01", part="a", value="4", seconds=1.5),
        Answer(item_id="sr01", part="b", value="2", seconds=2.0),
    ]
    rec = answer_record(rep_hiring, "c1", rows)
    assert rec == {
        "candidate_id": "c1",
        "answers": {likert: 5, "sr01": {"a": 4, "b": 2}},
        "item_seconds": {likert: 2.0, "sr01": 3.5},
    }
    # one untimed answer: the times are left out rather than understated
    rows.append(Answer(item_id="sr01", part="c", value="1", seconds=None))
    assert "item_seconds" not in answer_record(rep_hiring, "c1", rows)


def test_progress_counts_an_sjt_item_once_all_its_options_are_rated(
    engine: Engine, rep_hiring: Questionnaire
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        inv, token, created = create_invitation(
            s,
            NewInvitation("c1", rep_hiring, ()),
            "test",
            now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
        assert created
        assert token is not None
        assert (inv.total, inv.status) == (97, "created")
        likert = rep_hiring.likert_items[0].id
        p = save_answers(s, inv, rep_hiring, [AnswerIn(likert, "", "3")])
        assert (p.answered, p.total, inv.status) == (1, 97, "started")
        p = save_answers(s, inv, rep_hiring, [AnswerIn("sr01", o, "2") for o in "abcd"])
        assert p.answered == 1
        assert "sr01" in p.missing
        p = save_answers(
            s, inv, rep_hiring, [AnswerIn("sr01", "e", "6"), AnswerIn(likert, "", "1")]
        )
        assert (p.answered, inv.answered) == (2, 2)
        # saved twice: one row per item part, the last value
        values = {(a.item_id, a.part): a.value for a in s.query(Answer).all()}
        assert len(values) == 6
        assert values[(likert, "")] == "1"
        # a bad answer in a batch saves nothing of it
        with pytest.raises(AnswerError):
            save_answers(
                s, inv, rep_hiring, [AnswerIn(likert, "", "2"), AnswerIn("sr02", "a", "9")]
            )
        s.rollback()
        assert s.get(Answer, (inv.id, likert, "")).value == "1"  # type: ignore[union-attr]


def test_settings_round_trip_through_the_environment_and_hide_secrets(tmp_path: Path) -> None:
    env = {
        "REPPROFILE_DATABASE_URL": "postgresql://u:pw@db/x",
        "REPPROFILE_WEBHOOK_SECRET": "whsec-0123456789",
        "REPPROFILE_SECURE_COOKIES": "0",
        "REPPROFILE_TOKEN_GUESS_LIMIT": "7",
        "REPPROFILE_PUBLIC_URL": "https://assess.example.com/",
    }
    st = WebSettings.from_env(env)
    assert st.url == "postgresql://u:pw@db/x"
    assert (st.is_sqlite, st.secure_cookies, st.token_guess_limit) == (False, False, 7)
    assert st.take_url("T0k") == "https://assess.example.com/take/T0k"
    assert "pw" not in repr(st)
    assert "whsec" not in repr(st)
    assert WebSettings.from_env(st.to_env()) == st
    local = WebSettings(data_dir=tmp_path)
    assert local.url == f"sqlite:///{tmp_path.resolve() / 'repprofile.db'}"
    assert local.is_sqlite

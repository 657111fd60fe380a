"""Video tasks with the official SDK: created through the call path, owned by the caller's
account, refreshed on look-up and by the background poller, charged exactly once when they
complete (never when they fail), visible on every instance and after a restart."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from cryptography.fernet import Fernet

from tests.conftest import require_service
from tests.fake_media import VIDEO_BYTES
from tests.fake_openai import FakeOpenAI
from tests.integration.model_api_support import balance, client, config, history, new_key
from tests.servers import GatewayProcess, start_gateway
from tests.support import ledger_consistency, query, scratch_postgres

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the SDK's Sora notice


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory, fake_openai: FakeOpenAI
) -> Iterator[GatewayProcess]:
    gateway = start_gateway(tmp_path_factory.mktemp("videos"), config=config(fake_openai))
    yield gateway
    gateway.stop()


def test_a_task_completes_is_downloaded_and_charged_once(
    api: GatewayProcess, fake_openai: FakeOpenAI
) -> None:
    key = new_key(api)
    c = client(api, key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        video = c.videos.create(
            model="vid", prompt="a dog on a beach", seconds="8", size="1280x720"
        )
    assert video.id.startswith("video_") and video.status == "queued" and video.model == "vid"
    created = [r.body for r in fake_openai.requests if r.path == "/v1/videos"][0]
    assert (created["model"], created["prompt"], created["seconds"]) == (
        "sora-up",
        "a dog on a beach",
        "8",
    )
    seen = c.videos.retrieve(video.id)
    assert seen.status in ("in_progress", "completed")
    while seen.status != "completed":
        seen = c.videos.retrieve(video.id)
    assert seen.progress == 100 and seen.id == video.id and seen.seconds == "8"
    content = c.videos.download_content(video.id)
    assert content.read() == VIDEO_BYTES
    downloads = [r for r in fake_openai.requests if r.path.endswith("/content")]
    assert len(downloads) == 1 and downloads[0].body == {"variant": "video"}
    time.sleep(2.5)  # the poller has had its turn: a completed task is not charged again
    c.videos.retrieve(video.id)
    entries = history(api, key, 1)
    assert [(e["bot"], e["cost_points"]) for e in entries] == [("vid", 800)]
    assert entries[0]["cost_breakdown"]["tokens"] == {"seconds": 8}
    assert balance(api, key) == 1_000_000 - 800


def test_a_failed_task_is_never_charged(api: GatewayProcess) -> None:
    key = new_key(api)
    c = client(api, key)
    video = c.videos.create(model="vid", prompt="please fail")
    seen = c.videos.retrieve(video.id)
    while seen.status in ("queued", "in_progress"):
        seen = c.videos.retrieve(video.id)
    assert seen.status == "failed" and seen.error is not None
    assert seen.error.code == "moderation_blocked"
    with pytest.raises(openai.BadRequestError):
        c.videos.download_content(video.id)
    time.sleep(0.5)
    assert history(api, key, 0) == [] and balance(api, key) == 1_000_000


def test_the_poller_completes_tasks_nobody_looks_at(api: GatewayProcess) -> None:
    key = new_key(api)
    video = client(api, key).videos.create(model="vid", prompt="a quiet lake", seconds="4")
    entries = history(api, key, 1, timeout=15)
    assert entries[0]["cost_points"] == 400
    assert client(api, key).videos.retrieve(video.id).status == "completed"


def test_a_task_belongs_to_its_account(api: GatewayProcess) -> None:
    video = client(api, new_key(api)).videos.create(model="vid", prompt="mine")
    stranger = client(api, new_key(api))
    with pytest.raises(openai.NotFoundError):
        stranger.videos.retrieve(video.id)
    with pytest.raises(openai.NotFoundError):
        stranger.videos.download_content(video.id)


def test_echo_tasks_make_a_valid_mp4(api: GatewayProcess) -> None:
    from patchbay.providers.endpoints.media import boxes

    c = client(api, new_key(api))
    video = c.videos.create(model="echo", prompt="anything", seconds="4")
    assert c.videos.retrieve(video.id).status == "completed"
    data = c.videos.download_content(video.id).read()
    assert [kind for kind, _ in boxes(data)] == [b"ftyp", b"moov", b"mdat"]


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_tasks_survive_a_restart_and_are_seen_by_every_instance(
    store: str, tmp_path: Path, fake_openai: FakeOpenAI
) -> None:
    env = {"PATCHBAY_SECRET_KEY": Fernet.generate_key().decode()}
    dirs = [tmp_path / "a", tmp_path / "a"]
    if store == "postgres":
        require_service("PostgreSQL", "127.0.0.1", 5432)
        dirs = [tmp_path / "a", tmp_path / "b"]
    with scratch_postgres() if store == "postgres" else _sqlite(tmp_path / "a") as url:
        if store == "postgres":
            env["PATCHBAY_DATABASE_URL"] = url
        first = start_gateway(dirs[0], config=config(fake_openai), env=env)
        key = new_key(first)
        video = client(first, key).videos.create(model="vid", prompt="two instances", seconds="4")
        first.stop()
        first = start_gateway(dirs[0], config=config(fake_openai), env=env)
        second = start_gateway(dirs[1], config=config(fake_openai), env=env)
        try:
            assert client(first, key).videos.retrieve(video.id).id == video.id
            deadline = time.monotonic() + 15
            while client(second, key).videos.retrieve(video.id).status != "completed":
                assert time.monotonic() < deadline
            time.sleep(2.5)  # both pollers have run
            charges = query(url, "SELECT cost_points FROM usage_entries WHERE bot = 'vid'")
            assert charges == [(400,)]
            ledger_consistency(url)
        finally:
            first.stop()
            second.stop()


class _sqlite:
    def __init__(self, data_dir: Path) -> None:
        self.url = f"sqlite+aiosqlite:///{data_dir / 'patchbay.db'}"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc: object) -> None:
        return None

"""Settings, read from ``CATALOGUE_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOGUE_", env_file=".env", extra="ignore")

    #: SQLAlchemy URL. A relative SQLite path resolves against the working directory.
    database_url: str = "sqlite:///var/catalogue.db"
    #: Empty: the embedded index next to the database. ``http(s)://…``: Elasticsearch.
    search_url: str = ""
    #: The search index's name: Elasticsearch's aliases ``<name>-v<schema>`` (indices
    #: ``<name>-v<schema>-<n>``), the embedded index's folder (``search-index`` for the
    #: default; a folder per schema version in it). An instance pointed at a
    #: cluster it does not own (a restore test beside production) takes a name of its own,
    #: so its rebuilds never swap the owner's alias.
    search_index: str = Field(default="catalogue-items", pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")
    #: Send plain ``application/json`` to Elasticsearch (OpenSearch-compatible clusters).
    search_compat_json: bool = True
    #: Apply the change log to the search index in a thread of the app (``catalogue serve``
    #: turns it on; ``catalogue index`` runs the same loop on its own).
    search_indexer: bool = False
    #: Seconds the indexer's index of this release's schema stays caught up before it drops
    #: the indices of older schemas whose indexer no process runs any more (a release that
    #: rolled in; ``catalogue reindex --prune`` drops them at once). docs/operations.md
    search_prune_after: float = Field(default=3600.0, ge=0)
    #: The search thesaurus: empty, the vendored cnsyn list; ``none``, off; else a file of
    #: synonym groups (one per line, ``.gz`` allowed).
    search_thesaurus: str = ""
    #: Clicks on search hits (``POST /search/clicks``) per client address and worker.
    search_clicks_rate: str = "30/minute,500/day"
    #: Province whose catalogue this instance keeps (GB/T 2260 code).
    province: str = "230000"
    #: The province's time zone (IANA name): its calendar day is the catalogue's "today",
    #: the day decisions take effect (app/clock.py).
    timezone: str = "Asia/Shanghai"
    #: Record the day each scheduled decision takes effect (a version and a feed entry) in
    #: a thread of the app (``catalogue serve`` turns it on; ``catalogue worker`` and
    #: ``catalogue effects`` run the same duty). One process records at a time.
    effects: bool = False
    #: Seconds between looks for decisions that have taken effect.
    effects_poll_interval: float = Field(default=30.0, gt=0)
    #: Items recorded per write transaction of that duty.
    effects_batch: int = Field(default=500, ge=1, le=5000)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {name!r} (an IANA name, e.g. Asia/Shanghai)"
            ) from exc
        return name

    #: Directory of the seed data loaded by ``catalogue seed``.
    seed_dir: str = str(Path(__file__).resolve().parent.parent / "seed")
    log_level: str = "INFO"
    #: Seconds an instance keeps serving after SIGTERM while it leaves the balancer
    #: (``/readyz`` 503, connections closed after each answer; app/http/drain.py); ``catalogue
    #: serve`` makes it 5 unless set, 0 stops at once.
    drain_seconds: float = Field(default=0.0, ge=0, le=300)
    #: Port of ``/metrics`` for the processes without an HTTP app (``catalogue index``,
    #: ``catalogue worker``); unset: not served. Keep it on a private network.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    #: Connection pool size for PostgreSQL (and idle connections kept by the read path).
    pool_size: int = Field(default=10, ge=1)
    #: Connections opened beyond the pool when every one is out (the thread pool has 40).
    pool_overflow: int = Field(default=30, ge=0)
    #: PostgreSQL connections the hot item read uses at once (more requests wait their turn
    #: on the event loop): about the database's cores, not the clients (32 thrashed 2 cores).
    read_connections: int = Field(default=4, ge=1)
    #: Seconds after which a PostgreSQL connection is closed and replaced.
    pool_recycle: float = Field(default=1800.0, gt=0)
    #: Seconds between looks at the change log for items' validators kept in memory (a 304
    #: without a database read); 0: every conditional read asks the database.
    validator_poll: float = Field(default=0.5, ge=0)
    #: Cache-Control of public reads: seconds fresh, then served stale while revalidating.
    cache_max_age: int = Field(default=60, ge=0)
    cache_stale_while_revalidate: int = Field(default=300, ge=0)
    #: Editors' changes go through review (a change request approved by a reviewer of
    #: the region) before they are published; admins and sync keys publish directly.
    review_editors: bool = True
    #: Per-region exceptions, by code prefix (the longest wins): ``{"2306": false}``.
    review_regions: dict[str, bool] = {}
    #: Reports of corrections (纠错) per client address and worker: ``N/unit`` windows
    corrections_rate: str = "5/minute,50/day"
    #: Days a correction's contact is kept before ``catalogue corrections erase-contacts``
    contact_retention_days: int = 180
    #: Seconds between two erasures of expired contacts (in whichever process leads the
    #: ``retention`` duty: app/corrections/retention.py).
    retention_interval: float = Field(default=3600.0, gt=0)
    #: Largest request body of a single write (bytes); larger ones are answered 413.
    body_limit: int = 1024 * 1024
    #: Seconds without a sign of life after which an unfinished import job reads as failed
    #: (its process stopped); the running process marks it every 5 s.
    import_stale_after: float = Field(default=90.0, gt=0)
    #: Rows of one sheet or file an import reads at most (a province's ~100k items and the
    #: ~5 materials of each in an exported workbook fit).
    import_max_rows: int = Field(default=1_000_000, ge=1)
    #: Cells an import reads at most, the empty ones a row spans included (an exported
    #: workbook holds ~150 an item).
    import_max_cells: int = Field(default=20_000_000, ge=1)
    #: Bytes an import's file unpacks to at most (an XLSX's members together; a text file's
    #: size).
    import_max_unpacked_bytes: int = Field(default=256 * 1024 * 1024, ge=1)
    #: Largest compression ratio of an XLSX member over 1 MiB (real sheets: about 10).
    import_max_ratio: float = Field(default=100.0, ge=1)
    #: Shared strings of a workbook, which the reader holds whole (~150 bytes and 15 µs
    #: each): a workbook of ~30,000 items saved by Excel has fewer.
    import_max_strings: int = Field(default=1_000_000, ge=1)
    #: Seconds an import job runs at most (wall clock), and of CPU time.
    import_max_seconds: float = Field(default=3600.0, gt=0)
    import_max_cpu_seconds: float = Field(default=1800.0, gt=0)
    #: Import jobs one key has queued or running at once (429 with Retry-After beyond).
    import_jobs_per_key: int = Field(default=2, ge=1)
    #: Parent of each process's private folder of uploaded files; empty: the system's
    #: temporary directory.
    import_dir: str = ""
    #: Largest request body of a bulk write or an import (bytes).
    bulk_body_limit: int = 20 * 1024 * 1024
    #: Largest material file (规范表格、填写说明、示范文本) an upload may carry (bytes).
    file_limit: int = 10 * 1024 * 1024
    #: Deliver webhooks in a thread of the app (``catalogue serve`` turns it on;
    #: ``catalogue worker`` runs the same loop on its own). One process delivers at a time.
    webhooks: bool = False
    #: Webhook hosts allowed although private or loopback: host names, addresses, CIDRs.
    webhook_allow_hosts: str = ""
    #: Seconds between looks at the change log.
    webhook_poll_interval: float = Field(default=1.0, gt=0)
    #: Seconds each read or write of a delivery may wait (the deadline bounds the whole).
    webhook_timeout: float = Field(default=10.0, gt=0)
    #: Seconds a whole delivery may take (connecting, sending, the answer's status), however
    #: slowly the receiver answers; a subscription that ran out of it goes to the slow lane.
    webhook_deadline: float = Field(default=10.0, gt=0)
    #: Retries wait base · 2^(n-1) seconds, at most cap.
    webhook_backoff_base: float = Field(default=5.0, gt=0)
    webhook_backoff_cap: float = Field(default=3600.0, gt=0)
    #: Seconds of failing in a row after which a subscription pauses (at least a day).
    webhook_pause_after: float = Field(default=86400.0, ge=0)
    #: Changes per delivery.
    webhook_batch: int = Field(default=100, ge=1, le=1000)
    #: Subscriptions delivered to side by side.
    webhook_concurrency: int = Field(default=4, ge=1, le=64)
    #: Workers, besides those, for the subscriptions whose last delivery ran out of time.
    webhook_slow_lane: int = Field(default=1, ge=1, le=16)
    #: Mixed into the editor pages' session signatures (otherwise derived from each key's
    #: stored hash alone): set it in production, so a copy of the database forges nothing.
    session_secret: SecretStr = SecretStr("")
    #: Reverse proxies whose X-Forwarded-For/-Proto (or Forwarded) name the client and its
    #: scheme: comma-separated addresses and CIDR ranges; empty, nobody (app/http/forwarded.py).
    trusted_proxies: str = ""
    #: The address the service is published at (https://zwfw.example.gov.cn): the base of
    #: every IRI in the linked-data exports and the OpenAPI document's server. Empty: the
    #: address the request came to, which differs behind each proxy or host name.
    public_base_url: str = ""
    #: 标准管理: days after which an item not updated or reviewed is a finding (F-STALE).
    quality_stale_days: int = Field(default=365, ge=1)


@lru_cache
def get_settings() -> Settings:
    return Settings()

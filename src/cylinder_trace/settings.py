"""All configuration, from ``CT_*`` environment variables and an optional ``.env`` file."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .app.personal_data import decode_key

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``10.0.0.1, 10.1.0.0/16, ::1`` → networks; ValueError naming a bad entry."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"not an address or network: {part!r}") from None
    return tuple(networks)


PLACEHOLDER_ADMIN_TOKEN = "dev-admin-token-change-me"
PLACEHOLDER_VALVE_COMMAND_KEY = "dev-valve-command-key"
#: the development checkpoint key (Ed25519 seed, hex): everyone knows it, so its signatures prove nothing
PLACEHOLDER_CHECKPOINT_SIGNING_KEY = "18f72de374a39699930eb33506d9095ad9d272a2b7b3507f93391ac3801aaa13"
#: the development key for ID numbers at rest (32 bytes in base64): refused outside development
PLACEHOLDER_PERSONAL_DATA_KEY = "ZGV2LXBlcnNvbmFsLWRhdGEta2V5LWNoYW5nZS1tZSE="


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CT_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./var/cylinder-trace.sqlite3"
    mqtt_url: str = "mqtt://127.0.0.1:18830"
    #: start an embedded broker (amqtt) when ``mqtt_url`` points at it; off for a real broker
    embedded_broker: bool = True
    #: MQTT client id prefix and shared-subscription group of the ingestor
    mqtt_client_id: str = "ct-ingest"
    mqtt_shared_group: str = "ct-ingest"
    mqtt_protocol: Literal["3.1.1", "5"] = "5"
    admin_token: str = PLACEHOLDER_ADMIN_TOKEN
    #: AES-256 key sealing ID numbers at rest, 32 bytes in base64 (``openssl rand -base64 32``); keep it
    #: safe and never change it without re-sealing: sealed values open only with the key that sealed them
    personal_data_key: str = PLACEHOLDER_PERSONAL_DATA_KEY
    public_base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Shanghai"
    jurisdiction: str = "CN-JL-DAGANGZI"
    jurisdiction_gs1_prefix: str = Field(default="6999999", pattern=r"^[0-9]{6,12}$")
    #: TOML file with policy tables; the town's defaults ship inside the package
    policy_file: Path | None = None
    #: seconds between scheduled sweeps inside ``serve``; 0 turns them off
    sweep_interval_s: float = 3600.0
    #: the Ed25519 private key (its 32-byte seed, 64 hex digits) that signs checkpoints
    #: (``cylinder-trace checkpoint keygen`` makes one)
    checkpoint_signing_key: str = Field(default=PLACEHOLDER_CHECKPOINT_SIGNING_KEY, pattern=r"^[0-9a-fA-F]{64}$",
                                        repr=False)
    #: seconds between scheduled checkpoints inside ``serve`` (a day); 0 turns them off
    checkpoint_interval_s: float = 86400.0
    #: proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed; default none
    trusted_proxies: str = ""
    log_level: str = "INFO"
    log_json: bool = False

    @model_validator(mode="after")
    def _no_placeholders_in_production(self) -> Settings:
        if self.environment == "production" and self.admin_token == PLACEHOLDER_ADMIN_TOKEN:
            raise ValueError("CT_ADMIN_TOKEN must be set to a real secret outside development")
        placeholder_key = self.checkpoint_signing_key.lower() == PLACEHOLDER_CHECKPOINT_SIGNING_KEY
        if self.environment == "production" and placeholder_key:
            raise ValueError("CT_CHECKPOINT_SIGNING_KEY must be set to a real key outside development "
                             "(cylinder-trace checkpoint keygen makes one)")
        if self.environment == "production" and self.personal_data_key == PLACEHOLDER_PERSONAL_DATA_KEY:
            raise ValueError("CT_PERSONAL_DATA_KEY must be set to a real key outside development")
        return self

    @field_validator("personal_data_key")
    @classmethod
    def _key_is_a_key(cls, value: str) -> str:
        decode_key(value)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        parse_networks(value)
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[Network, ...]:
        return parse_networks(self.trusted_proxies)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

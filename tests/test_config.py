"""Config: precedence, validation, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcpbox.config import Config, Secret
from mcpbox.errors import ConfigError


def test_defaults_bind_loopback_8000_under_the_home_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = Config.load(environ={})
    assert (config.host, config.port) == ("127.0.0.1", 8000)
    assert config.data_dir == tmp_path / ".local" / "share" / "mcpbox"
    assert config.key_file == config.data_dir / "keys.json"
    assert config.database_url.endswith(str(config.data_dir / "mcpbox.db"))
    assert config.is_loopback_bind


def test_cli_beats_environment_beats_file_beats_default(tmp_path: Path) -> None:
    toml = tmp_path / "mcpbox.toml"
    toml.write_text('[mcpbox]\nport = 7000\nlog_level = "debug"\npage_size_max = 50\n')
    environ = {"MCPBOX_PORT": "7100", "MCPBOX_LOG_LEVEL": "warning", "MCPBOX_DATA_DIR": str(tmp_path)}
    config = Config.load(environ=environ, file=toml, overrides={"port": 7200})
    assert config.port == 7200  # CLI
    assert config.log_level == "warning"  # env over file
    assert config.page_size_max == 50  # file over default
    assert config.max_sessions == 1000  # default


def test_config_file_may_come_from_the_environment(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("port = 9001\n")
    config = Config.load(environ={"MCPBOX_CONFIG": str(toml), "MCPBOX_DATA_DIR": str(tmp_path)})
    assert config.port == 9001


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({"MCPBOX_PORT": "eighty"}, "port"),
        ({"MCPBOX_PORT": "70000"}, "at most"),
        ({"MCPBOX_LOG_LEVEL": "loud"}, "choose one of"),
        ({"MCPBOX_ACCESS_LOG": "maybe"}, "true or false"),
        ({"MCPBOX_PROT": "80"}, "unknown environment variable"),
        ({"MCPBOX_HOST": "example.org"}, "not an IP address"),
        ({"MCPBOX_CALL_TIMEOUT_SECONDS": "301"}, "at most"),
    ],
)
def test_bad_values_are_refused_with_the_setting_named(environ: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Config.load(environ=environ)


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        Config.load(environ={}, file=toml)


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("port = = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Config.load(environ={}, file=toml)


def test_secrets_are_not_accepted_in_the_file(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('metrics_token = "abc"\n')
    with pytest.raises(ConfigError, match="is a secret"):
        Config.load(environ={}, file=toml)


def test_secret_from_file_indirection_and_never_printed(tmp_path: Path) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text("s3cr3t-value\n")
    config = Config.load(
        environ={"MCPBOX_METRICS_TOKEN_FILE": str(secret_file), "MCPBOX_DATA_DIR": str(tmp_path)}
    )
    assert isinstance(config.metrics_token, Secret)
    assert config.metrics_token.reveal() == "s3cr3t-value"
    assert "s3cr3t" not in repr(config)
    assert "s3cr3t" not in str(config.metrics_token)


def test_unreadable_secret_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read MCPBOX_METRICS_TOKEN_FILE"):
        Config.load(environ={"MCPBOX_METRICS_TOKEN_FILE": str(tmp_path / "absent")})


def test_config_is_frozen(tmp_path: Path) -> None:
    config = Config.load(environ={"MCPBOX_DATA_DIR": str(tmp_path)})
    with pytest.raises(AttributeError):
        config.port = 1  # type: ignore[misc]

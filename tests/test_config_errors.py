"""Config a user or a hostile repository can get wrong: one line naming the file or setting, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config
from agent.errors import ConfigError


@pytest.mark.parametrize("url", ["http://[::1", "ftp:/x", "http://host:port", "localhost:8000", ""])
def test_a_malformed_base_url_is_a_config_error_naming_the_setting(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, {}, {"HOME": str(tmp_path), "DEEPSEEK_BASE_URL": url or " "})
    assert "DEEPSEEK_BASE_URL" in str(caught.value) and "Value error" not in str(caught.value)


def test_a_well_formed_base_url_is_kept(tmp_path: Path) -> None:
    config = load_config(tmp_path, {}, {"HOME": str(tmp_path), "DEEPSEEK_BASE_URL": "http://127.0.0.1:8000/v1"})
    assert config.base_url_of("deepseek-v4-pro") == "http://127.0.0.1:8000/v1"


def test_a_deeply_nested_config_file_is_one_line_not_a_recursion_error(tmp_path: Path) -> None:
    user = tmp_path / ".config" / "duet"
    user.mkdir(parents=True)
    (user / "config.toml").write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply") as caught:
        load_config(tmp_path, {}, {"HOME": str(tmp_path)})
    assert str(user / "config.toml") in str(caught.value)

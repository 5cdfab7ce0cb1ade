"""FreeSWITCH cannot open paymentd's read-back audio (it runs on another host, or cannot
read the directory): the caller is never asked to confirm what they did not hear, no
card is charged, and the log says what to fix."""

from __future__ import annotations

import secrets
from pathlib import Path

import attrs
import pytest

from paymentd.testing import FreeSwitchSimulator, SoundCatalog
from paymentd.testing.sounds import Audio
from tests.e2e.charging import daemon_config, place_paying_call, sandbox_charges, sandbox_gateway
from tests.e2e.conftest import dialplan
from tests.e2e.daemon import Daemons

pytestmark = pytest.mark.slow


@attrs.define
class ElsewhereSounds(SoundCatalog):
    """A FreeSWITCH that has the prompts but cannot see ``hidden`` (paymentd's read-back
    directory): it answers those playbacks with ``FILE NOT FOUND``."""

    hidden: Path = Path("/nonexistent")

    def lookup(self, name: str, sound_prefix: str | None = None) -> Audio | None:
        if Path(name).is_relative_to(self.hidden):
            return None
        return super().lookup(name, sound_prefix)


async def test_read_back_audio_freeswitch_cannot_open_ends_the_capture(
    tmp_path: Path, daemons: Daemons
) -> None:
    readback = tmp_path / "readback"
    config = daemon_config(None, sandbox_gateway())
    config += f'\n[sounds]\nreadback_directory = "{readback}"\n'
    daemon = daemons.new(tmp_path / "daemon", config)
    daemon.start()
    simulator = FreeSwitchSimulator(
        time_scale=0.02,
        dialplan=dialplan(),
        sounds=ElsewhereSounds(hidden=readback),
        seed=secrets.randbits(32),
    )
    try:
        call = await place_paying_call(simulator, daemon)
        result = await call.wait_closed(timeout=60)
    finally:
        await simulator.close()

    assert result.variables.get("paymentd_result") == "internal-error"
    assert result.variables.get("paymentd_error_type") == "playback"
    heard = [prompt for prompt in result.prompts if prompt.status == "not-found"]
    assert heard, "the read-back was never attempted"
    assert all(Path(prompt.file).is_relative_to(readback) for prompt in heard)
    # Nothing was confirmed after the read-back that failed, and nothing was charged.
    files = [prompt.file for prompt in result.prompts]
    assert not any("confirm_or_reenter" in file for file in files[files.index(heard[0].file) :])
    assert await sandbox_charges(daemon) == []
    assert "FreeSWITCH could not open the audio" in daemon.log_text()
    daemon.stop()

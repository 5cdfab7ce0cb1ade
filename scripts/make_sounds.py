"""Record every prompt and fragment paymentd plays into ``sounds/`` (``make sounds``).

What is recorded comes from the package itself: the prompt catalog
(``paymentd/speech/catalog.toml``) and each language's vocabulary of number,
currency, month and letter fragments. Each text goes through a TTS voice from
Debian, then sox: high-pass, trim the silence at both ends, bring the speech to
one loudness, pad 50 ms each side, and write mono 16-bit WAV at 8 and 16 kHz into
FreeSWITCH's layout (``sounds/<lang>/<region>/<voice>/<category>/<rate>/<name>.wav``).

Only what changed is recorded again: ``texts.tsv`` in each voice directory keeps
the text of every file and the settings it was made with (and tells a voice
artist what to say, should real recordings replace these). Files no longer
needed are removed. The hold music is synthesised by sox (no recorded music).

Needs: ``apt-get install festival festvox-us-slt-hts espeak-ng sox``.
"""

from __future__ import annotations

import argparse
import array
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from paymentd.speech import LANGUAGES, RATES, Language, default_sounds_root, prompt_catalog
from paymentd.speech.layout import HOLD_MUSIC, fragment_path, voice_directory

# Bump to re-record everything after changing the processing below.
PIPELINE = 1
WORK_RATE = 16000
TARGET_LEVEL_DB = -19.0  # loudness of the speech itself (pauses excluded), dBFS
PEAK_LIMIT_DB = -1.5
PAD_SECONDS = 0.05
MANAGED = ("paymentd", "digits", "currency", "time", "ascii")


class Voice:
    """A TTS voice: turns texts into WAV files of any rate (sox takes it from there)."""

    description: str

    def synthesize(self, texts: Mapping[str, str], workdir: Path) -> dict[str, Path]:
        raise NotImplementedError


class Festival(Voice):
    """Festival with an HTS voice; one Festival process records the whole batch."""

    def __init__(self, voice: str) -> None:
        self.voice = voice
        self.description = f"festival {voice}"

    def synthesize(self, texts: Mapping[str, str], workdir: Path) -> dict[str, Path]:
        outputs = {name: workdir / f"raw{i}.wav" for i, name in enumerate(texts)}
        lines = [f"({self.voice})"]
        for name, text in texts.items():
            lines.append(
                f"(utt.save.wave (utt.synth (eval (list 'Utterance 'Text {_scheme(text)})))"
                f" {_scheme(str(outputs[name]))} 'riff)"
            )
        script = workdir / "batch.scm"
        script.write_text("\n".join(lines) + "\n", encoding="utf-8")
        subprocess.run(["festival", "-b", str(script)], check=True)
        return outputs


class Espeak(Voice):
    """eSpeak NG, one quick process per text."""

    def __init__(self, voice: str, speed: int) -> None:
        self.voice = voice
        self.speed = speed
        self.description = f"espeak-ng -v {voice} -s {speed}"

    def synthesize(self, texts: Mapping[str, str], workdir: Path) -> dict[str, Path]:
        outputs = {}
        for i, (name, text) in enumerate(texts.items()):
            out = outputs[name] = workdir / f"raw{i}.wav"
            command = ["espeak-ng", "-v", self.voice, "-s", str(self.speed), "-w", str(out)]
            subprocess.run([*command, "--", text], check=True)
        return outputs


# Festival's SLT HTS voice is the most natural voice in Debian. Debian ships no Spanish
# Festival voice (nor MBROLA in main), so Spanish is eSpeak NG's Latin-American voice,
# a little slower than its default for the telephone.
VOICES: Mapping[str, Voice] = {
    "en-US": Festival("voice_cmu_us_slt_arctic_hts"),
    "es-US": Espeak("es-419", speed=160),
}


def _scheme(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def texts_for(language: Language) -> dict[str, str]:
    """Every fragment to record for ``language`` -> its text."""
    prompts = prompt_catalog().for_language(language.tag)
    texts = {f"paymentd/{name}": text for name, text in prompts.items()}
    return texts | dict(language.vocabulary())


def record(language: Language, sounds_root: Path, force: bool) -> None:
    voice = VOICES[language.tag]
    voice_dir = voice_directory(sounds_root, language)
    header = f"# {language.tag}\t{voice.description}\tpipeline {PIPELINE}"
    manifest = voice_dir / "texts.tsv"
    texts = texts_for(language)
    done = {} if force else _read_manifest(manifest, header)
    todo = {
        name: text
        for name, text in texts.items()
        if done.get(name) != text
        or not all(fragment_path(voice_dir, name, r).exists() for r in RATES)
    }
    print(f"{language.tag}: {len(texts)} fragments, recording {len(todo)}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="paymentd-sounds-") as tmp:
        raw = voice.synthesize(todo, Path(tmp)) if todo else {}
        for name, source in raw.items():
            _process(source, [fragment_path(voice_dir, name, rate) for rate in RATES], Path(tmp))
    _prune(voice_dir, set(texts))
    lines = [header, *(f"{name}\t{texts[name]}" for name in sorted(texts))]
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _read_manifest(path: Path, header: str) -> dict[str, str]:
    if not path.exists():
        return {}
    first, *rest = path.read_text(encoding="utf-8").splitlines()
    if first != header:
        return {}
    return dict(line.split("\t", 1) for line in rest)


def _process(source: Path, targets: list[Path], tmp: Path) -> None:
    """TTS output -> trimmed, level-matched, padded mono 16-bit WAVs at each target's rate."""
    work = tmp / "work.f32"
    trim = ["silence", "1", "0.005", "-45d"]
    _sox(
        [str(source), "-t", "f32", "-c", "1", "-r", str(WORK_RATE), str(work)],
        ["highpass", "70", "norm", "-3", *trim, "reverse", *trim, "reverse"],
    )
    gain = _gain_db(array.array("f", work.read_bytes()))
    for target in targets:
        rate = target.parent.name
        target.parent.mkdir(parents=True, exist_ok=True)
        _sox(
            ["-t", "f32", "-c", "1", "-r", str(WORK_RATE), str(work)],
            ["-b", "16", "-e", "signed-integer", str(target), "vol", f"{gain:.2f}dB"],
            ["fade", "q", "0.005", "-0", "0.005", "rate", "-v", rate],
            ["pad", str(PAD_SECONDS), str(PAD_SECONDS)],
        )


def _gain_db(samples: array.array[float]) -> float:
    """The gain that brings the speech (20 ms frames within 35 dB of the loudest) to the target."""
    frame = WORK_RATE // 50
    energies = [
        sum(x * x for x in samples[i : i + frame]) / frame for i in range(0, len(samples), frame)
    ]
    loudest = max(energies, default=0.0)
    if loudest == 0:
        return 0.0
    active = [e for e in energies if e >= loudest * 10 ** (-35 / 10)]
    level = 10 * math.log10(sum(active) / len(active))
    peak = 20 * math.log10(max(abs(x) for x in samples))
    return min(TARGET_LEVEL_DB - level, PEAK_LIMIT_DB - peak)


def _sox(*parts: list[str]) -> None:
    # -D: no dither, so the same text always gives the same bytes (no churn in git).
    command = ["sox", "-D", "-V1"] + [arg for part in parts for arg in part]
    subprocess.run(command, check=True)


def _prune(voice_dir: Path, names: set[str]) -> None:
    for category in MANAGED:
        for path in sorted(voice_dir.glob(f"{category}/*/*.wav")):
            if f"{category}/{path.stem}" not in names:
                path.unlink()


def make_hold_music(sounds_root: Path) -> None:
    """Twelve seconds of soft plucked chords (C, Am, F, G) that loop without a seam."""
    chords = [("C4", "E4", "G4", "C5"), ("A3", "C4", "E4", "A4"), ("F3", "A3", "C4", "F4")]
    chords.append(("G3", "B3", "D4", "G4"))
    with tempfile.TemporaryDirectory(prefix="paymentd-music-") as tmp:
        parts = []
        for i, notes in enumerate(chords):
            part = Path(tmp) / f"chord{i}.wav"
            synth = [arg for note in notes for arg in ("pluck", note)]
            _sox(
                ["-n", "-r", str(WORK_RATE), "-b", "16", str(part)],
                ["synth", "3", *synth, "delay", "0", "0.35", "0.7", "1.05"],
                ["remix", "-", "fade", "q", "0.01", "3", "0.6"],
            )
            parts.append(str(part))
        loop = Path(tmp) / "loop.wav"
        _sox([*parts, str(loop), "norm", "-12"])
        name = HOLD_MUSIC.partition("/")[2]
        for rate in RATES:
            target = sounds_root / "music" / str(rate) / f"{name}.wav"
            target.parent.mkdir(parents=True, exist_ok=True)
            _sox([str(loop), "-b", "16", str(target), "rate", "-v", str(rate)])


def link_music(sounds_root: Path, language: Language) -> None:
    """``<voice>/music`` -> ``sounds/music``, so ``music/...`` resolves under ``sound_prefix``."""
    link = voice_directory(sounds_root, language) / "music"
    target = os.path.relpath(sounds_root / "music", link.parent)
    if link.is_symlink() and os.readlink(link) == target:
        return
    link.unlink(missing_ok=True)
    link.symlink_to(target, target_is_directory=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sounds", type=Path, default=default_sounds_root())
    parser.add_argument("--language", action="append", choices=sorted(LANGUAGES))
    parser.add_argument("--force", action="store_true", help="record everything again")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("festival", "espeak-ng", "sox") if not shutil.which(tool)]
    if missing:
        parser.error(
            f"missing {', '.join(missing)}: "
            "apt-get install festival festvox-us-slt-hts espeak-ng sox"
        )
    make_hold_music(args.sounds)
    for tag in args.language or sorted(LANGUAGES):
        record(LANGUAGES[tag], args.sounds, args.force)
        link_music(args.sounds, LANGUAGES[tag])
    # os.walk does not follow the music links, so nothing is counted twice.
    size = sum(
        (Path(top) / name).stat().st_size
        for top, _dirs, files in os.walk(args.sounds)
        for name in files
        if name.endswith(".wav")
    )
    print(f"{args.sounds}: {size / 1e6:.1f} MB of WAV", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

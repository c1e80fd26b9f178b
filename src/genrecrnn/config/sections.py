"""The parameters: one typed, frozen section per params.yaml section, each field's type, range and meaning.

This module is the only place a parameter is defined. Adding a parameter means params.yaml, one field
here and the code that uses it; tests check the notebooks' parameters cells and dvc.yaml's params lists
against these sections. Reading params.yaml: :mod:`genrecrnn.config.loading`.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Annotated, Any, Literal, TypeVar, get_args, get_type_hints

from pydantic import ConfigDict, Field, Strict, ValidationError, model_validator
from pydantic.dataclasses import dataclass

from genrecrnn.util.errors import ConfigError

PARAMS_FILE = "params.yaml"

# Strict scalars: YAML's `true` where a number belongs, or "3" where an int belongs, is a typo, not a
# value to coerce. A float field still takes an int (30 means 30.0 s).
Int = Annotated[int, Strict()]
PositiveInt = Annotated[int, Strict(), Field(gt=0)]
NonNegativeInt = Annotated[int, Strict(), Field(ge=0)]
PositiveFloat = Annotated[float, Strict(), Field(gt=0)]
NonNegativeFloat = Annotated[float, Strict(), Field(ge=0)]
Fraction = Annotated[float, Strict(), Field(gt=0, lt=1)]
Bool = Annotated[bool, Strict()]
Str = Annotated[str, Strict()]
S = TypeVar("S")

DataSource = Literal["synthetic", "gtzan", "folder", "fma"]
FmaSubset = Literal["small", "medium", "large"]
Timbre = Literal["shared", "genre"]
InputNorm = Literal["band", "global"]
Distribute = Literal["none", "mirrored", "multi_worker"]
DATA_SOURCES: tuple[str, ...] = get_args(DataSource)
FMA_SUBSETS: tuple[str, ...] = get_args(FmaSubset)
TIMBRES: tuple[str, ...] = get_args(Timbre)
INPUT_NORMS: tuple[str, ...] = get_args(InputNorm)
DISTRIBUTE: tuple[str, ...] = get_args(Distribute)

# Unknown keys are errors: a misspelt key would otherwise fall back to its default unnoticed.
_STRICT_KEYS = ConfigDict(extra="forbid")


class SectionError(ConfigError):
    """A section built with bad values; `errors` are pydantic's, for messages with the section's name."""

    def __init__(self, errors: list[dict], cls: type, prefix: str = "", source: str = "") -> None:
        self.errors, self.cls = errors, cls
        text = "; ".join(_describe(e, cls, prefix) for e in errors)
        super().__init__(f"{source}: {text}" if source else text)


def section(cls: type[S]) -> type[S]:
    """Make `cls` a frozen, validated params section whose bad values raise ConfigError (SectionError)."""
    cls = dataclass(frozen=True, config=_STRICT_KEYS)(cls)
    init = cls.__init__

    @functools.wraps(init)
    def checked_init(self, *args: Any, **kwargs: Any) -> None:
        try:
            init(self, *args, **kwargs)
        except ValidationError as err:
            raise SectionError(err.errors(), type(self), type(self).__name__) from None

    cls.__init__ = checked_init
    return cls


@section
class PathsParams:
    """Where each stage reads and writes, relative to the project root."""

    dataset: Str = "data/dataset"  # manifest.csv, split.csv, genres.json (+ audio/ for the synthetic source)
    features: Str = "data/features"  # memory-mapped log-mel frames + their index
    models: Str = "models"  # the trained model and its sidecar
    checkpoints: Str = "checkpoints"  # per-epoch training state, for resuming
    results: Str = "results"  # executed notebooks, metrics, figures


@section
class DataParams:
    """The data stage: where the clips come from and how they are split (fractions of tracks)."""

    source: DataSource = "synthetic"
    root: Str = ""  # gtzan/folder: the collection's folder; fma: the folder holding fma_metadata/ and fma_<subset>/
    fma_subset: FmaSubset = "small"  # fma only; genres must then be its track.genre_top names
    clips_per_genre: PositiveInt = 50  # synthetic only
    clip_seconds: PositiveFloat = 30.0  # synthetic only, s
    difficulty: Annotated[float, Strict(), Field(ge=0, le=1)] = 0.5  # synthetic only: 0 separable .. 1 overlapping
    timbre: Timbre = "shared"  # synthetic only: shared = instruments independent of genre
    split_file: Str = ""  # CSV (file,split) fixing every file's split
    group_file: Str = ""  # CSV (file,group): no group spans two splits
    val_fraction: Fraction = 0.15
    test_fraction: Fraction = 0.2
    min_seconds: NonNegativeFloat = 3.0  # shorter files are left out, s

    @model_validator(mode="after")
    def _fractions_leave_training_data(self) -> DataParams:
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError(
                f"val_fraction + test_fraction must sum below 1, got {self.val_fraction} + {self.test_fraction}"
            )
        return self

    @model_validator(mode="after")
    def _one_split_rule(self) -> DataParams:
        if self.split_file and self.group_file:
            raise ValueError(
                f"split_file ({self.split_file}) and group_file ({self.group_file}) are both set: a split file fixes "
                "every file's split, so the group file would be ignored; clear one of them"
            )
        return self


@section
class FeaturesParams:
    """Log-mel settings (FFT size and hop in samples) and framing (frame length and hop in s)."""

    n_fft: PositiveInt = 2048
    hop_length: PositiveInt = 512
    n_mels: PositiveInt = 128
    frame_seconds: PositiveFloat = 3.0
    frame_hop_seconds: PositiveFloat = 3.0
    chroma: Bool = False  # append 12 pitch-class bands (chroma of the same STFT) after the mel bands
    clip_profile: Bool = False  # append the clip's mean chroma (12 bands, equal in every column): its scale

    @model_validator(mode="after")
    def _hop_within_window(self) -> FeaturesParams:
        if self.hop_length > self.n_fft:
            raise ValueError(f"hop_length ({self.hop_length}) must not exceed n_fft ({self.n_fft})")
        return self


@section
class PreprocessParams:
    """The preprocess stage's engine: Dask workers (0 = one per core, 1 = in this process), scheduler, shard size."""

    workers: NonNegativeInt = 0
    scheduler: Str = ""  # address of an existing Dask scheduler (e.g. tcp://10.0.0.5:8786); empty = local cluster
    shard_clips: PositiveInt = 32  # clips per feature shard (one worker task writes one shard)


@section
class ModelParams:
    """The CRNN's widths: filters of conv1..conv5, LSTM units, dense units, and the dropout rate."""

    filters: Annotated[tuple[PositiveInt, ...], Field(min_length=5, max_length=5)] = (16, 32, 64, 64, 64)
    lstm_units: PositiveInt = 64
    dense_units: PositiveInt = 64
    dropout: Annotated[float, Strict(), Field(ge=0, lt=1)] = 0.3


@section
class AugmentParams:
    """`train.augment`: which training-batch augmentations run and how strong they are (units per field).

    The defaults switch every augmentation off.
    """

    crop: Bool = False  # random offset inside the clip instead of the fixed frame grid
    key_shift: NonNegativeInt = 0  # largest pitch shift, semitones
    stretch: Annotated[float, Strict(), Field(ge=0, lt=0.5)] = 0.0  # largest relative tempo change (0.1 = +-10%)
    gain_db: NonNegativeFloat = 0.0  # largest level change, dB
    tilt_db: NonNegativeFloat = 0.0  # largest tilt from the lowest to the highest band, dB
    time_masks: NonNegativeInt = 0  # time masks per frame
    time_mask_seconds: NonNegativeFloat = 0.0  # widest time mask, s
    freq_masks: NonNegativeInt = 0  # frequency masks per frame
    freq_mask_bands: NonNegativeInt = 0  # widest frequency mask, mel bands
    mixup: NonNegativeFloat = 0.0  # Beta(alpha, alpha) parameter of frame-pair mixing
    strength: NonNegativeFloat = 1.0  # one knob: multiplies every magnitude above (see at_strength)

    def at_strength(self) -> AugmentParams:
        """These settings with `strength` applied (and set to 1): key shift, stretch, gain, tilt, mask widths
        and mixup alpha scaled by it (whole semitones and bands rounded, stretch kept below 0.5); crop and the
        number of masks are left as they are."""
        k = self.strength
        return dataclasses.replace(
            self,
            key_shift=round(self.key_shift * k),
            stretch=min(self.stretch * k, 0.49),
            gain_db=self.gain_db * k,
            tilt_db=self.tilt_db * k,
            time_mask_seconds=self.time_mask_seconds * k,
            freq_mask_bands=round(self.freq_mask_bands * k),
            mixup=self.mixup * k,
            strength=1.0,
        )

    @property
    def reads_next_frame(self) -> bool:
        """Whether a sample needs the clip's following frame (random crop or tempo jitter)."""
        return self.crop or self.stretch > 0


@section
class TrainParams:
    """Optimisation: epochs, batch size, AdamW peak learning rate and weight decay, early stopping, augmentation."""

    seed: NonNegativeInt | None = None  # weight init, batch order and augmentation; None = the top-level seed
    epochs: PositiveInt = 30
    steps: NonNegativeInt = 0  # total optimizer steps; 0 = `epochs` epochs (see train.run_length)
    batch_size: PositiveInt = 32
    learning_rate: PositiveFloat = 0.001  # peak of the warm-up + cosine schedule
    warmup_epochs: NonNegativeInt = 1
    weight_decay: NonNegativeFloat = 1e-4  # AdamW's decoupled weight decay
    patience: NonNegativeInt = 10  # epochs without a better validation clip score before stopping
    input_norm: InputNorm = "band"  # band = per-mel-band standardisation; global = one mean and std
    distribute: Distribute = "none"  # none | mirrored (local GPUs or logical CPUs) | multi_worker (TF_CONFIG)
    mixed_float16: Bool = False  # float16 compute with float32 weights (for GPUs)
    augment: AugmentParams = AugmentParams()


@section
class ValidateParams:
    """The validation stage: bootstrap resamples for the 95% confidence intervals."""

    n_boot: PositiveInt = 1000


@section
class PredictParams:
    """Notebook 04 and `genrecrnn predict`: files to classify, window length and hop (s), top-k shown."""

    audio: tuple[Str, ...] = ()  # files or folders; empty = the first test clip
    window_seconds: PositiveFloat = 30.0
    window_hop_seconds: PositiveFloat = 30.0
    top_k: PositiveInt = 3


@section
class Params:
    """The whole of params.yaml: shared keys (seed, sample rate in Hz, genres) and one section per stage."""

    seed: NonNegativeInt = 42
    sample_rate: PositiveInt = 22050
    genres: tuple[Str, ...] = ()
    paths: PathsParams = PathsParams()
    data: DataParams = DataParams()
    features: FeaturesParams = FeaturesParams()
    preprocess: PreprocessParams = PreprocessParams()
    model: ModelParams = ModelParams()
    train: TrainParams = TrainParams()
    validate: ValidateParams = ValidateParams()
    predict: PredictParams = PredictParams()

    @model_validator(mode="after")
    def _genres_sorted_and_unique(self) -> Params:
        if len(self.genres) < 2 or not all(self.genres):
            raise ValueError(f"genres must list at least two non-empty names, got {list(self.genres)}")
        if list(self.genres) != sorted(set(self.genres)):
            raise ValueError(f"genres must be sorted and unique (label i = genres[i]), got {list(self.genres)}")
        return self


SECTIONS = tuple(name for name, kind in get_type_hints(Params).items() if dataclasses.is_dataclass(kind))


def _describe(error: dict, cls: type, prefix: str) -> str:
    """One pydantic error as "<dotted key>: <message>", listing the allowed keys for an unknown one."""
    loc = [str(part) for part in error["loc"] if part != "__root__"]
    key = ".".join(filter(None, [prefix, *loc]))
    if error["type"] == "unexpected_keyword_argument":
        owner = _section_at(cls, loc[:-1])
        allowed = ", ".join(".".join(filter(None, [prefix, *loc[:-1], f.name])) for f in dataclasses.fields(owner))
        return f"unknown key {key}; allowed here: {allowed}"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] in ("literal_error", "missing_argument"):
        return f"{key}: {message}, got {error.get('input')!r}"
    got = "" if error["type"] == "value_error" else f", got {error['input']!r}"
    return f"{key}: {message}{got}" if key else f"{message}{got}"


def _section_at(cls: type, loc: list[str]) -> type:
    """The section class reached from `cls` by following field names in `loc`."""
    for part in loc:
        kind = get_type_hints(cls).get(part)
        cls = kind if dataclasses.is_dataclass(kind) else cls
    return cls

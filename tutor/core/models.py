"""Load models the ordinary Hugging Face way: the shipped tiny model, a saved stage, or a local folder.

Everything downstream is plain transformers code (`AutoModelForCausalLM`, `AutoTokenizer`,
`save_pretrained`), so what a learner writes for the tiny model works unchanged on a real one.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from tutor.core.processes import is_main_process, wait_for_everyone
from tutor.course import TINY, check_model
from tutor.errors import TutorError

TINY_DIR = Path(str(files("tutor") / "assets" / "tiny"))


def tiny_config(tokenizer, **overrides):
    """A ~1 M-parameter Llama: big enough to learn the world's language, small enough for a laptop."""
    from transformers import LlamaConfig

    cfg = dict(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=384,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        attention_dropout=0.0,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    cfg.update(overrides)
    return LlamaConfig(**cfg)


def model_path(model: str) -> Path:
    """Folder of a MODEL value: the shipped tiny model for "tiny", a folder holding only a .gguf file
    de-quantised once into plain weights (`dequantised`), else the folder itself."""
    if model == TINY:
        return TINY_DIR
    folder = Path(check_model(model))
    return dequantised(folder) if _gguf_file(folder) else folder


def _gguf_file(folder: Path) -> str | None:
    ggufs = sorted(folder.glob("*.gguf"))
    return ggufs[0].name if ggufs and not (folder / "config.json").exists() else None


def cache_root() -> Path:
    """Where de-quantised models are kept: $TUTOR_CACHE, or ~/.cache/rlhf-tutor."""
    env = os.environ.get("TUTOR_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rlhf-tutor"


# GGUF tensor types kept as plain numbers: nothing to de-quantise.
_PLAIN_GGUF_TYPES = {"F32", "F16", "BF16", "F64", "I8", "I16", "I32", "I64"}


def check_gguf(path: Path) -> int:
    """The number of parameters in a GGUF file, or one sentence if the `gguf` package is missing or
    cannot de-quantise one of its tensor types (it reads the file's header, not its weights)."""
    try:
        import gguf
    except ImportError:
        raise TutorError(
            f'{path.name} is a GGUF file, and reading one needs the gguf package: pip install "rlhf-tutor[real]".'
        ) from None
    reader = gguf.GGUFReader(str(path))
    known = {q.name for q in getattr(gguf.quants, "_type_traits", {})}
    types = {t.tensor_type.name for t in reader.tensors}
    missing = sorted(types - known - _PLAIN_GGUF_TYPES)
    if missing:
        raise TutorError(
            f"{path.name} holds tensors quantised as {', '.join(missing)}, which the gguf package cannot "
            "de-quantise into trainable weights; use a Q4_0/Q4_1/Q5_*/Q8_0/K-quant or F16 file of the model, "
            "or a transformers folder (config.json and safetensors)."
        )
    return sum(int(t.n_elements) for t in reader.tensors)


def dequantised(folder: Path) -> Path:
    """A plain transformers copy (fp32 safetensors and the tokenizer) of the GGUF model in `folder`,
    made once and kept under `cache_root()`.

    transformers de-quantises a GGUF file as it loads it but marks the model as quantized, and its
    Trainer refuses to fine-tune a quantized model; the saved copy is an ordinary checkpoint."""
    import hashlib
    import shutil

    path = folder / _gguf_file(folder)
    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:10]
    out = cache_root() / "dequantised" / f"{path.stem}-{key}"
    if (out / "config.json").exists():
        return out
    check_fits_memory(check_gguf(path), f"The model in {path.name}")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    print(f"De-quantising {path.name} into {out} (once; later runs load the copy).")
    tokenizer = AutoTokenizer.from_pretrained(str(folder), gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(str(folder), gguf_file=path.name, dtype=torch.float32)
    model.config.quantization_config = None  # the weights are plain floats now
    for flag in ("hf_quantizer", "quantization_method"):
        if hasattr(model, flag):
            setattr(model, flag, None)
    model.is_quantized = False
    partial = out.with_name(f"{out.name}.partial-{os.getpid()}")  # another process may be making it too
    model.save_pretrained(partial, safe_serialization=True)
    tokenizer.save_pretrained(partial)
    try:
        partial.rename(out)
    except OSError:  # made meanwhile by another process: keep theirs
        shutil.rmtree(partial, ignore_errors=True)
    return out


def available_memory() -> int:
    """Bytes of memory this machine can still give a process (psutil, or the OS's count)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_fits_memory(parameters: int, what: str, bytes_per_parameter: int = 4) -> None:
    """Refuse a model whose weights alone (parameters × bytes) exceed the free memory."""
    need = parameters * bytes_per_parameter
    free = available_memory()
    if need > free:
        raise TutorError(
            f"{what} needs about {need / 2**30:.1f} GB to load ({parameters / 1e6:,.0f} M parameters × "
            f"{bytes_per_parameter} bytes) but only {free / 2**30:.1f} GB of memory is free (training needs "
            "about four times that); use a smaller model, or a machine with more memory or a GPU."
        )


def saved_parameters(folder: Path) -> int:
    """Parameters in a folder's safetensors files, counted from their headers (nothing loaded)."""
    from math import prod

    from safetensors import safe_open

    total = 0
    for path in Path(folder).glob("*.safetensors"):
        try:
            with safe_open(str(path), "pt") as f:
                total += sum(prod(f.get_slice(name).get_shape()) for name in f.keys())  # noqa: SIM118
        except Exception:  # noqa: BLE001 - a broken file: loading it says so in one sentence
            continue
    return total


def _load(loader, folder: Path, what: str, **kwargs):
    if not folder.is_dir():
        raise TutorError(f"No {what} at {str(folder)!r}: the folder does not exist.")
    if _gguf_file(folder):
        folder = dequantised(folder)
    try:
        return loader.from_pretrained(str(folder), **kwargs)
    except TutorError:
        raise
    except Exception as exc:  # noqa: BLE001 - turn any library failure into one sentence
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TutorError(
            f"The {what} in {str(folder)!r} could not be loaded ({first[:160]}); the checkpoint "
            "is missing or corrupted: delete that folder so the stage is rebuilt, or point MODEL "
            "at a complete model folder."
        ) from None


def load_tokenizer(folder: str | Path):
    """The tokenizer saved in `folder` (or "tiny"); left padding, since we generate in batches."""
    from transformers import AutoTokenizer

    folder = model_path(folder) if isinstance(folder, str) and folder == TINY else Path(folder)
    tok = _load(AutoTokenizer, folder, "tokenizer")
    if tok.pad_token is None or tok.pad_token_id == tok.eos_token_id:
        # Pad must differ from EOS, or padding would read as "answer ended" (PPO relies on it).
        # Borrow a token the model already has (padding is masked out, so any other id works);
        # adding a new one would need the model's embedding table resized.
        vocab = tok.get_vocab()
        for candidate in (tok.unk_token, tok.bos_token, "<|endoftext|>", "<|pad|>", "<pad>"):
            if candidate in vocab and vocab[candidate] != tok.eos_token_id:
                tok.pad_token = candidate
                break
        else:
            raise TutorError(
                f"The tokenizer in {str(folder)!r} has no padding token distinct from its end-of-text "
                "token; add one (tokenizer.add_special_tokens) and resize the model's embeddings."
            )
    if not tok.chat_template:
        raise TutorError(
            f"The tokenizer in {str(folder)!r} has no chat template, and every stage writes its prompts as "
            "chat turns; use an instruct (chat) model's folder, or add a template (tokenizer.chat_template)."
        )
    tok.padding_side = "left"
    return tok


def load_causal_lm(folder: str | Path, device: str = "cpu"):
    """A causal LM from `folder` (or "tiny") in eval mode, fp32 on CPU (bf16 autocast is slow there)."""
    import torch
    from transformers import AutoModelForCausalLM

    folder = model_path(folder) if isinstance(folder, str) and folder == TINY else Path(folder)
    dtype = torch.float32 if device == "cpu" else "auto"
    if folder != TINY_DIR and device == "cpu":
        check_fits_memory(saved_parameters(folder), f"The model in {str(folder)!r}")
    model = _load(AutoModelForCausalLM, folder, "language model", dtype=dtype)
    return model.to(device).eval()


def load_reward_model(folder: str | Path, device: str = "cpu"):
    """A sequence-classification reward model (num_labels=1) saved by the reward stage."""
    import torch
    from transformers import AutoModelForSequenceClassification

    folder = Path(folder)
    model = _load(AutoModelForSequenceClassification, folder, "reward model", dtype=torch.float32)
    if model.config.num_labels != 1:
        raise TutorError(
            f"The model in {str(folder)!r} has {model.config.num_labels} output labels; a reward "
            "model must output one scalar (num_labels=1)."
        )
    from tutor.reward.model import as_pooled  # the pooling it was trained with (config.reward_pooling)

    return as_pooled(model).to(device).eval()


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def save(model, tokenizer, folder: str | Path) -> Path:
    """save_pretrained for model and tokenizer, as safetensors (nothing pickled). Under a launcher
    with several processes (which hold the same weights) rank 0 writes and the others wait for it."""
    folder = Path(folder)
    with gathered(model):
        if is_main_process():
            folder.mkdir(parents=True, exist_ok=True)
            model.save_pretrained(folder, safe_serialization=True)
            tokenizer.save_pretrained(folder)
    wait_for_everyone()
    return folder


def gathered(model):
    """A context in which a model whose weights DeepSpeed ZeRO-3 sharded over the processes holds
    them whole (every process takes part); for any other model, nothing. Not run on this course's
    machines (no GPU, no DeepSpeed): see course/scale.md."""
    import contextlib

    if not any(hasattr(p, "ds_id") for p in model.parameters()):
        return contextlib.nullcontext()
    import deepspeed

    return deepspeed.zero.GatheredParameters(list(model.parameters()), modifier_rank=None)


def weights_stamp(model_dir: Path) -> str | None:
    """A fingerprint of the weights saved in `model_dir` (None when there are no safetensors)."""
    import hashlib

    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        return None
    digest = hashlib.sha1()
    for path in files:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()

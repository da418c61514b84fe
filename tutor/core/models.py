"""Load models the ordinary Hugging Face way: the shipped tiny model, a saved stage, or a local folder.

Everything downstream is plain transformers code (`AutoModelForCausalLM`, `AutoTokenizer`,
`save_pretrained`), so what a learner writes for the tiny model works unchanged on a real one.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

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
    """Folder of a MODEL value: the shipped tiny model for "tiny", else the folder itself."""
    return TINY_DIR if model == TINY else Path(check_model(model))


def _gguf_file(folder: Path) -> str | None:
    ggufs = sorted(folder.glob("*.gguf"))
    return ggufs[0].name if ggufs and not (folder / "config.json").exists() else None


def _load(loader, folder: Path, what: str, **kwargs):
    if not folder.is_dir():
        raise TutorError(f"No {what} at {str(folder)!r}: the folder does not exist.")
    gguf = _gguf_file(folder)
    if gguf:
        kwargs["gguf_file"] = gguf
    try:
        return loader.from_pretrained(str(folder), **kwargs)
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
    tok.padding_side = "left"
    return tok


def load_causal_lm(folder: str | Path, device: str = "cpu"):
    """A causal LM from `folder` (or "tiny") in eval mode, fp32 on CPU (bf16 autocast is slow there)."""
    import torch
    from transformers import AutoModelForCausalLM

    folder = model_path(folder) if isinstance(folder, str) and folder == TINY else Path(folder)
    dtype = torch.float32 if device == "cpu" else "auto"
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
    """save_pretrained for model and tokenizer, as safetensors (nothing pickled)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


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

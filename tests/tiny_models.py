"""Builders of tiny question-answering models with random weights and tokenizers trained here (no hub needed).

Each builder writes a directory that ``AutoTokenizer.from_pretrained`` / ``AutoModelForQuestionAnswering
.from_pretrained`` load, so the reader and Haystack's reader can both use it.
"""

import json
from pathlib import Path

import torch

CORPUS = [
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France.",
    "They were descended from Norse raiders and pirates from Denmark, Iceland and Norway.",
    "Rollo was the Norse leader who agreed to swear fealty to King Charles III of West Francia.",
    "The river Seine flows through Paris before it reaches the sea at Le Havre.",
    "Zürich is the largest city in Switzerland; its lake is called the Zürichsee.",
    "A naïve café owner in Ærøskøbing sold crème brûlée for 4,50 € every Sunday.",
    "東京は日本の首都です。 Tokyo has more than thirteen million inhabitants.",
    "Die Straße führt über die Brücke nach Köln und weiter nach Düsseldorf.",
    "Ελληνικά γράμματα: άλφα, βήτα, γάμμα. Москва — столица России.",
    "The answer to the question is 42, according to the book written by Douglas Adams in 1979.",
    "Photosynthesis converts light energy into chemical energy stored in glucose molecules.",
    "The committee met on 3 March 2021 and approved the budget of 1.2 million dollars.",
    "Marie Curie won the Nobel Prize in Physics in 1903 and in Chemistry in 1911.",
    "Water boils at 100 degrees Celsius at sea level and freezes at 0 degrees.",
    "Who wrote it? When did it happen? Where is it? What is the name of the river? How many people live there?",
]


def corpus_text(repeat: int = 20) -> list[str]:
    """The training corpus of the tokenizers (repeated so every merge is seen often)."""
    return CORPUS * repeat


def build_roberta_qa(out_dir: str | Path, seed: int = 0, vocab_size: int = 700, layers: int = 2) -> Path:
    """
    A tiny ``RobertaForQuestionAnswering`` with a byte-level BPE tokenizer trained on :data:`CORPUS`.

    :returns: the directory, loadable with ``from_pretrained``.
    """
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForQuestionAnswering, RobertaTokenizer

    out_dir = Path(out_dir)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    trainer = ByteLevelBPETokenizer(add_prefix_space=False, trim_offsets=True)
    trainer.train_from_iterator(corpus_text(), vocab_size=vocab_size, min_frequency=2, special_tokens=specials)
    model_json = json.loads(trainer.to_str())["model"]
    merges = [tuple(merge) if isinstance(merge, list) else tuple(merge.split(" ")) for merge in model_json["merges"]]
    tokenizer = RobertaTokenizer(vocab=model_json["vocab"], merges=merges)
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(out_dir)

    torch.manual_seed(seed)
    config = RobertaConfig(
        vocab_size=len(model_json["vocab"]),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=520,
        type_vocab_size=1,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        initializer_range=0.5,
    )
    RobertaForQuestionAnswering(config).eval().save_pretrained(out_dir)
    return out_dir


def build_bert_qa(out_dir: str | Path, seed: int = 0, vocab_size: int = 600, layers: int = 2) -> Path:
    """
    A tiny ``BertForQuestionAnswering`` with a lower-casing WordPiece tokenizer trained on :data:`CORPUS`.

    :returns: the directory, loadable with ``from_pretrained``.
    """
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertForQuestionAnswering, BertTokenizer

    out_dir = Path(out_dir)
    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(
        corpus_text(),
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    )
    tokenizer = BertTokenizer(vocab=trainer.get_vocab(), do_lower_case=True)
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(out_dir)

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=trainer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        type_vocab_size=2,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=0.5,
    )
    BertForQuestionAnswering(config).eval().save_pretrained(out_dir)
    return out_dir


def build_tiny_sentence_transformer(
    out_dir: Path, seed: int = 0, max_seq_length: int = 40, texts: list[str] | None = None
) -> Path:
    """
    A tiny BERT sentence-transformer (mean pooling, normalised) with random weights and a WordPiece vocabulary
    trained on ``texts`` (None: :data:`CORPUS`).
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertModel, BertTokenizer

    bert_dir = out_dir / "bert"
    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(
        (texts or CORPUS) * 10,
        vocab_size=300,
        min_frequency=1,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    )
    tokenizer = BertTokenizer(vocab=trainer.get_vocab(), do_lower_case=True)
    tokenizer.save_pretrained(bert_dir)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=trainer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=0.5,
    )
    BertModel(config).eval().save_pretrained(bert_dir)
    modules = [Transformer(str(bert_dir), max_seq_length=max_seq_length), Pooling(32, "mean"), Normalize()]
    model_dir = out_dir / "st"
    SentenceTransformer(modules=modules, device="cpu").save(str(model_dir))
    return model_dir

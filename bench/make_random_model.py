"""Build a random-weight model shaped like deepset/tinyroberta-squad2 (for speed work only: its answers mean nothing).

python bench/make_random_model.py OUT_DIR --tokenizer ../shared/models/tinyroberta-squad2-tokenizer
"""

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="directory to write the model and tokenizer to")
    parser.add_argument("--tokenizer", type=Path, required=True, help="directory with config.json and tokenizer files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch
    from transformers import AutoTokenizer, RobertaConfig, RobertaForQuestionAnswering

    torch.manual_seed(args.seed)
    config = RobertaConfig.from_pretrained(args.tokenizer)
    RobertaForQuestionAnswering(config).eval().save_pretrained(args.out_dir)
    AutoTokenizer.from_pretrained(args.tokenizer).save_pretrained(args.out_dir)
    print(f"wrote {args.out_dir}")


if __name__ == "__main__":
    main()

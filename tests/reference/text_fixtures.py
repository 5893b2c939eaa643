"""Writes the fixtures of tests/text_models.rs (not run by CI). Run from the repository root with
a venv holding torch, transformers and sentence-transformers:

    venv/bin/python tests/reference/text_fixtures.py ../shared/tools/emb/make_reference.py

Parity (tests/fixtures/parity/<case>.io.safetensors): the reduced-size originals of
make_reference.py --small (BertModel, DistilBertModel, CLIPModel), their weights replaced by the
`synthetic` values of parity_fixtures.py under zoo's names (`backbone.` + the original key; CLIP,
a full model, the original keys), and their outputs:
  ids, mask    int64 [2, 9]; row 0 padded (BERT-style [CLS] ... [SEP] [PAD]..., CLIP-style
               <|startoftext|> ... <|endoftext|> padded with <|endoftext|>)
  mean/cls/max float32 [2, D]: the masked mean (sentence-transformers' Pooling), the first token,
               the masked max (padding at -1e9) of the last hidden state
  text, image  CLIP only: get_text_features(ids, mask) and get_image_features(x), x = `input`
               [1, 3, 64, 64]
Facts (tests/fixtures/reference/transformers_<model>.txt): the full-size originals' state-dict
keys and shapes (`# params N` first), built from their config.json values without downloading.
"""
import importlib.util
import pathlib
import sys

import torch
from safetensors.torch import save_file

spec = importlib.util.spec_from_file_location("make_reference", sys.argv[1])
mr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mr)
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from parity_fixtures import OUT, synthetic  # noqa: E402

FACTS = pathlib.Path("tests/fixtures/reference")


def fill(model, prefix):
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.copy_(synthetic(prefix + name, t))
    model.eval()


def bert_ids(vocab):
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(1000, vocab, (2, 9), generator=g) if vocab > 1000 else torch.randint(200, vocab, (2, 9), generator=g)
    ids[:, 0] = 101
    ids[0, 5] = 102
    ids[0, 6:] = 0
    ids[1, 8] = 102
    mask = (torch.arange(9) < 6).long().unsqueeze(0).repeat(2, 1)
    mask[1] = 1
    return ids, mask


def pools(hidden, mask):
    m = mask.unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    masked = hidden.clone()
    masked[m.expand_as(hidden) == 0] = -1e9
    return {"mean": mean, "cls": hidden[:, 0], "max": masked.max(1).values}


def facts(name, model):
    sd = model.state_dict()
    n = sum(p.numel() for p in model.parameters())
    lines = [f"# params {n}"] + [f"{k} {list(v.shape)}" for k, v in sd.items()]
    (FACTS / f"transformers_{name}.txt").write_text("\n".join(lines) + "\n")


def text_case(case, name):
    gen = torch.Generator().manual_seed(0)
    model, _ = mr.build_text(name, True, 0, gen)
    fill(model, "backbone.")
    ids, mask = bert_ids(model.config.vocab_size)
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    out = {"ids": ids, "mask": mask}
    out.update({k: v.contiguous() for k, v in pools(hidden, mask).items()})
    save_file(out, str(OUT / f"{case}.io.safetensors"))
    full, _ = mr.build_text(name, False, 0, gen)
    facts(case, full)


def clip_case():
    gen = torch.Generator().manual_seed(0)
    model, config = mr.build_clip(True, 0, gen)
    fill(model, "")
    vocab = config.text_config.vocab_size
    bos, eos = vocab - 2, vocab - 1
    g = torch.Generator().manual_seed(6)
    ids = torch.randint(3, vocab - 2, (2, 9), generator=g)
    ids[:, 0] = bos
    ids[0, 5] = eos
    ids[0, 6:] = eos
    ids[1, 8] = eos
    mask = torch.ones(2, 9, dtype=torch.long)
    mask[0, 6:] = 0
    x = torch.randn(1, 3, 64, 64, generator=g)
    with torch.no_grad():
        text = mr.features(model.get_text_features(input_ids=ids, attention_mask=mask))
        image = mr.features(model.get_image_features(pixel_values=x))
    save_file({"ids": ids, "mask": mask, "input": x, "text": text.contiguous(), "image": image.contiguous()},
              str(OUT / "clip.io.safetensors"))
    full, _ = mr.build_clip(False, 0, gen)
    facts("clip", full)


def main():
    text_case("bert", "bert-base-cased")
    text_case("distilbert", "sentence-transformers/msmarco-distilbert-base-v3")
    clip_case()


if __name__ == "__main__":
    main()

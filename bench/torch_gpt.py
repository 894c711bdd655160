"""PyTorch's side of `attn bench gpt`: the same GPT-2 in torch 1.13, one case per process.

The model is nanoGPT's (Karpathy), written out here: pre-LayerNorm blocks, learned positions, tied
embeddings, tanh GELU, causal attention composed from matmul + masked_fill + softmax (torch 1.13 has no
fused CPU attention). Training steps use torch.optim.AdamW with the same two groups as `attn train gpt`
(weight decay on matrices only), gradient clipping at 1.0. Decoding keeps a preallocated KV cache.

Prints one JSON line. Usage:
  torch_gpt.py --kind train  --config 124m --B 4 --T 64 --threads 2 --min-time 5
  torch_gpt.py --kind decode --config 124m --B 8 --ctx 1024 --new 16 --threads 2   (B prompts per step)
"""
import argparse
import json
import math
import resource

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_case import median_time, parse_case_args

CONFIGS = {  # must match apps/attn/bench_gpt.cpp
    "124m": dict(vocab_size=50257, n_layer=12, n_head=12, n_embd=768, block_size=1024),
    "small": dict(vocab_size=83, n_layer=4, n_head=4, n_embd=128, block_size=128),
}


class Block(nn.Module):
    def __init__(self, C, H):
        super().__init__()
        self.H = H
        self.ln_1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)

    def attn(self, x, cache=None, pos=0):
        B, T, C = x.shape
        H, Dh = self.H, C // self.H
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, H, Dh).transpose(1, 2) for t in (q, k, v))  # (B, H, T, Dh)
        if cache is not None:  # write the new keys/values at pos .. pos+T-1, attend to 0 .. pos+T-1
            cache[0][:, :, pos:pos + T] = k
            cache[1][:, :, pos:pos + T] = v
            k, v = cache[0][:, :, :pos + T], cache[1][:, :, :pos + T]
        S = k.shape[2]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(Dh))
        if T > 1:
            mask = torch.ones(T, S, dtype=torch.bool).tril(S - T)
            att = att.masked_fill(~mask, float("-inf"))
        y = att.softmax(dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x, cache=None, pos=0):
        x = x + self.attn(self.ln_1(x), cache, pos)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab_size, n_layer, n_head, n_embd, block_size):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(block_size, n_embd)
        self.h = nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, ids, caches=None, pos=0):
        T = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(pos, pos + T))
        for l, block in enumerate(self.h):
            x = block(x, caches[l] if caches is not None else None, pos)
        return self.ln_f(x) @ self.wte.weight.T  # tied output projection




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=["train", "decode"], default="train")
    ap.add_argument("--config", choices=sorted(CONFIGS), default="small")
    for name, default in [("--B", 4), ("--T", 64), ("--ctx", 1024), ("--new", 16)]:
        ap.add_argument(name, type=int, default=default)
    a = parse_case_args(ap)
    cfg = CONFIGS[a.config]
    model = GPT(**cfg)
    n_params = sum(p.numel() for p in model.parameters())
    V = cfg["vocab_size"]
    row = {"impl": "torch", "kind": a.kind, "config": a.config, "params": n_params, "torch_version": torch.__version__,
           "torch_threads": torch.get_num_threads()}

    if a.kind == "train":
        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=1e-4, betas=(0.9, 0.95))
        ids = torch.randint(0, V, (a.B, a.T + 1))
        x, y = ids[:, :-1], ids[:, 1:]

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x).view(-1, V), y.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

        s = median_time(step, a.min_time, a.min_reps)
        row.update({"B": a.B, "T": a.T, "ms": s * 1e3, "tokens_per_s": a.B * a.T / s})
    else:
        model.eval()
        C, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
        caches = [(torch.zeros(a.B, H, a.ctx, C // H), torch.zeros(a.B, H, a.ctx, C // H)) for _ in range(L)]
        prefill = a.ctx - a.new
        ids = torch.randint(0, V, (a.B, a.ctx))
        with torch.no_grad():
            model(ids[:, :prefill], caches, 0)

            def decode():
                for i in range(a.new):  # the cache beyond `prefill` is simply overwritten next time
                    model(ids[:, prefill + i:prefill + i + 1], caches, prefill + i)

            s = median_time(decode, a.min_time, a.min_reps)
        row.update({"B": a.B, "ctx": a.ctx, "new": a.new, "ms_per_step": s * 1e3 / a.new, "tokens_per_s": a.B * a.new / s})
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(row))


if __name__ == "__main__":
    main()

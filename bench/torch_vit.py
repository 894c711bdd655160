"""PyTorch's side of `attn bench vit`: the same Vision Transformer in torch 1.13, one case per process.

The model is Hugging Face's ViTForImageClassification, written out here: a Conv2d patch embedding (stride =
kernel = patch), a CLS token and learned positions, pre-LayerNorm layers with separate query/key/value
projections, attention composed from matmul + softmax (torch 1.13 has no fused CPU attention), exact GELU,
the classifier on the CLS token. Training steps: label-smoothed (0.1) cross-entropy, clip_grad_norm_(1.0),
torch.optim.AdamW with weight decay on the weight matrices only, as `attn train vit`.

Prints one JSON line. Usage:
  torch_vit.py --kind train --B 128 --patch 7 --embd 64 --layers 4 --heads 4 --threads 2 --min-time 3
  torch_vit.py --kind infer --B 500 ...
"""
import argparse
import json
import math
import resource

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_case import median_time, parse_case_args


class Layer(nn.Module):
    def __init__(self, D, H):
        super().__init__()
        self.H = H
        self.layernorm_before = nn.LayerNorm(D, eps=1e-12)
        self.query, self.key, self.value = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)
        self.out = nn.Linear(D, D)
        self.layernorm_after = nn.LayerNorm(D, eps=1e-12)
        self.fc1, self.fc2 = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

    def forward(self, x):
        B, T, D = x.shape
        H, Dh = self.H, D // self.H
        h = self.layernorm_before(x)
        q, k, v = (f(h).view(B, T, H, Dh).transpose(1, 2) for f in (self.query, self.key, self.value))
        att = ((q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(Dh))).softmax(dim=-1)
        x = x + self.out((att @ v).transpose(1, 2).reshape(B, T, D))
        return x + self.fc2(F.gelu(self.fc1(self.layernorm_after(x))))


class ViT(nn.Module):
    def __init__(self, image=28, patch=7, D=64, L=4, H=4, classes=10):
        super().__init__()
        T = (image // patch) ** 2 + 1
        self.projection = nn.Conv2d(1, D, kernel_size=patch, stride=patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, D) * 0.02)
        self.position_embeddings = nn.Parameter(torch.randn(1, T, D) * 0.02)
        self.layers = nn.ModuleList([Layer(D, H) for _ in range(L)])
        self.layernorm = nn.LayerNorm(D, eps=1e-12)
        self.classifier = nn.Linear(D, classes)

    def forward(self, images):
        x = self.projection(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.position_embeddings
        for layer in self.layers:
            x = layer(x)
        return self.classifier(self.layernorm(x)[:, 0])




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=["train", "infer"], default="train")
    for name, default in [("--B", 128), ("--patch", 7), ("--embd", 64), ("--layers", 4), ("--heads", 4)]:
        ap.add_argument(name, type=int, default=default)
    a = parse_case_args(ap)
    model = ViT(patch=a.patch, D=a.embd, L=a.layers, H=a.heads)
    row = {"impl": "torch", "kind": a.kind, "B": a.B, "patch": a.patch, "embd": a.embd, "layers": a.layers,
           "heads": a.heads, "params": sum(p.numel() for p in model.parameters()), "torch_version": torch.__version__,
           "torch_threads": torch.get_num_threads()}
    images = torch.randn(a.B, 1, 28, 28)
    labels = torch.randint(0, 10, (a.B,))
    if a.kind == "train":
        decay = [p for n, p in model.named_parameters() if n.endswith("weight") and p.dim() >= 2]
        no_decay = [p for n, p in model.named_parameters() if not (n.endswith("weight") and p.dim() >= 2)]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(images), labels, label_smoothing=0.1).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

        s = median_time(step, a.min_time, a.min_reps)
    else:
        model.eval()
        with torch.no_grad():
            s = median_time(lambda: model(images), a.min_time, a.min_reps)
    row.update({"ms": s * 1e3, "images_per_s": a.B / s,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0})
    print(json.dumps(row))


if __name__ == "__main__":
    main()

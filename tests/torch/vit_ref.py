"""A Vision Transformer reference written in PyTorch from the architecture (Dosovitskiy et al. 2021; the
layout of Hugging Face's modeling_vit.py, ViTForImageClassification), in float64, for the live cross-checks
of attn::models::ViTForImageClassification and of the explanation methods of attn/explain on it.

Two modes:
  vit_ref.py cases.safetensors results.json
      Our random models (Hugging Face names): recompute logits, the loss and every parameter gradient, and
      for image 0 and the case's class the explanation scores of the CLS row: raw attention (last layer),
      rollout, gradient x input, Grad-CAM and Chefer et al.'s relevance (R = I; R += mean_h((dA * A)+) R),
      the gradients dA from torch autograd; report each relative error (refcommon protocol).
  vit_ref.py make-hf DIR SEED
      Writes a small random Hugging Face ViT folder (config.json, preprocessor_config.json, model.safetensors
      with the "vit." prefix and an unused pooler) and reference.safetensors: normalized images and the
      float64 logits of this reference.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

import refcommon
import safetensors_np
from refcommon import rel_err

torch.set_default_dtype(torch.float64)


def forward(p, cfg, images, keep=None):
    """p: name -> tensor (Hugging Face names). Returns logits, attentions [(B, H, T, T)], hidden states [L+1]."""
    B, C, Hi, Wi = images.shape
    P, D, H = cfg["patch_size"], cfg["hidden_size"], cfg["num_attention_heads"]
    Dh, eps = D // H, cfg["layer_norm_eps"]
    act = (lambda x: F.gelu(x)) if cfg["hidden_act"] == "gelu" else (lambda x: F.gelu(x, approximate="tanh"))
    # patch embedding: a convolution with stride = kernel = P
    x = F.conv2d(images, p["vit.embeddings.patch_embeddings.projection.weight"],
                 p["vit.embeddings.patch_embeddings.projection.bias"], stride=P)      # (B, D, g, g)
    x = x.flatten(2).transpose(1, 2)                                                  # (B, N, D)
    cls = p["vit.embeddings.cls_token"].expand(B, -1, -1)
    x = torch.cat([cls, x], dim=1) + p["vit.embeddings.position_embeddings"]          # (B, T, D)
    T = x.shape[1]
    attentions, hidden = [], [x]
    for l in range(cfg["num_hidden_layers"]):
        pre = f"vit.encoder.layer.{l}."

        def lin(t, name):
            return F.linear(t, p[pre + name + ".weight"], p.get(pre + name + ".bias"))

        h = F.layer_norm(x, (D,), p[pre + "layernorm_before.weight"], p[pre + "layernorm_before.bias"], eps)
        q, k, v = (lin(h, "attention.attention." + n).view(B, T, H, Dh).transpose(1, 2) for n in ("query", "key", "value"))
        scores = q @ k.transpose(-1, -2) / math.sqrt(Dh)
        a = scores.softmax(-1)
        a.retain_grad() if a.requires_grad else None
        attentions.append(a)
        y = (a @ v).transpose(1, 2).reshape(B, T, D)
        x = lin(y, "attention.output.dense") + x
        h = F.layer_norm(x, (D,), p[pre + "layernorm_after.weight"], p[pre + "layernorm_after.bias"], eps)
        x = lin(act(lin(h, "intermediate.dense")), "output.dense") + x
        hidden.append(x)
    x = F.layer_norm(x, (D,), p["vit.layernorm.weight"], p["vit.layernorm.bias"], eps)
    logits = F.linear(x[:, 0], p["classifier.weight"], p["classifier.bias"])
    return logits, attentions, hidden


def explain_scores(p, cfg, image, target):
    """The CLS row's scores of every method for one image (1, C, H, W) and class `target`."""
    p = {k: v.detach().clone().requires_grad_(True) for k, v in p.items()}
    logits, attentions, hidden = forward(p, cfg, image)
    for h in hidden:
        h.retain_grad()
    logits[0, target].backward()
    T = attentions[0].shape[-1]
    eye = torch.eye(T)
    out = {"raw_attention": attentions[-1][0].mean(0)[0].detach()}
    R = torch.eye(T)
    for a in attentions:
        a_hat = 0.5 * a[0].detach().mean(0) + 0.5 * eye
        a_hat = a_hat / a_hat.sum(-1, keepdim=True)
        R = a_hat @ R
    out["rollout"] = R[0]
    x0, g0 = hidden[0][0].detach(), hidden[0].grad[0]
    out["grad_x_input"] = (x0 * g0).sum(-1)
    hL, gL = hidden[-1][0].detach(), hidden[-1].grad[0]
    out["grad_cam"] = torch.relu((hL * gL.mean(0, keepdim=True)).sum(-1))
    R = torch.eye(T)
    for a in attentions:
        cam = (a.grad[0] * a[0].detach()).clamp(min=0).mean(0)
        R = R + cam @ R
    out["relevance"] = R[0]
    return out


def run_case(t, case):
    name, cfg = case["name"], case["config"]
    pre = name + "/"
    params = {k[len(pre) + 6:]: torch.tensor(v).double().requires_grad_(True)
              for k, v in t.items() if k.startswith(pre + "param/")}
    images = torch.tensor(t[pre + "images"]).double()
    labels = torch.tensor(t[pre + "labels"]).long()
    logits, _, _ = forward(params, cfg, images)
    loss = F.cross_entropy(logits, labels, label_smoothing=case["label_smoothing"])
    loss.backward()
    errs = {"logits": rel_err(t[pre + "logits"], logits.detach().numpy()),
            "loss": rel_err(t[pre + "loss"], loss.detach().numpy())}
    for k, v in params.items():
        errs["grad/" + k] = rel_err(t[pre + "grad/" + k], v.grad.numpy())
    scores = explain_scores(params, cfg, images[:1], case["target"])
    for method, ref in scores.items():
        errs["explain/" + method] = rel_err(t[pre + "explain/" + method], ref.numpy())
    return errs


def make_hf(out, seed):
    g = torch.Generator().manual_seed(seed)
    cfg = {"image_size": 16, "patch_size": 4, "num_channels": 3, "hidden_size": 32, "num_hidden_layers": 2,
           "num_attention_heads": 4, "intermediate_size": 48, "hidden_act": "gelu", "layer_norm_eps": 1e-12}
    C, D, P, I = cfg["num_channels"], cfg["hidden_size"], cfg["patch_size"], cfg["intermediate_size"]
    T = (cfg["image_size"] // P) ** 2 + 1
    labels = ["cat", "dog", "fish"]

    def rnd(*shape, std=0.2):
        return torch.randn(*shape, generator=g) * std

    p = {"vit.embeddings.cls_token": rnd(1, 1, D), "vit.embeddings.position_embeddings": rnd(1, T, D),
         "vit.embeddings.patch_embeddings.projection.weight": rnd(D, C, P, P),
         "vit.embeddings.patch_embeddings.projection.bias": rnd(D, std=0.1),
         "vit.layernorm.weight": 1 + rnd(D, std=0.1), "vit.layernorm.bias": rnd(D, std=0.1),
         "classifier.weight": rnd(len(labels), D), "classifier.bias": rnd(len(labels), std=0.1)}
    for l in range(cfg["num_hidden_layers"]):
        pre = f"vit.encoder.layer.{l}."
        for n in ("layernorm_before", "layernorm_after"):
            p[pre + n + ".weight"] = 1 + rnd(D, std=0.1)
            p[pre + n + ".bias"] = rnd(D, std=0.1)
        for n, (i, o) in {"attention.attention.query": (D, D), "attention.attention.key": (D, D),
                          "attention.attention.value": (D, D), "attention.output.dense": (D, D),
                          "intermediate.dense": (D, I), "output.dense": (I, D)}.items():
            p[pre + n + ".weight"] = rnd(o, i)
            p[pre + n + ".bias"] = rnd(o, std=0.1)
    p = {k: v.float() for k, v in p.items()}
    stored = dict(p)
    stored["vit.pooler.dense.weight"] = rnd(D, D).float()  # ViTModel's pooler, unused by the classifier
    stored["vit.pooler.dense.bias"] = rnd(D).float()
    os.makedirs(out, exist_ok=True)
    safetensors_np.save(os.path.join(out, "model.safetensors"), {k: v.numpy() for k, v in stored.items()},
                        {"format": "pt"})
    config = dict(cfg, model_type="vit", architectures=["ViTForImageClassification"], qkv_bias=True,
                  hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, initializer_range=0.02,
                  id2label={str(i): n for i, n in enumerate(labels)}, label2id={n: i for i, n in enumerate(labels)})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump({"image_processor_type": "ViTImageProcessor", "do_resize": True, "size": {"height": 16, "width": 16},
                   "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
                   "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 2}, f, indent=2)
    images = torch.randn(2, C, 16, 16, generator=g).float().double()  # what the file holds
    with torch.no_grad():
        logits, _, _ = forward({k: v.double() for k, v in p.items()}, cfg, images)
    safetensors_np.save(os.path.join(out, "reference.safetensors"),
                        {"images": images.float().numpy(), "logits": logits.numpy()})


if __name__ == "__main__":
    if sys.argv[1] == "make-hf":
        make_hf(sys.argv[2], int(sys.argv[3]))
    else:
        refcommon.main(run_case)

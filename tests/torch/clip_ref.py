"""A CLIP-style dual encoder written in PyTorch from the architecture (Radford et al. 2021, the names of Hugging
Face's CLIPModel; the blocks are the ViT's pre-LN blocks, the text tower attends both ways with padding masked and
pools its </s> token), in float64, for the live cross-check of attn::models::ClipModel.

  clip_ref.py cases.safetensors results.json
      For each case: the image and text embeddings, the logits per image, the symmetric InfoNCE loss and every
      parameter's gradient recomputed from our random weights; each relative error reported (refcommon protocol).
"""
import math

import torch
import torch.nn.functional as F

import refcommon
from refcommon import rel_err

torch.set_default_dtype(torch.float64)


def blocks(p, pre, x, layers, heads, eps, pad=None):
    """ViT blocks (Hugging Face names under `pre`encoder.layer.{l}.); pad (B, T) True = a key nobody attends to."""
    B, T, D = x.shape
    Dh = D // heads
    for l in range(layers):
        q_ = f"{pre}encoder.layer.{l}."

        def lin(t, name):
            return F.linear(t, p[q_ + name + ".weight"], p.get(q_ + name + ".bias"))

        h = F.layer_norm(x, (D,), p[q_ + "layernorm_before.weight"], p[q_ + "layernorm_before.bias"], eps)
        q, k, v = (lin(h, "attention.attention." + n).view(B, T, heads, Dh).transpose(1, 2)
                   for n in ("query", "key", "value"))
        scores = q @ k.transpose(-1, -2) / math.sqrt(Dh)
        if pad is not None:
            scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
        y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = lin(y, "attention.output.dense") + x
        h = F.layer_norm(x, (D,), p[q_ + "layernorm_after.weight"], p[q_ + "layernorm_after.bias"], eps)
        x = lin(F.gelu(lin(h, "intermediate.dense")), "output.dense") + x
    return x


def forward(p, cfg, images, ids):
    eps = cfg["layer_norm_eps"]
    # vision: patches (a stride-P convolution), the class token, positions, blocks, LayerNorm, the class token
    B = images.shape[0]
    P, Dv = cfg["patch_size"], cfg["vision_hidden_size"]
    x = F.conv2d(images, p["vision_model.embeddings.patch_embeddings.projection.weight"],
                 p["vision_model.embeddings.patch_embeddings.projection.bias"], stride=P).flatten(2).transpose(1, 2)
    x = torch.cat([p["vision_model.embeddings.cls_token"].expand(B, -1, -1), x], 1)
    x = x + p["vision_model.embeddings.position_embeddings"]
    x = blocks(p, "vision_model.", x, cfg["vision_layers"], cfg["vision_heads"], eps)
    x = F.layer_norm(x, (Dv,), p["vision_model.layernorm.weight"], p["vision_model.layernorm.bias"], eps)
    img = F.linear(x[:, 0], p["visual_projection.weight"])
    # text: token + position embeddings, blocks with padding masked, LayerNorm, the </s> token
    L, Dt = ids.shape[1], cfg["text_hidden_size"]
    t = F.embedding(ids, p["text_model.embeddings.token_embedding.weight"], padding_idx=0)
    t = t + p["text_model.embeddings.position_embedding"][:, :L]
    t = blocks(p, "text_model.", t, cfg["text_layers"], cfg["text_heads"], eps, pad=ids == 0)
    t = F.layer_norm(t, (Dt,), p["text_model.final_layer_norm.weight"], p["text_model.final_layer_norm.bias"], eps)
    eos = (ids == 3).int().argmax(1)
    txt = F.linear(t[torch.arange(ids.shape[0]), eos], p["text_projection.weight"])
    img = img / img.norm(dim=-1, keepdim=True)
    txt = txt / txt.norm(dim=-1, keepdim=True)
    logits = p["logit_scale"].exp() * img @ txt.T
    target = torch.arange(B)
    loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
    return img, txt, logits, loss


def run_case(t, case):
    name, cfg = case["name"], case["config"]
    pre = name + "/"
    params = {k[len(pre) + 6:]: torch.tensor(v).double().requires_grad_(True)
              for k, v in t.items() if k.startswith(pre + "param/")}
    images = torch.tensor(t[pre + "images"]).double()
    ids = torch.tensor(t[pre + "ids"]).long()
    img, txt, logits, loss = forward(params, cfg, images, ids)
    loss.backward()
    errs = {"image_embeds": rel_err(t[pre + "image_embeds"], img.detach().numpy()),
            "text_embeds": rel_err(t[pre + "text_embeds"], txt.detach().numpy()),
            "logits_per_image": rel_err(t[pre + "logits_per_image"], logits.detach().numpy()),
            "loss": rel_err(t[pre + "loss"], loss.detach().numpy())}
    for k, v in params.items():
        errs["grad/" + k] = rel_err(t[pre + "grad/" + k], v.grad.numpy())
    return errs


if __name__ == "__main__":
    refcommon.main(run_case)

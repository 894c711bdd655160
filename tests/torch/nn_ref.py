"""torch.nn / torch.optim references for tests/torch/test_nn_vs_torch.cpp (float64 on the torch side).

For module cases: build the torch module of the same configuration, load our parameters by name (our
state-dict names are torch's), run the same inputs, backpropagate the same upstream gradients, and
report the relative error of every output, input gradient and parameter gradient. For optimizer cases:
replay the same steps with torch.optim and compare the final parameters and the clipping norms.
Usage: nn_ref.py cases.safetensors results.json
"""

import numpy as np
import torch

import refcommon
from refcommon import rel_err

torch.set_default_dtype(torch.float64)


def build(cfg):
    k = cfg["kind"]
    if k in ("gru", "lstm"):
        cls = torch.nn.GRU if k == "gru" else torch.nn.LSTM
        return cls(cfg["input_size"], cfg["hidden_size"], num_layers=cfg["num_layers"], bias=cfg["bias"],
                   batch_first=cfg["batch_first"], bidirectional=cfg["bidirectional"])
    if k == "gru_cell":
        return torch.nn.GRUCell(cfg["input_size"], cfg["hidden_size"])
    if k == "lstm_cell":
        return torch.nn.LSTMCell(cfg["input_size"], cfg["hidden_size"])
    if k == "mlp":
        return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.LayerNorm(8), torch.nn.GELU(approximate="tanh"),
                                   torch.nn.Linear(8, 3, bias=False), RMSNorm(3))
    if k == "embedding":
        return torch.nn.Embedding(cfg["num"], cfg["dim"], padding_idx=cfg["padding_idx"])
    raise ValueError(f"unknown module kind {k}")


class RMSNorm(torch.nn.Module):  # torch 1.13 has none; the formula: x / sqrt(mean(x²) + eps) * weight
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def run(module, cfg, xs, t):
    k = cfg["kind"]
    if k in ("gru", "lstm") and "lengths" in cfg:  # padded batch: torch's packed sequences
        T = xs[0].shape[1 if cfg["batch_first"] else 0]
        packed = torch.nn.utils.rnn.pack_padded_sequence(xs[0], torch.tensor(cfg["lengths"]),
                                                         batch_first=cfg["batch_first"], enforce_sorted=False)
        out, state = module(packed)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=cfg["batch_first"], total_length=T)
        return [out, state] if k == "gru" else [out, state[0], state[1]]
    if k == "gru":
        out, h = module(*xs)
        return [out, h]
    if k == "lstm":
        out, (h, c) = module(xs[0], (xs[1], xs[2])) if len(xs) == 3 else module(xs[0])
        return [out, h, c]
    if k == "gru_cell":
        return [module(xs[0], xs[1])]
    if k == "lstm_cell":
        h, c = module(xs[0], (xs[1], xs[2]))
        return [h, c]
    if k == "embedding":
        return [module(torch.from_numpy(t["embedding/ids"].astype(np.int64)))]
    return [module(xs[0])]


def module_case(t, cfg):
    name = cfg["name"]
    module = build(cfg)
    params = dict(module.named_parameters())
    ours = {key[len(name) + 7:]: v for key, v in t.items() if key.startswith(name + "/param/")}
    if set(ours) != set(params):
        raise ValueError(f"parameter names differ: ours {sorted(ours)} torch {sorted(params)}")
    with torch.no_grad():
        for pname, p in params.items():
            p.copy_(torch.from_numpy(ours[pname].astype(np.float64)))
    xs = [torch.from_numpy(t[f"{name}/in/{i}"].astype(np.float64)).requires_grad_() for i in range(cfg["n_inputs"])]
    outs = run(module, cfg, xs, t)
    res = {}
    total = 0
    for i, o in enumerate(outs):
        res[f"out{i}"] = rel_err(t[f"{name}/out/{i}"], o.detach().numpy())
        total = total + (o * torch.from_numpy(t[f"{name}/gout/{i}"].astype(np.float64))).sum()
    total.backward()
    for i, x in enumerate(xs):
        res[f"grad_in{i}"] = rel_err(t[f"{name}/grad_in/{i}"], x.grad.numpy())
    for pname, p in params.items():
        g = p.grad.numpy() if p.grad is not None else np.zeros(p.shape)
        res[f"grad_{pname}"] = rel_err(t[f"{name}/grad_param/{pname}"], g)
    return res


def optim_case(t, cfg):
    name = cfg["name"]
    params = [torch.from_numpy(t[f"{name}/init/{i}"].astype(np.float64)).requires_grad_() for i in range(2)]
    targets = [torch.from_numpy(t[f"{name}/target/{i}"].astype(np.float64)) for i in range(2)]
    weights = [torch.from_numpy(t[f"{name}/weight/{i}"].astype(np.float64)) for i in range(2)]
    o = cfg["opt"]
    if o == "sgd":
        opt = torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg.get("momentum", 0), dampening=cfg.get("dampening", 0),
                              weight_decay=cfg.get("weight_decay", 0), nesterov=cfg.get("nesterov", False))
    elif o == "adam":
        opt = torch.optim.Adam(params, lr=cfg["lr"], betas=tuple(cfg["betas"]), eps=cfg["eps"],
                               weight_decay=cfg["weight_decay"])
    else:
        opt = torch.optim.AdamW(params, lr=cfg["lr"], betas=tuple(cfg["betas"]), eps=cfg["eps"],
                                weight_decay=cfg["weight_decay"])
    norms = []
    for _ in range(cfg["steps"]):
        opt.zero_grad()
        loss = sum((w * (p - tg) ** 2).sum() for p, tg, w in zip(params, targets, weights))
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, cfg["max_norm"])))
        opt.step()
    res = {f"final{i}": rel_err(t[f"{name}/final/{i}"], p.detach().numpy()) for i, p in enumerate(params)}
    res["clip_norms"] = rel_err(t[f"{name}/norms"], np.array(norms))
    return res


def run_case(t, cfg):
    return optim_case(t, cfg) if cfg["kind"] == "optim" else module_case(t, cfg)


if __name__ == "__main__":
    refcommon.main(run_case)

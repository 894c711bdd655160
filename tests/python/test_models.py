"""The shipped models through Python: the GPT's pieces agree with each other and with the `attn` command,
translations equal the command's, the ViT classifies a real Fashion-MNIST picture."""
import gzip
import os
import subprocess

import numpy as np
import pytest

import explore_attention as ea
from conftest import REPO

ATTN = os.environ.get("ATTN_BIN", str(REPO / "build/release/bin/attn"))


@pytest.fixture(scope="module")
def gpt():
    return ea.GPT.load(str(REPO / "models/gpt-moby-dick"))


def test_gpt_greedy_generation_follows_its_own_logits(gpt):
    prompt = "Call me Ishmael. "
    text = gpt.generate(prompt, max_new_tokens=12, temperature=0)
    ids = gpt.encode(prompt)
    for _ in range(12):  # greedy = argmax of the last row, token by token, without the cache
        ids.append(int(np.asarray(gpt.forward(ids))[0, -1].argmax()))
    assert gpt.decode(ids[len(gpt.encode(prompt)):]) == text
    assert gpt.decode(gpt.encode(prompt)) == prompt


def test_gpt_attention_is_causal_and_normalized(gpt):
    layers = gpt.attentions("the whale")
    c = gpt.config
    assert len(layers) == c["n_layer"]
    T = len(gpt.encode("the whale"))
    for a in layers:
        a = np.asarray(a)
        assert a.shape == (c["n_head"], T, T)
        np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-5)
        assert np.all(np.triu(a, 1) == 0)
    logits, per_layer = gpt.forward(gpt.encode("the whale"), output_attentions=True)
    np.testing.assert_allclose(np.asarray(per_layer[0])[0], np.asarray(layers[0]), atol=1e-6)


def test_gpt_loss_is_the_cross_entropy_of_its_logits(gpt):
    ids = gpt.encode("It was the best of times.")
    x, y = ids[:-1], ids[1:]
    logits = np.asarray(gpt.forward(x), dtype=np.float64)[0]
    logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) - logits.max(-1, keepdims=True)
    assert gpt.loss(x, y) == pytest.approx(-logp[np.arange(len(y)), y].mean(), rel=1e-4)
    names = gpt.module.named_parameters()
    assert "wte.weight" in names and names["wte.weight"].shape[0] == gpt.config["vocab_size"]


def test_gpt_generation_equals_the_command(gpt):
    out = subprocess.run([ATTN, "generate", "--model", str(REPO / "models/gpt-moby-dick"), "--prompt", "The sea",
                          "--max-new-tokens", "16", "--temperature", "0"], capture_output=True, text=True, check=True)
    assert gpt.generate("The sea", max_new_tokens=16, temperature=0) in out.stdout


def test_translation_equals_the_command():
    model = ea.TranslationModel.load(str(REPO / "models/translate-transformer"))
    sentence = "Das Haus ist sehr alt."
    out = subprocess.run([ATTN, "translate", "--model", str(REPO / "models/translate-transformer"), sentence],
                         capture_output=True, text=True, check=True)
    ours = model.translate(sentence)
    assert ours and ours in out.stdout
    assert model.translate([sentence, "Ich habe keine Zeit."], beam=3)[0]
    a = model.attention(sentence)
    L, H, T, S = a["cross"].shape
    assert (T, S) == (len(a["target_tokens"]), len(a["source_tokens"]))
    np.testing.assert_allclose(np.asarray(a["cross"]).sum(-1), 1.0, atol=1e-5)


def test_vit_classifies_real_pictures():
    vit = ea.ViT.load(str(REPO / "models/vit-fashion-mnist"))
    path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
    labels_path = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"
    if not os.path.exists(path):
        pytest.skip("dataset-fashion-mnist is not installed")
    with gzip.open(path) as f:
        pictures = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:50]
    with gzip.open(labels_path) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:50]
    batch = np.concatenate([np.asarray(vit.preprocess(p)) for p in pictures])
    logits, attentions = vit.forward(batch, output_attentions=True)
    assert np.mean(np.asarray(logits).argmax(-1) == labels) > 0.7
    a = np.asarray(attentions[0])
    assert a.shape[0] == 50 and a.shape[-1] == a.shape[-2]  # (B, H, T, T): the patches + CLS
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-5)
    assert len(vit.labels) == 10


def test_inline_views_embed_the_explorer_page(tmp_path):
    from explore_attention import show
    gpt = ea.GPT.load(str(REPO / "models/gpt-moby-dick"))
    v = show.model_view(gpt, "the whale")
    assert "window.ATTN_STATIC" in v.page and '"view":"model"' in v.page
    assert "<script src=" not in v.page and "http://" not in v.page.split("window.ATTN_STATIC")[0]  # no external assets
    frame = v._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "&lt;" in frame
    assert (tmp_path / "page.html").exists() is False and v.save(str(tmp_path / "page.html"))
    with pytest.raises(ValueError, match="view must be one of"):
        show.view(gpt, "the whale", view="sideways")
    with pytest.raises(ValueError, match="non-empty"):
        show.head_view(gpt, "")
    with pytest.raises(ValueError, match="no-such"):
        show.head_view("/no-such-model", "the whale")


def test_inline_generation_records_the_greedy_steps(gpt):
    import json
    from explore_attention import show
    v = show.generation(gpt, "Call me Ishmael. ", max_new_tokens=6)
    start = v.page.index("window.ATTN_STATIC = ") + len("window.ATTN_STATIC = ")
    statics = json.JSONDecoder().raw_decode(v.page[start:].replace("<\\/", "</"))[0]
    g = statics["generation"]
    assert statics["view"] == "generate" and g["request"]["prompt"] == "Call me Ishmael. "
    assert len(g["steps"]) == 6
    # the recorded tokens are the model's own greedy continuation, each step's attention over the tokens so far
    assert "".join(s["token"] for s in g["steps"]) == gpt.generate("Call me Ishmael. ", max_new_tokens=6, temperature=0)
    c = gpt.config
    for s in g["steps"]:
        assert s["shape"] == [c["n_layer"], c["n_head"], s["position"]]
    with pytest.raises(ValueError, match="max_new_tokens"):
        show.generation(gpt, "Call me", max_new_tokens=0)
    with pytest.raises(ValueError, match="prompt"):
        show.generation(gpt, "")


def test_vit_explanations_and_their_faithfulness():
    vit = ea.ViT.load(str(REPO / "models/vit-fashion-mnist"))
    path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
    if not os.path.exists(path):
        pytest.skip("dataset-fashion-mnist is not installed")
    with gzip.open(path) as f:
        pictures = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)[:20]
    x = vit.preprocess(pictures[0])
    logits = np.asarray(vit.forward(x))
    for method in ("raw_attention", "rollout", "relevance", "grad_x_input"):
        e = vit.explain(x, method)
        assert e["predicted"] == logits.argmax() and e["target"] == e["predicted"]
        assert e["scores"].shape[0] == e["scores"].shape[1] and np.isfinite(e["scores"]).all()
    assert vit.explain(x, "relevance", target=3)["target"] == 3
    with pytest.raises(ValueError, match="sideways"):
        vit.explain(x, "sideways")
    with gzip.open(path.replace("images-idx3", "labels-idx1")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:20]
    rows = vit.faithfulness(pictures, labels, ["random", "relevance"])
    assert [r["method"] for r in rows] == ["random", "relevance"]
    for r in rows:
        assert r["examples"] == 20 and 0 <= r["positive_auc"] <= 1 and r["positive"][0] >= r["positive"][-1]
    with pytest.raises(ValueError, match="labels"):
        vit.faithfulness(pictures, [0] * 3, ["random"])


def test_a_gpt_trained_from_python_with_a_callback_saves_and_loads(tmp_path):
    from explore_attention.train import train_gpt
    text = (REPO / "README.md").read_text()[:20000]
    gpt = ea.GPT.from_text(text, n_layer=1, n_head=2, n_embd=32, block_size=32, seed=1)
    seen = []
    history = train_gpt(gpt, text, steps=60, batch=8, lr=1e-2, eval_every=30, on_step=seen.append)
    assert [h["step"] for h in seen] == list(range(1, 61)) and seen == history
    assert history[-1]["loss"] < history[0]["loss"] - 0.5
    assert history[29]["val_loss"] is not None and history[28]["val_loss"] is None
    stopped = train_gpt(gpt, text, steps=50, batch=4, on_step=lambda info: info["step"] < 5)
    assert len(stopped) == 5
    gpt.save(str(tmp_path / "gpt"), '{"trainer": "python"}', 60)
    again = ea.GPT.load(str(tmp_path / "gpt"))
    ids = gpt.encode("the whale")
    np.testing.assert_allclose(np.asarray(again.forward(ids)), np.asarray(gpt.forward(ids)), atol=1e-6)
    out = subprocess.run([ATTN, "generate", "--model", str(tmp_path / "gpt"), "--prompt", "the", "--max-new-tokens", "8",
                          "--temperature", "0"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    with pytest.raises(ValueError, match="only a GPT made by GPT.from_text"):
        ea.GPT.load(str(REPO / "models/gpt-moby-dick")).save(str(tmp_path / "x"))
    with pytest.raises(ValueError, match="too short"):
        train_gpt(gpt, "abc", steps=2)


def test_clip_finds_emoji_by_their_names_and_explains_a_match():
    if not os.path.exists("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"):
        pytest.skip("fonts-noto-color-emoji is not installed")
    clip = ea.CLIP.load(str(REPO / "models/clip-emoji"))
    hits = clip.search("red heart", k=10)
    assert len(hits) == 10 and hits[0]["similarity"] >= hits[-1]["similarity"]
    assert any(h["name"] == "red heart" for h in hits), [h["name"] for h in hits]  # a training emoji: found
    assert hits[0]["pixels"].shape == (32, 32, 3)
    # The embeddings behind it: unit rows, the picture's cosine with its own name is the reported similarity.
    first = hits[0]
    img = np.asarray(clip.image_features(clip.preprocess(first["pixels"])))
    txt = np.asarray(clip.text_features(["red heart"]))
    np.testing.assert_allclose(np.linalg.norm(img, axis=1), 1.0, atol=1e-5)
    assert float(img @ txt.T) == pytest.approx(first["similarity"], abs=1e-4)
    e = clip.explain(first["pixels"], "red heart")
    assert e["image_relevance"].shape == (8, 8)
    assert e["words"] == ["red", "heart"] and len(e["word_relevance"]) == 2
    assert e["tokens"][0] == "<s>" and e["tokens"][-1] == "</s>"
    with pytest.raises(ValueError, match="split must be"):
        clip.search("cat", split="nope")

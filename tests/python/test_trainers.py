"""The library's training loops from Python: train_vit and train_translation (attn/trainers) with a callback per
step — what it is told, stopping from it, errors raised in it, resuming, bad options — on tiny configurations."""
import json
import math
import threading

import numpy as np
import pytest

import explore_attention as ea
from explore_attention import train

TINY_VIT = dict(embd=32, layers=1, heads=2, batch=64, train_images=512, val=200, test_images=300)


def test_vit_reports_every_step_and_each_epoch_then_scores_the_test_images(tmp_path):
    steps = []
    result = train.train_vit(str(tmp_path / "vit"), epochs=2, on_step=steps.append, **TINY_VIT)
    assert [s["step"] for s in steps] == list(range(1, 17))  # 512 images / 64 = 8 steps an epoch
    assert all(s["total_steps"] == 16 for s in steps)
    evals = [s for s in steps if s["val_loss"] is not None]
    assert [(s["step"], s["epoch"]) for s in evals] == [(8, 1), (16, 2)]
    assert all(0 <= s["val_accuracy"] <= 1 for s in evals)
    assert steps[0]["loss"] == pytest.approx(math.log(10), abs=0.2)  # ten classes, untrained
    assert evals[-1]["val_loss"] < math.log(10)                     # it learned something
    assert steps[-1]["lr"] < steps[8]["lr"]                          # the cosine went down
    assert result["images"] == 300 and result["steps"] == 16 and 0.15 < result["accuracy"] <= 1
    saved = json.loads((tmp_path / "vit" / "eval.json").read_text())
    assert saved["accuracy"] == result["accuracy"]
    vit = ea.ViT.load(str(tmp_path / "vit"))
    assert vit.config["hidden_size"] == 32


def test_vit_stopped_from_the_callback_resumes_to_the_end(tmp_path):
    out = str(tmp_path / "vit")
    stopped = train.train_vit(out, epochs=2, on_step=lambda s: s["step"] < 5, **TINY_VIT)
    assert stopped == {"stopped_at": 5, "steps": 16}
    seen = []
    done = train.train_vit(out, epochs=2, resume=True, on_step=seen.append, **TINY_VIT)
    assert done["steps"] == 16 and "accuracy" in done
    assert len(seen) == 11  # the remaining steps, counted from this run's start


def test_an_error_in_the_callback_stops_the_run_and_is_raised(tmp_path):
    def boom(info):
        if info["step"] == 3:
            raise RuntimeError("stop at 3")
    with pytest.raises(RuntimeError, match="stop at 3"):
        train.train_vit(str(tmp_path / "vit"), epochs=1, on_step=boom, **TINY_VIT)
    # the run checkpointed where it stopped, so nothing is lost
    assert json.loads((tmp_path / "vit" / "config.json").read_text())["attn_train"]["step"] == 3


def test_bad_options_name_themselves(tmp_path):
    with pytest.raises(ValueError, match="--embd 30 must be divisible by --heads 4"):
        train.train_vit(str(tmp_path / "a"), embd=30, heads=4)
    with pytest.raises(ValueError, match="--lr must be positive"):
        train.train_vit(str(tmp_path / "b"), lr=0)
    with pytest.raises(ValueError, match="--resume: no checkpoint"):
        train.train_vit(str(tmp_path / "c"), resume=True)
    with pytest.raises(TypeError, match="on_step must be callable"):
        train.train_vit(str(tmp_path / "d"), on_step=3)
    with pytest.raises(ValueError, match="--arch 'lstm' is not one of"):
        train.train_translation(str(tmp_path / "e"), arch="lstm")
    with pytest.raises(ValueError, match="--embed 30 must be divisible by --heads 4"):
        train.train_translation(str(tmp_path / "f"), embed=30)
    with pytest.raises(ValueError, match="--schedule 'linear'"):
        train.train_translation(str(tmp_path / "g"), schedule="linear")
    with pytest.raises(ValueError, match="no-such-file"):
        train.train_translation(str(tmp_path / "h"), data="/no-such-file", vocab=100)


def test_training_releases_the_gil(tmp_path):
    ticks, done = [0], threading.Event()

    def count():
        while not done.is_set():
            ticks[0] += 1

    t = threading.Thread(target=count)
    t.start()
    try:
        train.train_vit(str(tmp_path / "vit"), epochs=1, **TINY_VIT)  # no callback: the GIL stays released
    finally:
        done.set()
        t.join()
    assert ticks[0] > 10000


def test_translation_reports_steps_and_epochs_and_saves_a_model_that_translates(tmp_path):
    out = str(tmp_path / "tr")
    steps = []
    result = train.train_translation(out, vocab=500, embed=32, heads=2, layers=1, ff=64, max_tokens=24, epochs=2,
                                     eval_sentences=10, beam=2, time_limit_min=0,
                                     on_step=lambda s: steps.append(s) or len(steps) < 40)
    # stopped after 40 steps: the epoch ends there and reports its validation loss on that step
    assert [s["step"] for s in steps] == list(range(1, 41)) + [40]
    assert steps[-1]["val_loss"] is not None and all(s["val_loss"] is None for s in steps[:-1])
    assert all(s["epoch"] == 1 and s["total_steps"] is None for s in steps)
    assert steps[0]["loss"] > steps[38]["loss"]  # 500 subwords: ~6.2 nats at the start
    assert result["sentences"] == 10 and result["greedy"]["beam"] == 1 and result["beam"]["beam"] == 2
    assert result["steps"] == 40 and result["best_epoch"] == 1
    model = ea.TranslationModel.load(out)
    assert isinstance(model.translate("Ich habe keine Zeit."), str)
    assert len(result["examples"]) == 5


TINY_CLIP = dict(limit=300, batch=32, image_size=16, embd=16, layers=1, heads=2, text_embd=16, text_layers=1,
                 vocab=200, proj=16, warmup_epochs=0.5)


def test_clip_reports_steps_stops_resumes_and_scores_held_out_emoji(tmp_path):
    out = str(tmp_path / "clip")
    steps = []
    stopped = train.train_clip(out, epochs=2, on_step=lambda s: steps.append(s) or s["step"] < 3, **TINY_CLIP)
    assert stopped["stopped_at"] == 3
    total = stopped["steps"]
    assert [s["step"] for s in steps] == [1, 2, 3]
    assert all(math.isfinite(s["loss"]) and s["loss"] > 0 for s in steps)
    done = train.train_clip(out, epochs=2, resume=True, **TINY_CLIP)
    assert done["steps"] == total
    n = done["emoji"]
    assert done["random"]["r1"] == pytest.approx(1 / n)
    assert 0 <= done["image_to_text"]["r1"] <= done["image_to_text"]["r10"] <= 1
    clip = ea.CLIP.load(out)
    assert clip.config["image_size"] == 16
    with pytest.raises(ValueError, match="--batch must be at least 2"):
        train.train_clip(str(tmp_path / "b"), batch=1)

#!/usr/bin/python3
"""Writes the fuzz targets' seed inputs into fuzz/corpus/<target>/ (small valid files of every kind the parsers
read, most of them taken from the project's own shipped models); run from the repository root:

    /usr/bin/python3 fuzz/make_seeds.py

The corpus folders also keep, beside these seeds, every input that ever crashed a target (crash-*, added by
hand from scripts/fuzz.sh's findings with the fix): the replay tests (CTest fuzz_<target>) run them all."""
import gzip
import json
import pathlib
import shutil
import struct
import zlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "fuzz" / "corpus"


def put(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for name, (dtype, arr) in tensors.items():
        b = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


# safetensors: F32 / F16 / BF16 / F64, scalars and empty tensors, metadata
rng = np.random.default_rng(0)
w = rng.standard_normal((3, 4)).astype(np.float32)
put("safetensors", "f32.safetensors", safetensors({"w": ("F32", w), "b": ("F32", np.zeros(4, np.float32))},
                                                   {"format": "pt"}))
put("safetensors", "f16.safetensors", safetensors({"w": ("F16", w.astype(np.float16))}))
put("safetensors", "bf16.safetensors", safetensors({"w": ("BF16", (w.view(np.uint32) >> 16).astype(np.uint16))}))
put("safetensors", "f64-scalar-empty.safetensors",
    safetensors({"s": ("F64", np.array(2.5)), "e": ("F32", np.zeros((0, 3), np.float32))}))

# config.json of every model kind
for model in ["gpt-moby-dick", "gpt-words", "vit-fashion-mnist", "translate-transformer", "translate-bahdanau",
              "clip-emoji"]:
    f = ROOT / "models" / model / "config.json"
    if f.exists():
        put("model_configs", f"{model}.json", f.read_bytes())
put("model_configs", "hf-gpt2.json", json.dumps({
    "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 50257, "n_positions": 64, "n_embd": 32,
    "n_layer": 2, "n_head": 2, "n_inner": None, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"}))

# GPT-2's tokenizer: the 256 byte stand-ins and a few merges (encoder.json, a line "=====", vocab.bpe)
def byte_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}

stand_in = byte_to_unicode()
encoder = {stand_in[b]: b for b in range(256)}
merges = [("Ġ", "h"), ("e", "l"), ("el", "l"), ("Ġh", "ell"), ("o", "r")]
for a, b in merges:
    encoder[a + b] = len(encoder)
encoder["<|endoftext|>"] = len(encoder)
put("gpt2_tokenizer", "tiny.txt", json.dumps(encoder, ensure_ascii=False) + "\n=====\n#version: 0.2\n" +
    "".join(f"{a} {b}\n" for a, b in merges))

# the character tokenizer's file
f = ROOT / "models" / "gpt-moby-dick" / "tokenizer.json"
if f.exists():
    put("char_tokenizer", "gpt-moby-dick.json", f.read_bytes())
put("char_tokenizer", "tiny.json", json.dumps({"type": "char", "version": 1, "vocab": ["\n", " ", "a", "b", "é", "€"]}, ensure_ascii=False))

# a SentencePiece model: the shipped translation model's vocabulary
f = ROOT / "models" / "translate-transformer" / "spm.model"
if f.exists():
    put("sentencepiece", "translate-transformer.model", f.read_bytes())

# IDX files: 2 images of 3x3 and their labels, raw and gzip-compressed
images = struct.pack(">IIII", 0x00000803, 2, 3, 3) + bytes(range(18))
labels = struct.pack(">II", 0x00000801, 2) + bytes([3, 7])
put("idx", "images.idx", images)
put("idx", "labels.idx", labels)
put("idx", "images.idx.gz", gzip.compress(images, mtime=0))

# PNG: 2x2 RGB, 3x1 grey, 1x2 RGBA, 2x1 palette
def png(width, height, color_type, rows, palette=None):
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff)
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))
    if palette:
        out += chunk(b"PLTE", palette)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")

put("png", "rgb-2x2.png", png(2, 2, 2, [bytes([255, 0, 0, 0, 255, 0]), bytes([0, 0, 255, 255, 255, 255])]))
put("png", "grey-3x1.png", png(3, 1, 0, [bytes([0, 128, 255])]))
put("png", "rgba-1x2.png", png(1, 2, 6, [bytes([10, 20, 30, 40]), bytes([50, 60, 70, 255])]))
put("png", "palette-2x1.png", png(2, 1, 3, [bytes([0, 1])], palette=bytes([0, 0, 0, 255, 255, 255])))

# the explorer's requests: "METHOD /path?query" then the body
requests = {
    "info": "GET /api/info\n",
    "analyze": 'POST /api/analyze\n{"text": "call me ishmael."}',
    "analyze-masked": 'POST /api/analyze\n{"text": "some years ago", "masked": [1, 3]}',
    "attention": "GET /api/attention?id=a1&layer=0&head=mean\n",
    "attention-rollout": "GET /api/attention?id=a1&layer=1&head=rollout\n",
    "neuron": "GET /api/neuron?id=a1&layer=0&head=1&query=3\n",
    "head-types": "GET /api/head_types\n",
    "relevance": 'POST /api/relevance\n{"text": "the whale", "target": 3}',
    "generate-start": 'POST /api/generate/start\n{"prompt": "abc", "temperature": 0.8, "top_k": 5, "seed": 2}',
    "generate-next": 'POST /api/generate/next\n{"session": "s1"}',
    "generate-stop": 'POST /api/generate/stop\n{"session": "s1"}',
    "ablate": 'POST /api/ablate\n{"text": "hello there", "heads": [[0, 1]]}',
    "ablation-grid": 'POST /api/ablation_grid\n{"text": "hello there", "method": "zero"}',
    "logit-lens": 'POST /api/logit_lens\n{"text": "hello", "k": 3}',
    "patch": 'POST /api/patch\n{"clean": "ab cd", "corrupted": "ab ce", "target": 4}',
    "translate": 'POST /api/translate\n{"text": "Das Haus.", "beam": 2}',
    "image-gallery": "GET /api/image/gallery?offset=0&count=2\n",
    "unknown": "DELETE /api/nothing?x=1\n{}",
}
for name, r in requests.items():
    put("explorer", f"{name}.txt", r)
print("seeds written under", OUT)

# audio (fuzz_audio.cpp): a few small sound files of each kind libsndfile reads, made once with sox:
#   sox -n -r 8000 -c 1 -b 16 mono8k.wav synth 0.05 sine 440
#   sox -n -r 16000 -c 2 -b 16 stereo16k.wav synth 0.03 sine 300 sine 500
#   sox -n -r 22050 -c 1 -e floating-point -b 32 float.wav synth 0.02 sine 1000
#   sox -n -r 11025 -c 1 -b 8 -e unsigned u8.wav synth 0.05 sine 200
#   sox -n -r 16000 -c 1 tone.flac synth 0.05 sine 700
#   sox -n -r 16000 -c 1 tone.ogg synth 0.1 sine 700
#   sox -n -r 16000 -c 1 -b 16 silent.wav trim 0 0.02

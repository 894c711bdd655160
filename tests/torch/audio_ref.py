"""The log-mel spectrogram reference: torchaudio's MelSpectrogram + AmplitudeToDB (Debian's
python3-torchaudio), in float64, for the live cross-check of attn::audio::MelSpectrogram
(tests/torch/test_audio_vs_torch.cpp).

Each case holds a waveform "<case>/wave" (N samples) and our outputs "<case>/mel" (power, (n_mels, F)) and
"<case>/db" (decibels, (n_mels, F)); the case's options are MelOptions' fields. Reports the power's relative
error and the decibels' largest absolute difference (the issue's measure: within 1e-4 dB).
"""
import numpy as np
import torch
import torchaudio

import refcommon
from refcommon import rel_err

torch.set_default_dtype(torch.float64)  # the filter bank and the window are made in the default dtype


def run_case(t, case):
    o = case["options"]
    name = case["name"]
    wave = torch.from_numpy(np.asarray(t[name + "/wave"], dtype=np.float64))
    mel_t = torchaudio.transforms.MelSpectrogram(
        sample_rate=o["sample_rate"], n_fft=o["n_fft"], win_length=o["win_length"], hop_length=o["hop_length"],
        f_min=o["f_min"], f_max=o["f_max"], n_mels=o["n_mels"], power=2.0, center=o["center"],
        pad_mode="reflect", norm=None, mel_scale="htk")
    mel = mel_t(wave)                                                   # (n_mels, F)
    to_db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=o["top_db"] if o["top_db"] > 0 else None)
    db = to_db(mel)
    ours_db = np.asarray(t[name + "/db"], dtype=np.float64)
    if ours_db.shape != tuple(db.shape):
        return {"error": f"shape {ours_db.shape} vs torchaudio's {tuple(db.shape)}"}
    return {"mel": rel_err(t[name + "/mel"], mel.numpy()),
            "db_max_abs": float(np.abs(ours_db - db.numpy()).max())}


if __name__ == "__main__":
    refcommon.main(run_case)

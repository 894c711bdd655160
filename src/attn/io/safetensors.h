// Safetensors checkpoints: the file format Hugging Face uses for model weights.
//
// A .safetensors file is three parts, back to back:
//
//   offset 0       u64 N, little-endian             the length of the header in bytes
//   offset 8       N bytes of UTF-8 JSON            the header (see below), padded with spaces
//   offset 8 + N   the data buffer                  every tensor's raw little-endian bytes
//
// The header is one JSON object. Each key except "__metadata__" names a tensor:
//
//   {"__metadata__": {"format": "pt", "step": "1200"},                       (optional, strings only)
//    "decoder.weight": {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 48]},
//    "decoder.bias":   {"dtype": "F32", "shape": [3],    "data_offsets": [48, 60]}}
//
// data_offsets = [begin, end) is a byte range relative to the start of the data buffer, and
// end - begin = numel(shape) * sizeof(dtype). A 0-d tensor has shape [] and one element; an empty
// tensor has begin == end. The ranges tile the buffer exactly: no overlaps, no holes, nothing after.
// Because the header is plain JSON and the data is one flat buffer, a reader never runs code from the
// file (unlike Python pickles) and can check every size before it allocates anything.
//
// What this implementation does:
//   - writes F32 (the one dtype of attn::Tensor) or, to halve a shipped model, F16 / BF16 (rounded to
//     nearest even, as torch's .half() / .bfloat16()); tensors laid out in name order, the header
//     padded with spaces so that the data buffer starts at a multiple of 8 bytes (as Hugging Face does);
//   - writes atomically: a temporary file in the same directory, fsync, rename over the target, fsync
//     the directory — a crash mid-save leaves the previous checkpoint intact;
//   - reads F32, and also F16, BF16 and F64 (converted to float32), since published checkpoints use them;
//   - rejects every malformed file with attn::Error naming the file: truncation, an absurd header length
//     (over 100 MB), invalid JSON, missing or mistyped fields, sizes that do not match shapes, ranges
//     outside the buffer, overlaps, holes, duplicate names.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attn/core/tensor.h"

namespace attn::io {

// (name, tensor) pairs in a chosen order, like PyTorch's named_parameters().
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The contents of a checkpoint: every tensor as float32, sorted by name, and the "__metadata__" strings.
struct SafeTensors {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

// The largest header this reader accepts (Hugging Face's limit too); anything larger is corruption.
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// How tensors are stored on disk (in memory they are always float32).
enum class StoreDtype { F32, F16, BF16 };
// "F32"/"f32", "F16"/"f16", "BF16"/"bf16" (the safetensors names, or the command lines' lower case); attn::Error
// tagged `op` for anything else.
StoreDtype store_dtype_from(const std::string& name, const char* op);

// Writes `tensors` (float32, any shapes, names unique and not "__metadata__") to `path`, atomically,
// stored as `dtype`. Throws attn::Error naming the path and the system's reason on failure; the old file,
// if any, is kept.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {}, StoreDtype dtype = StoreDtype::F32);
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
// So that save_safetensors(path, {{"w", w}, {"b", b}}) picks one overload rather than being ambiguous.
void save_safetensors(const std::string& path, std::initializer_list<std::pair<std::string, Tensor>> tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads a checkpoint written by this library, by Hugging Face's safetensors, or by anything in between.
SafeTensors load_safetensors(const std::string& path);
// Only its "__metadata__" strings (a training checkpoint's step), reading the header and not the tensors;
// the file is checked as load_safetensors checks it, short of reading the tensors' bytes.
std::map<std::string, std::string> load_safetensors_metadata(const std::string& path);

// The same format in memory: the exact bytes save_safetensors writes, and a parser over bytes.
// `origin` only labels error messages.
std::string to_safetensors_bytes(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata = {},
                                 StoreDtype dtype = StoreDtype::F32);
SafeTensors from_safetensors_bytes(std::string_view bytes, const std::string& origin = "<memory>");

// Copies checkpoint values into existing tensors (a model's named parameters), like PyTorch's
// load_state_dict. Nothing is copied unless everything fits. With strict = true, names missing from the
// checkpoint and names the model does not have are errors; with strict = false they are skipped.
// A shape mismatch is always an error. One error lists every problem at once:
//   [load_state_dict] missing: a.weight; unexpected: b.bias; shape mismatch: c.weight checkpoint (3, 4) vs model (4, 3)
void load_into(const SafeTensors& checkpoint, NamedTensors& named_params, bool strict = true);

// The 16-bit float formats a checkpoint may hold, widened exactly to float32.
//   F16  (IEEE binary16): 1 sign, 5 exponent (bias 15), 10 mantissa bits; max 65504, has subnormals.
//   BF16 (bfloat16):      1 sign, 8 exponent (bias 127), 7 mantissa bits — the top half of a float32.
float f16_to_float(uint16_t bits);
float bf16_to_float(uint16_t bits);
// And narrowed back, rounding to nearest even; out-of-range values become ±inf (F16), NaN stays NaN.
uint16_t float_to_f16(float value);
uint16_t float_to_bf16(float value);

}  // namespace attn::io

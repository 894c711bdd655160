// Safetensors reading and writing (format described in safetensors.h).
//
// Reading is two passes over the header before any tensor data is touched: parse the JSON (rejecting
// duplicate keys, which plain JSON parsers silently merge), then validate every entry and check that the
// byte ranges tile the data buffer. Only then is memory allocated, and never more than the file holds.
#include "attn/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "attn/core/error.h"
#include "attn/io/atomic_file.h"

namespace attn::io {

// The data buffer is little-endian; on a little-endian machine its bytes are the floats themselves.
static_assert(std::endian::native == std::endian::little,
              "attn::io copies tensor bytes as they are; a big-endian port must byte-swap them");

namespace {

using json = nlohmann::json;

// A name or key for an error message: quoted, and cut short so that a corrupt file with a megabyte-long
// key does not produce a megabyte-long message.
std::string quote_name(std::string_view s) {
  constexpr size_t kMaxShown = 80;
  if (s.size() <= kMaxShown) return "'" + std::string(s) + "'";
  return "'" + std::string(s.substr(0, kMaxShown)) + "...' (" + std::to_string(s.size()) + " bytes)";
}

// ---- little-endian u64 (the header length) -------------------------------------------------------

std::string encode_u64_le(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

uint64_t decode_u64_le(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

// ---- writing -------------------------------------------------------------------------------------

// What a save writes: the 8-byte length and padded header, then the tensors' bytes in `order`.
struct WritePlan {
  std::string prefix;                // u64 N + N bytes of header
  std::vector<const Tensor*> order;  // tensors in data-buffer order (sorted by name)
  StoreDtype dtype = StoreDtype::F32;
};

const char* dtype_name(StoreDtype d) { return d == StoreDtype::F32 ? "F32" : d == StoreDtype::F16 ? "F16" : "BF16"; }
uint64_t dtype_size(StoreDtype d) { return d == StoreDtype::F32 ? 4 : 2; }

// A tensor's bytes as stored: the float32 values as they are, or narrowed to 16 bits (little-endian).
std::string stored_bytes(const Tensor& t, StoreDtype d) {
  const size_t n = static_cast<size_t>(t.numel());
  if (d == StoreDtype::F32) return std::string(reinterpret_cast<const char*>(t.data()), n * sizeof(float));
  std::string out(2 * n, '\0');
  for (size_t i = 0; i < n; ++i) {
    const uint16_t bits = d == StoreDtype::F16 ? float_to_f16(t.data()[i]) : float_to_bf16(t.data()[i]);
    out[2 * i] = static_cast<char>(bits & 0xffu);
    out[2 * i + 1] = static_cast<char>(bits >> 8);
  }
  return out;
}

WritePlan plan_write(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata, const char* op,
                     StoreDtype dtype = StoreDtype::F32) {
  // Sort by name so that the same model always gives the same bytes.
  std::vector<const std::pair<std::string, Tensor>*> sorted;
  sorted.reserve(tensors.size());
  for (const auto& entry : tensors) {
    ATTN_CHECK(entry.second.defined(), op, "tensor " << quote_name(entry.first) << " is undefined");
    ATTN_CHECK(entry.first != "__metadata__", op, "'__metadata__' is reserved by the format and cannot name a tensor");
    sorted.push_back(&entry);
  }
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
  for (size_t i = 1; i < sorted.size(); ++i)
    ATTN_CHECK(sorted[i]->first != sorted[i - 1]->first, op, "two tensors are named " << quote_name(sorted[i]->first));

  WritePlan plan;
  plan.dtype = dtype;
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;  // running position in the data buffer, in bytes
  for (const auto* entry : sorted) {
    const Tensor& t = entry->second;
    const uint64_t bytes = static_cast<uint64_t>(t.numel()) * dtype_size(dtype);
    header[entry->first] = {
        {"dtype", dtype_name(dtype)}, {"shape", t.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    plan.order.push_back(&t);
  }

  std::string text;
  try {
    text = header.dump();  // compact; throws on names or metadata that are not valid UTF-8
  } catch (const json::exception& e) {
    ATTN_FAIL(op, "a tensor name or metadata string is not valid UTF-8 (" << e.what() << ")");
  }
  // Pad with spaces (JSON whitespace) so the data buffer, at 8 + N, starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');
  plan.prefix = encode_u64_le(text.size()) + text;
  return plan;
}

std::string sys_error(int err) { return std::strerror(err); }

void save_plan(const std::string& path, const WritePlan& plan) {
  AtomicFile file(path, "save_safetensors");  // the previous checkpoint stays whole until commit()
  file.write(plan.prefix.data(), plan.prefix.size());
  for (const Tensor* t : plan.order) {
    if (plan.dtype == StoreDtype::F32) {
      file.write(t->data(), static_cast<size_t>(t->numel()) * sizeof(float));
    } else {
      file.write(stored_bytes(*t, plan.dtype));
    }
  }
  file.commit();
}

// ---- reading -------------------------------------------------------------------------------------

// Where the bytes of a checkpoint live: a file (read with pread) or memory. Callers check ranges first.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  virtual void read(uint64_t offset, uint64_t n, void* dst) const = 0;
};

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  void read(uint64_t offset, uint64_t n, void* dst) const override {
    if (n) std::memcpy(dst, bytes_.data() + offset, n);
  }

 private:
  std::string_view bytes_;
};

class FileSource : public ByteSource {
 public:
  explicit FileSource(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ATTN_CHECK(fd_ >= 0, "load_safetensors", "cannot open '" << path << "': " << sys_error(errno));
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      const int err = errno;
      ::close(fd_);
      ATTN_FAIL("load_safetensors", "cannot stat '" << path << "': " << sys_error(err));
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd_);
      ATTN_FAIL("load_safetensors",
                "'" << path << "' is not a regular file" << (S_ISDIR(st.st_mode) ? " (it is a directory)" : ""));
    }
    size_ = static_cast<uint64_t>(st.st_size);
  }
  ~FileSource() override { ::close(fd_); }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  uint64_t size() const override { return size_; }
  void read(uint64_t offset, uint64_t n, void* dst) const override {
    char* p = static_cast<char*>(dst);
    while (n > 0) {
      const ssize_t r = ::pread(fd_, p, std::min<uint64_t>(n, 1 << 30), static_cast<off_t>(offset));
      if (r < 0 && errno == EINTR) continue;
      ATTN_CHECK(r >= 0, "load_safetensors", "'" << path_ << "': read failed: " << sys_error(errno));
      ATTN_CHECK(r > 0, "load_safetensors", "'" << path_ << "': file shrank while being read");
      p += r;
      offset += static_cast<uint64_t>(r);
      n -= static_cast<uint64_t>(r);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// Every header problem is "[load_safetensors] <file>: <what>".
#define LOAD_CHECK(cond, msg) ATTN_CHECK(cond, "load_safetensors", origin << ": " << msg)

// One tensor's header entry, validated.
struct Entry {
  std::string name;
  std::string dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;  // [begin, end) in the data buffer
};

// Bytes per element of the dtypes this reader converts to float32; 0 for the others.
uint64_t loadable_dtype_size(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "F16" || dtype == "BF16") return 2;
  if (dtype == "F64") return 8;
  return 0;
}

// A JSON value for an error message, cut short like `quote_name`.
std::string short_dump(const json& v) {
  std::string s = v.dump();
  return s.size() <= 200 ? s : s.substr(0, 200) + "...";
}

// A JSON number that is a non-negative integer, or nothing.
std::optional<uint64_t> as_count(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}

// Parses the header text, with two checks during the parse, in a callback:
//  - nlohmann::json keeps the last of two equal keys; a checkpoint with two entries named alike is
//    corrupt, so the callback tracks the keys of every open object and rejects repeats;
//  - a valid header nests three levels deep ({name: {"shape": [...]}}); a corrupt one of nothing but
//    '[' would cost about 80 bytes of memory per byte of header, so nesting is capped.
json parse_header(std::string_view text, const std::string& origin) {
  constexpr int kMaxNesting = 8;
  std::vector<std::set<std::string>> open_objects;  // keys seen so far, one set per nesting level
  auto check_keys_and_depth = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start)
      LOAD_CHECK(depth < kMaxNesting, "the header nests deeper than " << kMaxNesting << " levels");
    if (event == json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      open_objects.pop_back();
    } else if (event == json::parse_event_t::key) {
      const auto& key = parsed.get_ref<const std::string&>();
      LOAD_CHECK(open_objects.back().insert(key).second, "the header repeats the key " << quote_name(key));
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), check_keys_and_depth);
  } catch (const json::exception& e) {
    LOAD_CHECK(false, "the header is not valid JSON: " << e.what());
  }
  return {};  // unreachable
}

Entry parse_entry(const std::string& name, const json& info, const std::string& origin) {
  Entry e;
  e.name = name;
  const std::string who = "tensor " + quote_name(name);
  LOAD_CHECK(info.is_object(), who << ": expected an object {dtype, shape, data_offsets}, got " << info.type_name());

  auto dtype = info.find("dtype");
  LOAD_CHECK(dtype != info.end(), who << " has no \"dtype\"");
  LOAD_CHECK(dtype->is_string(), who << ": \"dtype\" is a " << dtype->type_name() << ", expected a string");
  e.dtype = dtype->get<std::string>();
  const uint64_t elem_size = loadable_dtype_size(e.dtype);
  LOAD_CHECK(elem_size != 0, who << " has dtype " << quote_name(e.dtype)
                                 << ", which cannot be loaded as float32 (supported: F32, F16, BF16, F64)");

  auto shape = info.find("shape");
  LOAD_CHECK(shape != info.end(), who << " has no \"shape\"");
  LOAD_CHECK(shape->is_array(), who << ": \"shape\" is a " << shape->type_name() << ", expected an array");
  // numel = product of the sizes. Require the product of the non-zero sizes to fit in int64, so that
  // computing numel or strides in any order never overflows, even for a shape like (0, 2^40, 2^40).
  constexpr uint64_t kMaxCount = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t nonzero_product = 1;
  bool has_zero = false;
  for (const json& d : *shape) {
    LOAD_CHECK(!(d.is_number_integer() && !d.is_number_unsigned() && d.get<int64_t>() < 0),
               who << " has a negative size in shape " << short_dump(*shape));
    const auto size = as_count(d);
    LOAD_CHECK(size, who << ": shape " << short_dump(*shape) << " holds a non-integer");
    if (*size == 0) {
      has_zero = true;
    } else {
      const bool overflow = __builtin_mul_overflow(nonzero_product, *size, &nonzero_product);
      LOAD_CHECK(!overflow && nonzero_product <= kMaxCount, who << ": shape " << short_dump(*shape) << " is too large");
    }
    e.shape.push_back(static_cast<int64_t>(*size));
  }
  const uint64_t numel = has_zero ? 0 : nonzero_product;

  auto offsets = info.find("data_offsets");
  LOAD_CHECK(offsets != info.end(), who << " has no \"data_offsets\"");
  LOAD_CHECK(offsets->is_array() && offsets->size() == 2,
             who << ": \"data_offsets\" must be [begin, end], got " << short_dump(*offsets));
  const auto begin = as_count((*offsets)[0]);
  const auto end = as_count((*offsets)[1]);
  LOAD_CHECK(begin && end, who << ": \"data_offsets\" " << short_dump(*offsets) << " must be non-negative integers");
  LOAD_CHECK(*begin <= *end, who << ": \"data_offsets\" " << short_dump(*offsets) << " has begin after end");
  e.begin = *begin;
  e.end = *end;

  uint64_t bytes = 0;
  LOAD_CHECK(!__builtin_mul_overflow(numel, elem_size, &bytes) && e.end - e.begin == bytes,
             who << ": data_offsets [" << e.begin << ", " << e.end << "] span " << e.end - e.begin
                 << " bytes but shape " << shape_str(e.shape) << " of " << e.dtype << " needs " << numel << " x "
                 << elem_size << " bytes");
  return e;
}

// Converts n elements of `dtype` at `src` (little-endian bytes) to float32.
void convert_to_float(const std::string& dtype, const unsigned char* src, float* dst, uint64_t n) {
  if (dtype == "F32") {
    std::memcpy(dst, src, n * 4);
  } else if (dtype == "F16" || dtype == "BF16") {
    const bool is_f16 = dtype == "F16";
    for (uint64_t i = 0; i < n; ++i) {
      const uint16_t bits = static_cast<uint16_t>(src[2 * i] | (src[2 * i + 1] << 8));
      dst[i] = is_f16 ? f16_to_float(bits) : bf16_to_float(bits);
    }
  } else {  // F64
    constexpr double kMax = std::numeric_limits<float>::max();
    for (uint64_t i = 0; i < n; ++i) {
      double v;
      std::memcpy(&v, src + 8 * i, 8);
      // Out-of-range values become ±inf explicitly (a plain cast of them is undefined behaviour).
      dst[i] = std::isfinite(v) && std::fabs(v) > kMax ? std::copysign(std::numeric_limits<float>::infinity(), v)
                                                       : static_cast<float>(v);
    }
  }
}

// A header read and checked against the file's size: the metadata, each tensor's entry, and where the data
// buffer starts. Every check a load makes short of reading the tensors' bytes is made here.
struct Header {
  std::map<std::string, std::string> metadata;
  std::vector<Entry> entries;
  uint64_t data_start = 0;
};

Header read_header(const ByteSource& src, const std::string& origin) {
  const uint64_t file_size = src.size();
  LOAD_CHECK(file_size >= 8, "the file is " << file_size << " bytes, too short to hold the 8-byte header length");
  unsigned char len_bytes[8];
  src.read(0, 8, len_bytes);
  const uint64_t header_len = decode_u64_le(len_bytes);
  LOAD_CHECK(header_len <= kMaxHeaderBytes, "header length " << header_len << " exceeds the " << kMaxHeaderBytes
                                                             << "-byte limit (not a safetensors file, or corrupt)");
  LOAD_CHECK(header_len <= file_size - 8,
             "header length " << header_len << " runs past the end of the " << file_size << "-byte file (truncated?)");

  std::string text(header_len, '\0');
  src.read(8, header_len, text.data());
  // nlohmann::json stops at a NUL byte as if the input ended there; a header with one is corrupt.
  LOAD_CHECK(text.find('\0') == std::string::npos, "the header contains a NUL byte at offset " << 8 + text.find('\0'));
  const json header = parse_header(text, origin);
  LOAD_CHECK(header.is_object(), "the header is a JSON " << header.type_name() << ", expected an object");

  Header out;
  std::vector<Entry>& entries = out.entries;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      LOAD_CHECK(value.is_object(), "\"__metadata__\" is a " << value.type_name() << ", expected an object");
      for (const auto& [mkey, mvalue] : value.items()) {
        LOAD_CHECK(mvalue.is_string(), "\"__metadata__\" value for " << quote_name(mkey) << " is a "
                                                                     << mvalue.type_name() << ", expected a string");
        out.metadata[mkey] = mvalue.get<std::string>();
      }
    } else {
      entries.push_back(parse_entry(key, value, origin));
    }
  }

  // The ranges must tile [0, buffer_size) exactly: sorted by position, each starts where the last ended.
  const uint64_t data_start = 8 + header_len;
  const uint64_t buffer_size = file_size - data_start;
  for (const Entry& e : entries)
    LOAD_CHECK(e.end <= buffer_size, "tensor " << quote_name(e.name) << " has data_offsets [" << e.begin << ", "
                                               << e.end << "] outside the " << buffer_size
                                               << "-byte data buffer (truncated?)");
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return std::tie(a->begin, a->end, a->name) < std::tie(b->begin, b->end, b->name);
  });
  uint64_t covered = 0;  // bytes [0, covered) belong to the tensors seen so far
  const Entry* previous = nullptr;
  for (const Entry* e : by_offset) {
    LOAD_CHECK(e->begin >= covered, "tensor " << quote_name(e->name) << " [" << e->begin << ", " << e->end
                                              << ") overlaps tensor " << quote_name(previous->name) << " ["
                                              << previous->begin << ", " << previous->end << ")");
    LOAD_CHECK(e->begin == covered, "bytes [" << covered << ", " << e->begin << ") of the data buffer, before "
                                              << "tensor " << quote_name(e->name) << ", belong to no tensor");
    covered = e->end;
    previous = e;
  }
  LOAD_CHECK(covered == buffer_size, "the last " << buffer_size - covered << " bytes of the data buffer "
                                                 << "belong to no tensor");
  out.data_start = data_start;
  return out;
}

SafeTensors load_from(const ByteSource& src, const std::string& origin) {
  Header header = read_header(src, origin);
  SafeTensors out;
  out.metadata = std::move(header.metadata);
  const uint64_t data_start = header.data_start;
  // Everything checks out: each allocation below is bounded by bytes that exist in the file.
  std::vector<unsigned char> staging;
  for (const Entry& e : header.entries) {
    Tensor t = Tensor::empty(e.shape);
    const uint64_t bytes = e.end - e.begin;
    if (e.dtype == "F32") {
      src.read(data_start + e.begin, bytes, t.data());
    } else {
      staging.resize(bytes);
      src.read(data_start + e.begin, bytes, staging.data());
      convert_to_float(e.dtype, staging.data(), t.data(), static_cast<uint64_t>(t.numel()));
    }
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}

#undef LOAD_CHECK

NamedTensors to_named(const std::map<std::string, Tensor>& tensors) {
  return NamedTensors(tensors.begin(), tensors.end());
}

}  // namespace

// ---- public API ----------------------------------------------------------------------------------

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata, StoreDtype dtype) {
  save_plan(path, plan_write(tensors, metadata, "save_safetensors", dtype));
}

void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  save_safetensors(path, to_named(tensors), metadata);
}

void save_safetensors(const std::string& path, std::initializer_list<std::pair<std::string, Tensor>> tensors,
                      const std::map<std::string, std::string>& metadata) {
  save_safetensors(path, NamedTensors(tensors), metadata);
}

SafeTensors load_safetensors(const std::string& path) { return load_from(FileSource(path), "'" + path + "'"); }

std::map<std::string, std::string> load_safetensors_metadata(const std::string& path) {
  return read_header(FileSource(path), "'" + path + "'").metadata;
}

std::string to_safetensors_bytes(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata,
                                 StoreDtype dtype) {
  const WritePlan plan = plan_write(tensors, metadata, "to_safetensors_bytes", dtype);
  std::string out = plan.prefix;
  for (const Tensor* t : plan.order) out += stored_bytes(*t, dtype);
  return out;
}

SafeTensors from_safetensors_bytes(std::string_view bytes, const std::string& origin) {
  return load_from(MemorySource(bytes), origin);
}

void load_into(const SafeTensors& checkpoint, NamedTensors& named_params, bool strict) {
  constexpr const char* op = "load_state_dict";
  std::vector<std::string> missing, unexpected, mismatched;
  std::set<std::string> model_names;
  for (const auto& [name, param] : named_params) {
    ATTN_CHECK(param.defined(), op, "model tensor " << quote_name(name) << " is undefined");
    ATTN_CHECK(model_names.insert(name).second, op, "the model has two tensors named " << quote_name(name));
    auto found = checkpoint.tensors.find(name);
    if (found == checkpoint.tensors.end()) missing.push_back(name);
    else if (found->second.shape() != param.shape())
      mismatched.push_back(name + " checkpoint " + shape_str(found->second.shape()) + " vs model " +
                           shape_str(param.shape()));
  }
  for (const auto& entry : checkpoint.tensors)
    if (!model_names.count(entry.first)) unexpected.push_back(entry.first);

  // One message with every problem, so a renamed layer shows up as its missing/unexpected pair.
  std::string problems;
  auto add = [&](const char* label, const std::vector<std::string>& names) {
    if (names.empty()) return;
    if (!problems.empty()) problems += "; ";
    problems += label;
    for (size_t i = 0; i < names.size(); ++i) problems += (i ? ", " : " ") + names[i];
  };
  if (strict) add("missing:", missing);
  if (strict) add("unexpected:", unexpected);
  add("shape mismatch:", mismatched);
  ATTN_CHECK(problems.empty(), op, problems);

  for (auto& [name, param] : named_params) {
    auto found = checkpoint.tensors.find(name);
    if (found != checkpoint.tensors.end()) param.copy_(found->second);
  }
}

// ---- 16-bit floats -------------------------------------------------------------------------------

float f16_to_float(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1fu;  // biased by 15
  const uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0x1f)  // inf or NaN: all-ones exponent in float32 too, keep the payload
    return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0)  // normal: re-bias the exponent from 15 to 127, widen the mantissa from 10 to 23 bits
    return std::bit_cast<float>(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
  // zero or subnormal: value = mantissa * 2^-24, exact in float32
  const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  return sign ? -magnitude : magnitude;
}

float bf16_to_float(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

// Narrowing, round to nearest, ties to even (what torch's .half() and .bfloat16() do).
uint16_t float_to_bf16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);  // NaN stays NaN (quiet)
  // Add half of the dropped 16 bits' range, plus 1 if the kept lowest bit is odd (ties to even), then cut.
  const uint32_t rounded = bits + 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(rounded >> 16);
}

uint16_t float_to_f16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs = bits & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);   // NaN
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds past 65504: inf (inf stays inf)
  if (abs < 0x38800000u) {
    // Below the smallest normal half (2^-14): a subnormal, value = m · 2^-24; rint rounds ties to even.
    const float m = std::rint(std::bit_cast<float>(abs) * 16777216.0f);  // exact scaling by 2^24
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(m));
  }
  // Normal: re-bias the exponent from 127 to 15 and keep the top 10 mantissa bits, rounding the 13 dropped
  // bits to nearest even (a carry out of the mantissa correctly bumps the exponent).
  const uint32_t rebased = abs - ((127u - 15u) << 23);
  const uint32_t rounded = rebased + 0xfffu + ((rebased >> 13) & 1u);
  return static_cast<uint16_t>(sign | (rounded >> 13));
}

StoreDtype store_dtype_from(const std::string& name, const char* op) {
  if (name == "F32" || name == "f32") return StoreDtype::F32;
  if (name == "F16" || name == "f16") return StoreDtype::F16;
  if (name == "BF16" || name == "bf16") return StoreDtype::BF16;
  ATTN_FAIL(op, "dtype must be F32, F16 or BF16, got " << name);
}

}  // namespace attn::io

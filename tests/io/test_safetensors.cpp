// Safetensors checkpoints: round trips, the on-disk layout, atomic saves, and a reader that turns every
// malformed file into attn::Error (truncations, corrupt headers, random bytes) instead of a crash.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numbers>
#include <random>
#include <sstream>

#include "attn/core/error.h"
#include "attn/core/rng.h"
#include "attn/io/safetensors.h"
#include "test_util.h"

namespace attn::io {
namespace {

namespace fs = std::filesystem;

// An empty scratch directory for one test (ctest may run tests in parallel, so one per test).
std::string fresh_dir(const std::string& name) { return attn::testing::fresh_dir("io_" + name); }

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_bytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A file built by hand: the 8-byte little-endian length, `header` as given, then `data`.
std::string make_file(const std::string& header, const std::string& data = "") {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string le_u64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

template <typename T>
std::string raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// A file with one tensor "t" whose header entry holds `fields`, followed by `data_bytes` zero bytes.
std::string file_with_t(const std::string& fields, size_t data_bytes) {
  return make_file(R"({"t": {)" + fields + "}}", std::string(data_bytes, '\0'));
}

// Parses `bytes` and expects an attn::Error whose message contains every piece of `expected`.
void expect_load_error(const std::string& bytes, std::initializer_list<std::string> expected) {
  try {
    from_safetensors_bytes(bytes, "test.safetensors");
    ADD_FAILURE() << "no error for a file of " << bytes.size() << " bytes";
  } catch (const attn::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("[load_safetensors] test.safetensors"), std::string::npos) << msg;
    for (const auto& piece : expected) EXPECT_NE(msg.find(piece), std::string::npos) << msg;
  }
}

// Parses possibly corrupt bytes: success and attn::Error are both fine; any other exception fails the
// test (gtest reports it) and a crash fails the run. Returns whether it threw.
bool parse_or_error(std::string_view bytes) {
  try {
    SafeTensors st = from_safetensors_bytes(bytes);
    for (const auto& [name, t] : st.tensors) EXPECT_GE(t.numel(), 0);
    return false;
  } catch (const attn::Error&) {
    return true;
  }
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && (a.numel() == 0 || std::memcmp(a.data(), b.data(), a.numel() * sizeof(float)) == 0);
}

// A small model-like set: matrices, a vector, a 0-d scalar, empty tensors, special float values.
NamedTensors sample_tensors() {
  Generator gen(7);
  const float inf = std::numeric_limits<float>::infinity();
  return {
      {"encoder.weight", Tensor::randn({3, 4}, gen)},
      {"encoder.bias", Tensor::randn({4}, gen)},
      {"temperature", Tensor::scalar(0.125f)},
      {"empty", Tensor::zeros({0})},
      {"empty_3d", Tensor::zeros({2, 0, 3})},
      {"specials", Tensor::from_vector({std::nanf(""), inf, -inf, -0.f, 1e-45f, 3.4e38f}, {2, 3})},
      {"a.first_in_order", Tensor::ones({1, 1, 1})},
  };
}

// ---- round trips and layout ----------------------------------------------------------------------

TEST(IoSafetensors, RoundTripKeepsValuesShapesAndMetadata) {
  const std::string path = fresh_dir("round_trip") + "/model.safetensors";
  const NamedTensors tensors = sample_tensors();
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"step", "1200"}, {"note", "ünïcode ✓"}};
  save_safetensors(path, tensors, metadata);

  const SafeTensors loaded = load_safetensors(path);
  EXPECT_EQ(loaded.metadata, metadata);
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(loaded.tensors.count(name)) << name;
    EXPECT_TRUE(same_bits(loaded.tensors.at(name), t)) << name;
  }
  EXPECT_EQ(loaded.tensors.at("temperature").dim(), 0);
  EXPECT_FLOAT_EQ(loaded.tensors.at("temperature").item(), 0.125f);
  EXPECT_EQ(loaded.tensors.at("empty_3d").shape(), (Shape{2, 0, 3}));
  EXPECT_EQ(load_safetensors_metadata(path), metadata);  // the header alone gives the same metadata
}

TEST(IoSafetensors, RoundTripWithoutTensorsOrMetadata) {
  const std::string path = fresh_dir("round_trip_empty") + "/nothing.safetensors";
  save_safetensors(path, NamedTensors{});
  const SafeTensors loaded = load_safetensors(path);
  EXPECT_TRUE(loaded.tensors.empty());
  EXPECT_TRUE(loaded.metadata.empty());
  EXPECT_EQ(read_bytes(path).size(), 16u);  // "{}" padded to 8 bytes
}

TEST(IoSafetensors, MapAndBracedListOverloadsWriteTheSameBytes) {
  const std::string dir = fresh_dir("overloads");
  Tensor w = Tensor::arange(6).reshape({2, 3});
  Tensor b = Tensor::ones({3});
  save_safetensors(dir + "/list.safetensors", {{"w", w}, {"b", b}});
  save_safetensors(dir + "/map.safetensors", std::map<std::string, Tensor>{{"b", b}, {"w", w}});
  EXPECT_EQ(read_bytes(dir + "/list.safetensors"), read_bytes(dir + "/map.safetensors"));
}

TEST(IoSafetensors, ViewsSaveTheirOwnElements) {
  // reshape() shares storage; the saved bytes must be the view's elements.
  Tensor base = Tensor::arange(12);
  Tensor view = base.reshape({3, 4});
  const SafeTensors st = from_safetensors_bytes(to_safetensors_bytes({{"v", view}}));
  EXPECT_EQ(st.tensors.at("v").to_vector(), base.to_vector());
}

TEST(IoSafetensors, HeaderIsPaddedTo8BytesAndDataIsInNameOrder) {
  const std::string bytes = to_safetensors_bytes(sample_tensors(), {{"format", "pt"}});
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  EXPECT_EQ(n % 8, 0u);
  ASSERT_LE(8 + n, bytes.size());
  const std::string header = bytes.substr(8, n);
  EXPECT_EQ(header.front(), '{');
  EXPECT_EQ(header.find_last_not_of(' '), header.rfind('}'));  // only spaces after the JSON

  const auto json = nlohmann::json::parse(header);
  EXPECT_EQ(json["__metadata__"]["format"], "pt");
  uint64_t expected_begin = 0;
  std::string previous_name;
  for (const auto& [name, info] : json.items()) {  // nlohmann iterates keys in sorted order
    if (name == "__metadata__") continue;
    EXPECT_LT(previous_name, name);
    EXPECT_EQ(info["dtype"], "F32");
    EXPECT_EQ(info["data_offsets"][0].get<uint64_t>(), expected_begin) << name;
    expected_begin = info["data_offsets"][1].get<uint64_t>();
    previous_name = name;
  }
  EXPECT_EQ(8 + n + expected_begin, bytes.size());
}

TEST(IoSafetensors, SameTensorsGiveSameBytesWhateverTheOrder) {
  NamedTensors tensors = sample_tensors();
  const std::string forward = to_safetensors_bytes(tensors);
  std::reverse(tensors.begin(), tensors.end());
  EXPECT_EQ(to_safetensors_bytes(tensors), forward);
}

TEST(IoSafetensors, SaveRejectsBadNames) {
  const Tensor t = Tensor::ones({2});
  EXPECT_THROW(to_safetensors_bytes({{"a", t}, {"a", t}}), attn::Error);
  EXPECT_THROW(to_safetensors_bytes({{"__metadata__", t}}), attn::Error);
  EXPECT_THROW(to_safetensors_bytes({{"undefined", Tensor()}}), attn::Error);
  EXPECT_THROW(to_safetensors_bytes({{std::string("bad\xff utf8"), t}}), attn::Error);
}

// ---- atomic saves ----------------------------------------------------------------------------------

TEST(IoSafetensors, SaveLeavesNoTemporaryFile) {
  const std::string dir = fresh_dir("no_temp");
  save_safetensors(dir + "/a.safetensors", sample_tensors());
  save_safetensors(dir + "/a.safetensors", sample_tensors());  // over an existing file
  EXPECT_EQ(files_in(dir), std::vector<std::string>{"a.safetensors"});
}

TEST(IoSafetensors, SaveIntoMissingDirectoryFailsNamingThePath) {
  const std::string path = fresh_dir("missing_dir") + "/no/such/dir/model.safetensors";
  try {
    save_safetensors(path, sample_tensors());
    FAIL() << "expected an error";
  } catch (const attn::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::strerror(ENOENT)), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(fs::path(path).parent_path()));
}

TEST(IoSafetensors, FailedWriteKeepsTheOldFileAndRemovesTheTemporary) {
  // Make write(2) fail part-way with EFBIG by lowering the file-size limit (works even as root, where
  // directory permissions do not stop writes). SIGXFSZ would kill the process; ignore it meanwhile.
  const std::string dir = fresh_dir("failed_write");
  const std::string path = dir + "/model.safetensors";
  save_safetensors(path, {{"old", Tensor::full({4}, 1.f)}});
  const std::string old_bytes = read_bytes(path);

  const std::string message = attn::testing::error_under_file_size_limit(4096, [&] {
    save_safetensors(path, {{"new", Tensor::zeros({100000})}});  // 400 kB > 4 kB
  });

  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find(std::strerror(EFBIG)), std::string::npos) << message;
  EXPECT_EQ(read_bytes(path), old_bytes);
  EXPECT_EQ(files_in(dir), std::vector<std::string>{"model.safetensors"});
  EXPECT_EQ(load_safetensors(path).tensors.at("old").to_vector(), (std::vector<float>{1, 1, 1, 1}));
}

TEST(IoSafetensors, SaveIntoReadOnlyDirectoryKeepsTheOldFile) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  const std::string dir = fresh_dir("read_only");
  const std::string path = dir + "/model.safetensors";
  save_safetensors(path, {{"old", Tensor::ones({2})}});
  const std::string old_bytes = read_bytes(path);
  ASSERT_EQ(chmod(dir.c_str(), 0555), 0);
  std::string message;
  try {
    save_safetensors(path, sample_tensors());
  } catch (const attn::Error& e) {
    message = e.what();
  }
  chmod(dir.c_str(), 0755);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find(std::strerror(EACCES)), std::string::npos) << message;
  EXPECT_EQ(read_bytes(path), old_bytes);
  EXPECT_EQ(files_in(dir), std::vector<std::string>{"model.safetensors"});
}

TEST(IoSafetensors, FailedRenameRemovesTheTemporary) {
  // The target is a directory: everything up to rename(2) succeeds, the rename fails.
  const std::string dir = fresh_dir("failed_rename");
  fs::create_directory(dir + "/model.safetensors");
  EXPECT_THROW(save_safetensors(dir + "/model.safetensors", sample_tensors()), attn::Error);
  EXPECT_EQ(files_in(dir), std::vector<std::string>{"model.safetensors"});
  EXPECT_TRUE(fs::is_directory(dir + "/model.safetensors"));
}

// ---- malformed files ---------------------------------------------------------------------------------

TEST(IoSafetensors, LoadErrorsNameTheFile) {
  const std::string dir = fresh_dir("load_errors");
  try {
    load_safetensors(dir + "/absent.safetensors");
    FAIL() << "expected an error";
  } catch (const attn::Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/absent.safetensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::strerror(ENOENT)), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_safetensors(dir), attn::Error);  // a directory

  write_bytes(dir + "/short.safetensors", "abc");
  try {
    load_safetensors(dir + "/short.safetensors");
    FAIL() << "expected an error";
  } catch (const attn::Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir + "/short.safetensors"), std::string::npos) << e.what();
  }
}

TEST(IoSafetensors, FileShorterThanTheLengthField) {
  for (size_t n = 0; n < 8; ++n) expect_load_error(std::string(n, '\0'), {"too short"});
}

TEST(IoSafetensors, HeaderLengthBeyondTheFileOrAbsurd) {
  expect_load_error(le_u64(1ull << 40) + "{}", {"exceeds"});
  expect_load_error(le_u64(~0ull) + "{}", {"exceeds"});
  expect_load_error(le_u64(100) + "{}", {"runs past the end"});
  expect_load_error(le_u64(kMaxHeaderBytes + 1), {"exceeds"});
}

TEST(IoSafetensors, HeaderThatIsNotAJsonObject) {
  expect_load_error(make_file("{not json"), {"not valid JSON"});
  expect_load_error(make_file(""), {"not valid JSON"});
  expect_load_error(make_file(std::string("{}\0   ", 6)), {"NUL byte"});  // an embedded NUL is not JSON whitespace
  expect_load_error(make_file(std::string("{\"a\xff\": 1}")), {"not valid JSON"});
  expect_load_error(make_file("[1, 2]"), {"expected an object"});
  expect_load_error(make_file("{} {}"), {"not valid JSON"});
}

TEST(IoSafetensors, DeepNestingIsRejectedBeforeItCostsMemory) {
  expect_load_error(make_file(std::string(1 << 20, '[')), {"nests deeper than 8 levels"});
  // Unknown fields may nest a little (8 levels in all); one more level is refused.
  const std::string fields = R"("dtype": "F32", "shape": [], "data_offsets": [0, 4], "extra": )";
  EXPECT_NO_THROW(from_safetensors_bytes(file_with_t(fields + "[[[[[[1]]]]]]", 4)));
  expect_load_error(file_with_t(fields + "[[[[[[[1]]]]]]]", 4), {"nests deeper"});
}

TEST(IoSafetensors, MissingOrMistypedFields) {
  expect_load_error(make_file(R"({"t": 5})", std::string(4, '\0')), {"'t'", "expected an object"});
  expect_load_error(file_with_t(R"("shape": [1], "data_offsets": [0, 4])", 4), {"'t'", "no \"dtype\""});
  expect_load_error(file_with_t(R"("dtype": "F32", "data_offsets": [0, 4])", 4), {"'t'", "no \"shape\""});
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": [1])", 4), {"'t'", "no \"data_offsets\""});
  expect_load_error(file_with_t(R"("dtype": 32, "shape": [1], "data_offsets": [0, 4])", 4), {"dtype"});
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": "1", "data_offsets": [0, 4])", 4), {"shape"});
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": [1.0], "data_offsets": [0, 4])", 4), {"non-integer"});
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": [null], "data_offsets": [0, 4])", 4), {"non-integer"});
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8])", 4), {"[begin, end]"});
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": [1], "data_offsets": {"a": 1})", 4), {"[begin, end]"});
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": [1], "data_offsets": [-4, 0])", 4), {"non-negative"});
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": [1], "data_offsets": [4, 0])", 4), {"begin after end"});
  expect_load_error(make_file(R"({"__metadata__": {"k": 1}})"), {"__metadata__", "'k'", "expected a string"});
  expect_load_error(make_file(R"({"__metadata__": ["k"]})"), {"__metadata__"});
}

TEST(IoSafetensors, NegativeAndOverflowingDims) {
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": [-1, 4], "data_offsets": [0, 0])", 0), {"'t'", "negative"});
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 0])", 0),
                    {"too large"});
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": [18446744073709551615], "data_offsets": [0, 0])", 0),
                    {"too large"});
  // numel 0, but computing the product left to right would overflow before reaching the 0.
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": [4294967296, 4294967296, 0], "data_offsets": [0, 0])", 0),
                    {"too large"});
  // numel fits in int64 but numel * 8 bytes does not fit in uint64.
  expect_load_error(file_with_t(R"("dtype": "F64", "shape": [4611686018427387904], "data_offsets": [0, 0])", 0),
                    {"needs"});
}

TEST(IoSafetensors, SizeThatDisagreesWithShape) {
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12])", 12),
                    {"'t'", "12 bytes", "(2, 2)", "4 x 4"});
  expect_load_error(file_with_t(R"("dtype": "F16", "shape": [3], "data_offsets": [0, 12])", 12), {"'t'", "F16"});
}

TEST(IoSafetensors, OffsetsOutsideTheBuffer) {
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": [2], "data_offsets": [0, 8])", 4), {"'t'", "outside"});
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": [0], "data_offsets": [100, 100])", 0), {"outside"});
  expect_load_error(
      file_with_t(R"("dtype": "F32", "shape": [1], "data_offsets": [18446744073709551612, 18446744073709551615])", 0),
      {});
}

TEST(IoSafetensors, OverlapsHolesAndTrailingBytes) {
  const std::string zeros8(8, '\0'), zeros12(12, '\0');
  expect_load_error(make_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                              zeros12),
                    {"overlaps"});
  expect_load_error(make_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})",
                              zeros8),
                    {"overlaps"});
  expect_load_error(make_file(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                                  "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
                              zeros12),
                    {"belong to no tensor"});
  expect_load_error(file_with_t(R"("dtype": "F32", "shape": [1], "data_offsets": [4, 8])", 8), {"belong to no tensor"});
  // An empty tensor sitting inside another's range is an overlap too.
  expect_load_error(make_file(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                  "e": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]}})",
                              zeros8),
                    {});
  expect_load_error(to_safetensors_bytes(sample_tensors()) + "junk", {"last 4 bytes", "belong to no tensor"});
}

TEST(IoSafetensors, DuplicateNamesAreAnError) {
  // Plain JSON parsing would keep only the second "w"; a checkpoint like that is corrupt.
  expect_load_error(make_file(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                                  "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                              std::string(8, '\0')),
                    {"repeats the key 'w'"});
  expect_load_error(make_file(R"({"__metadata__": {"k": "1", "k": "2"}})"), {"repeats the key 'k'"});
}

TEST(IoSafetensors, UnsupportedDtypeNamesTensorAndDtype) {
  expect_load_error(file_with_t(R"("dtype": "I64", "shape": [1], "data_offsets": [0, 8])", 8), {"'t'", "'I64'"});
  expect_load_error(file_with_t(R"("dtype": "Q4_0", "shape": [1], "data_offsets": [0, 1])", 1), {"'t'", "'Q4_0'"});
}

TEST(IoSafetensors, UnknownFieldsInAnEntryAreIgnoredAsHuggingFaceDoes) {
  const SafeTensors st = from_safetensors_bytes(make_file(
      R"({"t": {"dtype": "F32", "shape": [], "data_offsets": [0, 4], "extra": [1, {"x": 2}]}})", raw<float>({2.5f})));
  EXPECT_EQ(st.tensors.at("t").item(), 2.5f);
}

// ---- robustness: every truncation, byte flips, random bytes -----------------------------------------

TEST(IoSafetensors, EveryTruncationIsAnError) {
  const std::string dir = fresh_dir("truncation");
  const std::string full = to_safetensors_bytes(sample_tensors(), {{"format", "pt"}});
  for (size_t len = 0; len < full.size(); ++len) {
    EXPECT_TRUE(parse_or_error(std::string_view(full).substr(0, len))) << "length " << len;
    // And through the file reader, every few lengths.
    if (len % 7 == 0 || len < 16) {
      write_bytes(dir + "/cut.safetensors", full.substr(0, len));
      EXPECT_THROW(load_safetensors(dir + "/cut.safetensors"), attn::Error) << "length " << len;
      // Reading only the metadata does not read the tensors, yet a cut file is refused all the same.
      EXPECT_THROW(load_safetensors_metadata(dir + "/cut.safetensors"), attn::Error) << "length " << len;
    }
  }
  EXPECT_FALSE(parse_or_error(full));
}

TEST(IoSafetensors, FlippedHeaderBytesNeverCrash) {
  const std::string full = to_safetensors_bytes(sample_tensors(), {{"format", "pt"}});
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(full[i])) << (8 * i);
  int errors = 0, cases = 0;
  for (size_t pos = 0; pos < 8 + n; ++pos) {
    for (unsigned char mask : {0x01, 0x20, 0x80, 0xff}) {
      std::string bytes = full;
      bytes[pos] = static_cast<char>(bytes[pos] ^ mask);
      errors += parse_or_error(bytes);
      ++cases;
    }
  }
  // Most flips break the JSON or a size; some (a letter in a name, a metadata value) are harmless.
  EXPECT_GT(errors, cases / 2);
}

TEST(IoSafetensors, RandomBytesNeverCrash) {
  std::mt19937_64 rng(12345);
  const std::string valid = to_safetensors_bytes(sample_tensors(), {{"format", "pt"}});
  auto random_byte = [&] { return static_cast<char>(rng() & 0xff); };
  for (int iter = 0; iter < 600; ++iter) {
    std::string bytes;
    switch (iter % 4) {
      case 0: {  // pure noise
        bytes.resize(rng() % 300);
        for (char& c : bytes) c = random_byte();
        break;
      }
      case 1: {  // a plausible length, then noise
        const uint64_t n = rng() % 200;
        bytes = le_u64(n);
        bytes.resize(8 + n + rng() % 64);
        for (size_t i = 8; i < bytes.size(); ++i) bytes[i] = random_byte();
        break;
      }
      case 2: {  // a valid file with a few random bytes changed
        bytes = valid;
        for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k) bytes[rng() % bytes.size()] = random_byte();
        break;
      }
      default: {  // a valid header with JSON-ish characters sprinkled in, and a random length change
        bytes = valid;
        const char* json_chars = "{}[]\",:0123456789-e. ";
        for (int k = 1 + static_cast<int>(rng() % 3); k > 0; --k)
          bytes[8 + rng() % (bytes.size() - 8)] = json_chars[rng() % std::strlen(json_chars)];
        if (rng() % 2) bytes.resize(bytes.size() - 8 + rng() % 16);
        break;
      }
    }
    parse_or_error(bytes);
  }
}

// ---- dtypes other than F32 -----------------------------------------------------------------------------

TEST(IoSafetensors, F16AndBF16KnownValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(f16_to_float(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_float(0xc000), -2.0f);
  EXPECT_EQ(f16_to_float(0x3800), 0.5f);
  EXPECT_EQ(f16_to_float(0x3555), 0.333251953125f);
  EXPECT_EQ(f16_to_float(0x7bff), 65504.0f);                  // largest finite half
  EXPECT_EQ(f16_to_float(0x0400), std::ldexp(1.0f, -14));     // smallest normal
  EXPECT_EQ(f16_to_float(0x0001), std::ldexp(1.0f, -24));     // smallest subnormal
  EXPECT_EQ(f16_to_float(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(f16_to_float(0x0000), 0.0f);
  EXPECT_TRUE(std::signbit(f16_to_float(0x8000)));
  EXPECT_EQ(f16_to_float(0x7c00), inf);
  EXPECT_EQ(f16_to_float(0xfc00), -inf);
  EXPECT_TRUE(std::isnan(f16_to_float(0x7e00)));

  EXPECT_EQ(bf16_to_float(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_float(0xc000), -2.0f);
  EXPECT_EQ(bf16_to_float(0x4049), 3.140625f);
  EXPECT_EQ(bf16_to_float(0x7f80), inf);
  EXPECT_EQ(bf16_to_float(0x0001), std::ldexp(1.0f, -133));
  EXPECT_TRUE(std::isnan(bf16_to_float(0x7fc0)));
}

#if defined(__FLT16_MAX__)
TEST(IoSafetensors, F16MatchesTheCompilersHalfForAllBitPatterns) {
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    const uint16_t b = static_cast<uint16_t>(bits);
    _Float16 h;
    std::memcpy(&h, &b, 2);
    const float expected = static_cast<float>(h), got = f16_to_float(b);
    if (std::isnan(expected)) EXPECT_TRUE(std::isnan(got)) << std::hex << bits;
    else EXPECT_EQ(std::memcmp(&expected, &got, 4), 0) << std::hex << bits << " " << expected << " " << got;
  }
}
#endif

TEST(IoSafetensors, LoadsF16BF16AndF64AsFloat32) {
  const std::vector<uint16_t> f16 = {0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00};
  const std::vector<uint16_t> bf16 = {0x3f80, 0x4049};
  const std::vector<double> f64 = {1.5, -0.1, 1e300, -1e300, 1e-50};
  const std::string header = R"({"__metadata__": {"format": "pt"},
      "half": {"dtype": "F16", "shape": [5], "data_offsets": [0, 10]},
      "brain": {"dtype": "BF16", "shape": [1, 2], "data_offsets": [10, 14]},
      "double": {"dtype": "F64", "shape": [5], "data_offsets": [14, 54]}})";
  const SafeTensors st = from_safetensors_bytes(make_file(header, raw(f16) + raw(bf16) + raw(f64)));

  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(st.tensors.at("half").to_vector(),
            (std::vector<float>{1.0f, -2.0f, 0.333251953125f, std::ldexp(1.0f, -24), inf}));
  EXPECT_EQ(st.tensors.at("brain").shape(), (Shape{1, 2}));
  EXPECT_EQ(st.tensors.at("brain").to_vector(), (std::vector<float>{1.0f, 3.140625f}));
  EXPECT_EQ(st.tensors.at("double").to_vector(), (std::vector<float>{1.5f, -0.1f, inf, -inf, 0.0f}));
}

TEST(IoSafetensors, InteroperatesWithAnIndependentNumpyImplementation) {
  // tests/torch/safetensors_np.py writes the format from numpy; check both directions against it.
  if (std::system("/usr/bin/python3 -c 'import numpy' > /dev/null 2>&1") != 0)
    FAIL() << "/usr/bin/python3 cannot import numpy: run scripts/setup.sh (python3-numpy)";
  const std::string dir = fresh_dir("numpy");
  save_safetensors(dir + "/ours.safetensors", {{"w", Tensor::arange(6).reshape({2, 3})}}, {{"k", "v"}});
  const std::string script =
      "import sys, numpy as np; sys.path.insert(0, '" ATTN_SOURCE_DIR
      "/tests/torch'); import safetensors_np as st\n"
      "d = sys.argv[1]\n"
      "t, meta = st.load(d + '/ours.safetensors')\n"
      "assert meta == {'k': 'v'}, meta\n"
      "assert t['w'].dtype == np.float32 and t['w'].shape == (2, 3), t['w']\n"
      "assert (t['w'] == np.arange(6, dtype=np.float32).reshape(2, 3)).all(), t['w']\n"
      "st.save(d + '/theirs.safetensors', {'h': np.array([[1, -2.5], [0.1, 65504]], np.float16),\n"
      "        'd': np.array([np.pi], np.float64), 's': np.float32([7])}, {'by': 'numpy'})\n";
  write_bytes(dir + "/check.py", script);
  ASSERT_EQ(std::system(("/usr/bin/python3 " + dir + "/check.py " + dir).c_str()), 0);

  const SafeTensors theirs = load_safetensors(dir + "/theirs.safetensors");
  EXPECT_EQ(theirs.metadata.at("by"), "numpy");
  EXPECT_EQ(theirs.tensors.at("h").to_vector(), (std::vector<float>{1.0f, -2.5f, 0.0999755859375f, 65504.0f}));
  EXPECT_EQ(theirs.tensors.at("d").to_vector(), (std::vector<float>{std::numbers::pi_v<float>}));
  EXPECT_EQ(theirs.tensors.at("s").item(), 7.0f);
}

TEST(IoSafetensors, NarrowsToF16AndBF16RoundingToNearestEven) {
  // Every finite half and every bfloat16 value survives widen -> narrow unchanged.
  for (uint32_t b = 0; b < 0x10000u; ++b) {
    const auto bits = static_cast<uint16_t>(b);
    if ((bits & 0x7c00u) != 0x7c00u || (bits & 0x3ffu) == 0) EXPECT_EQ(float_to_f16(f16_to_float(bits)), bits) << b;
    if ((bits & 0x7f80u) != 0x7f80u || (bits & 0x7fu) == 0) EXPECT_EQ(float_to_bf16(bf16_to_float(bits)), bits) << b;
  }
  // Ties go to the even neighbour; past the largest half (65504) is infinity; NaN stays NaN.
  EXPECT_EQ(float_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00u);      // halfway 1 .. 1+2^-10: even is 1
  EXPECT_EQ(float_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02u);  // halfway, odd below: up
  EXPECT_EQ(float_to_f16(65519.0f), 0x7bffu);
  EXPECT_EQ(float_to_f16(65520.0f), 0x7c00u);
  EXPECT_EQ(float_to_f16(-1e9f), 0xfc00u);
  EXPECT_EQ(float_to_f16(std::ldexp(1.0f, -25)), 0x0000u);  // half the smallest subnormal: even is 0
  EXPECT_EQ(float_to_f16(std::ldexp(3.0f, -25)), 0x0002u);
  EXPECT_TRUE(std::isnan(f16_to_float(float_to_f16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(float_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80u);
  EXPECT_EQ(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82u);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  // A file stored as F16 says so in its header and loads back as the rounded values.
  const Tensor x = Tensor::from_vector({0.1f, -3.14159f, 1e-6f, 70000.f}, {2, 2});
  const SafeTensors f16 = from_safetensors_bytes(to_safetensors_bytes({{"x", x}}, {}, StoreDtype::F16));
  EXPECT_EQ(f16.tensors.at("x").to_vector(),
            (std::vector<float>{f16_to_float(float_to_f16(0.1f)), f16_to_float(float_to_f16(-3.14159f)),
                                f16_to_float(float_to_f16(1e-6f)), std::numeric_limits<float>::infinity()}));
  EXPECT_NE(to_safetensors_bytes({{"x", x}}, {}, StoreDtype::BF16).find("\"dtype\":\"BF16\""), std::string::npos);
}

TEST(IoSafetensors, F16AndBF16FilesMatchNumpyAndTorchRounding) {
  // The same random float32 values narrowed by us (saved as F16 and BF16) and by numpy's astype(float16)
  // and torch's .bfloat16(): the stored bits must be identical.
  if (std::system("/usr/bin/python3 -c 'import numpy, torch' > /dev/null 2>&1") != 0)
    FAIL() << "/usr/bin/python3 cannot import numpy and torch: run scripts/setup.sh (python3-numpy, python3-torch)";
  const std::string dir = fresh_dir("narrow");
  attn::Generator gen(7);
  Tensor x = Tensor::randn({4096}, gen);
  for (int64_t i = 0; i < 1024; ++i) x.data()[i] *= std::ldexp(1.0f, static_cast<int>(i % 48) - 24);  // 2^-24 .. 2^23
  save_safetensors(dir + "/f32.safetensors", {{"x", x}});
  save_safetensors(dir + "/f16.safetensors", NamedTensors{{"x", x}}, {}, StoreDtype::F16);
  save_safetensors(dir + "/bf16.safetensors", NamedTensors{{"x", x}}, {}, StoreDtype::BF16);
  const std::string script = "import sys, json, struct, numpy as np, torch; sys.path.insert(0, '" ATTN_SOURCE_DIR
                             "/tests/torch'); import safetensors_np as st\n"
                             "d = sys.argv[1]\n"
                             "x = st.load(d + '/f32.safetensors')[0]['x']\n"
                             "def raw(path):\n"
                             "    b = open(path, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]\n"
                             "    h = json.loads(b[8:8 + n]); lo, hi = h['x']['data_offsets']\n"
                             "    return h['x']['dtype'], np.frombuffer(b[8 + n + lo:8 + n + hi], '<u2')\n"
                             "dt, ours = raw(d + '/f16.safetensors'); assert dt == 'F16', dt\n"
                             "ref = x.astype(np.float16).view(np.uint16)\n"
                             "assert (ours == ref).all(), np.nonzero(ours != ref)\n"
                             "dt, ours = raw(d + '/bf16.safetensors'); assert dt == 'BF16', dt\n"
                             "ref = torch.from_numpy(x).bfloat16().view(torch.int16).numpy().view(np.uint16)\n"
                             "assert (ours == ref).all(), np.nonzero(ours != ref)\n";
  write_bytes(dir + "/check.py", script);
  ASSERT_EQ(std::system(("/usr/bin/python3 " + dir + "/check.py " + dir).c_str()), 0);
}

// ---- load_into ---------------------------------------------------------------------------------------------

TEST(IoLoadInto, CopiesValuesIntoExistingTensors) {
  SafeTensors ckpt;
  ckpt.tensors["w"] = Tensor::arange(6).reshape({2, 3});
  ckpt.tensors["b"] = Tensor::full({3}, 0.5f);
  Tensor w = Tensor::zeros({2, 3}).requires_grad_();
  Tensor b = Tensor::zeros({3});
  NamedTensors params = {{"w", w}, {"b", b}};
  load_into(ckpt, params);
  EXPECT_EQ(w.to_vector(), (std::vector<float>{0, 1, 2, 3, 4, 5}));  // same tensor, new values
  EXPECT_EQ(b.to_vector(), (std::vector<float>{0.5f, 0.5f, 0.5f}));
  EXPECT_TRUE(w.requires_grad());
  ckpt.tensors["w"].fill_(9.f);
  EXPECT_EQ(w.at({0, 0}), 0.f);  // copied, not shared
}

TEST(IoLoadInto, StrictErrorListsEveryProblemAndCopiesNothing) {
  SafeTensors ckpt;
  ckpt.tensors["c.weight"] = Tensor::ones({3, 4});
  ckpt.tensors["b.bias"] = Tensor::ones({4});
  ckpt.tensors["ok"] = Tensor::ones({2});
  Tensor ok = Tensor::zeros({2});
  NamedTensors params = {{"a.weight", Tensor::zeros({2})}, {"c.weight", Tensor::zeros({4, 3})}, {"ok", ok}};
  try {
    load_into(ckpt, params);
    FAIL() << "expected an error";
  } catch (const attn::Error& e) {
    EXPECT_STREQ(e.what(),
                 "[load_state_dict] missing: a.weight; unexpected: b.bias; shape mismatch: c.weight checkpoint "
                 "(3, 4) vs model (4, 3)");
  }
  EXPECT_EQ(ok.to_vector(), (std::vector<float>{0, 0}));
}

TEST(IoLoadInto, NonStrictSkipsMissingAndUnexpectedButNotShapes) {
  SafeTensors ckpt;
  ckpt.tensors["shared"] = Tensor::full({2}, 3.f);
  ckpt.tensors["extra"] = Tensor::ones({1});
  Tensor shared = Tensor::zeros({2});
  Tensor fresh = Tensor::zeros({5});
  NamedTensors params = {{"shared", shared}, {"fresh", fresh}};
  load_into(ckpt, params, /*strict=*/false);
  EXPECT_EQ(shared.to_vector(), (std::vector<float>{3, 3}));
  EXPECT_EQ(fresh.to_vector(), std::vector<float>(5, 0.f));

  ckpt.tensors["fresh"] = Tensor::ones({4});
  EXPECT_THROW(load_into(ckpt, params, false), attn::Error);
}

TEST(IoLoadInto, ListsSeveralNamesPerCategory) {
  SafeTensors ckpt;
  NamedTensors params = {{"x", Tensor::zeros({1})}, {"y", Tensor::zeros({1})}};
  try {
    load_into(ckpt, params);
    FAIL() << "expected an error";
  } catch (const attn::Error& e) {
    EXPECT_STREQ(e.what(), "[load_state_dict] missing: x, y");
  }
}

TEST(IoLoadInto, SaveThenLoadRestoresAModel) {
  const std::string path = fresh_dir("restore") + "/ckpt.safetensors";
  Generator gen(3);
  NamedTensors model = {{"embed", Tensor::randn({5, 4}, gen)}, {"head", Tensor::randn({4, 2}, gen)}};
  save_safetensors(path, model, {{"epoch", "3"}});
  NamedTensors other = {{"embed", Tensor::zeros({5, 4})}, {"head", Tensor::zeros({4, 2})}};
  load_into(load_safetensors(path), other);
  for (size_t i = 0; i < model.size(); ++i) EXPECT_TRUE(same_bits(model[i].second, other[i].second));
}

}  // namespace
}  // namespace attn::io

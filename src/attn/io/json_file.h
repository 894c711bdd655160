// A JSON object read from a file, with errors that name the file and what it was for.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace attn::io {

// The file at `path` parsed as one JSON object; attn::Error tagged `op` naming the path and `what` ("the model's
// configuration") when it cannot be read or is not a JSON object.
nlohmann::json read_json_object(const std::string& path, const char* op, const char* what);
// The file at `path` parsed as JSON, leniently: null when it is missing or unreadable, a discarded value
// (is_discarded()) when it is not valid JSON. For optional files whose absence is not an error.
nlohmann::json read_json_or_null(const std::string& path);

// Merges `extra` (JSON object text, or "" for nothing) into `into`, key by key; attn::Error tagged `op` if `extra`
// is not a JSON object. How a model folder's config.json gets "how it was trained" beside the architecture.
void merge_json_object(nlohmann::json& into, const std::string& extra, const char* op);

}  // namespace attn::io

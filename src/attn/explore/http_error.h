// How the explorer's routes say "bad request": throw HttpError{status, message}; Explorer::handle() turns it
// into that status and {"error": message}. (attn::Error from the library becomes a 400.)
#pragma once
#include <string>

namespace attn::explore {

struct HttpError {
  int status;
  std::string message;
};

[[noreturn]] inline void fail(int status, const std::string& message) { throw HttpError{status, message}; }

}  // namespace attn::explore

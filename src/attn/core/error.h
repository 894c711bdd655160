// Errors that name the op that raised them.
//
//   ATTN_CHECK(q.dim() == 4, "scaled_dot_product_attention",
//              "query has " << q.dim() << " dims, expected 4 (B, H, T, D)");
// throws attn::Error("[scaled_dot_product_attention] query has 3 dims, expected 4 (B, H, T, D)").
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace attn {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
[[noreturn]] inline void throw_error(const char* op, const std::string& msg) {
  throw Error(std::string("[") + op + "] " + msg);
}
}  // namespace detail

}  // namespace attn

#define ATTN_CHECK(cond, op, msg)                            \
  do {                                                       \
    if (!(cond)) {                                           \
      std::ostringstream attn_check_os_;                     \
      attn_check_os_ << msg;                                 \
      ::attn::detail::throw_error(op, attn_check_os_.str()); \
    }                                                        \
  } while (0)

// Always throws; written without a condition so that the compiler sees the [[noreturn]] call (no
// "control reaches end of non-void function" after it, even unoptimized).
#define ATTN_FAIL(op, msg)                                \
  do {                                                    \
    std::ostringstream attn_fail_os_;                     \
    attn_fail_os_ << msg;                                 \
    ::attn::detail::throw_error(op, attn_fail_os_.str()); \
  } while (0)

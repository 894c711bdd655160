#include "attn/dist/communicator.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include "attn/core/error.h"

#ifdef ATTN_HAVE_MPI
#include <mpi.h>
#endif

namespace attn::dist {

namespace {
constexpr const char* kOp = "dist";

}  // namespace

bool launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("PMI_RANK");
}

bool have_mpi() {
#ifdef ATTN_HAVE_MPI
  return true;
#else
  return false;
#endif
}

Communicator& world() {
  static Communicator comm = [] {
    Communicator c;
    c.init();
    return c;
  }();
  return comm;
}

#ifdef ATTN_HAVE_MPI

namespace {
double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

MPI_Request* req(Communicator::Request& r) { return static_cast<MPI_Request*>(r.handle); }

void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  ATTN_FAIL(kOp, what << " failed: " << std::string(text, static_cast<size_t>(len)));
}

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

// MPI takes int counts: a bucket or a shard of more than 2³¹ floats is refused by name.
int count_of(int64_t n, const char* what) {
  ATTN_CHECK(n >= 0 && n <= 0x7fffffff, kOp, what << ": " << n << " elements do not fit one MPI message");
  return static_cast<int>(n);
}
}  // namespace

void Communicator::init() {
  if (const char* t = std::getenv("ATTN_DIST_TIMEOUT")) {
    char* end = nullptr;
    const double v = std::strtod(t, &end);
    ATTN_CHECK(end != t && *end == '\0' && v > 0, kOp,
               "ATTN_DIST_TIMEOUT must be a positive number of seconds, got \"" << t << "\"");
    timeout_s_ = v;
  }
  if (!launched_by_mpirun()) return;
  int provided = 0;
  check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  std::atexit(finalize_at_exit);
}

Communicator::Request Communicator::iallreduce_sum(float* buf, int64_t n, const char* what) {
  if (size_ == 1) return Request(nullptr, what);
  Request r(new MPI_Request, what);
  check_mpi(MPI_Iallreduce(MPI_IN_PLACE, buf, count_of(n, what), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, req(r)), what);
  return r;
}

Communicator::Request Communicator::ireduce_scatter_sum(float* buf, const std::vector<int64_t>& counts,
                                                        const char* what) {
  ATTN_CHECK(static_cast<int>(counts.size()) == size_, kOp,
             what << ": " << counts.size() << " counts for " << size_ << " ranks");
  if (size_ == 1) return Request(nullptr, what);
  Request r(new MPI_Request, what);
  // MPI_Ireduce_scatter with MPI_IN_PLACE reads the whole buffer and leaves rank r's block at its start; we want it
  // at its own offset, so each rank receives into a temporary and the wait copies it in (see wait()).
  std::vector<int> c(counts.size());
  int64_t offset = 0, mine = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    c[i] = count_of(counts[i], what);
    if (static_cast<int>(i) < rank_) offset += counts[i];
    if (static_cast<int>(i) == rank_) mine = counts[i];
  }
  check_mpi(MPI_Ireduce_scatter(MPI_IN_PLACE, buf, c.data(), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, req(r)), what);
  // In-place reduce_scatter puts this rank's result at buf[0 … mine): moved to buf[offset …] once complete.
  r.what = what;
  pending_moves_.push_back({r.handle, buf, offset, mine});
  return r;
}

Communicator::Request Communicator::isend(const float* buf, int64_t n, int dest, int tag, const char* what) {
  Request r(new MPI_Request, what);
  check_mpi(MPI_Isend(buf, count_of(n, what), MPI_FLOAT, dest, tag, MPI_COMM_WORLD, req(r)), what);
  return r;
}

Communicator::Request Communicator::irecv(float* buf, int64_t n, int source, int tag, const char* what) {
  Request r(new MPI_Request, what);
  check_mpi(MPI_Irecv(buf, count_of(n, what), MPI_FLOAT, source, tag, MPI_COMM_WORLD, req(r)), what);
  return r;
}

bool Communicator::test(Request& r) {
  if (!r.handle) return true;
  int done = 0;
  check_mpi(MPI_Test(req(r), &done, MPI_STATUS_IGNORE), r.what.c_str());
  if (!done) return false;
  finish_moves(r.handle);
  delete req(r);
  r.handle = nullptr;
  return true;
}

void Communicator::wait(Request& r) {
  if (!r.handle) return;
  const double t0 = now_s();
  int spins = 0;
  while (!test(r)) {
    const double waited = now_s() - t0;
    if (waited > timeout_s_) {
      std::ostringstream m;
      m << r.what << ": no answer from the other ranks after " << timeout_s_
        << " s (a rank died or took another path; ATTN_DIST_TIMEOUT sets the limit)";
      abort(m.str(), 3);
    }
    // Spin briefly (a collective usually completes in microseconds), then yield the core to the other ranks.
    if (++spins > 200) std::this_thread::sleep_for(std::chrono::microseconds(spins > 20000 ? 1000 : 50));
  }
  wait_s_ += now_s() - t0;
}

void Communicator::wait_all(std::vector<Request>& rs) {
  for (Request& r : rs) wait(r);
}

void Communicator::finish_moves(void* handle) {
  for (size_t i = 0; i < pending_moves_.size(); ++i) {
    PendingMove& m = pending_moves_[i];
    if (m.handle != handle) continue;
    if (m.offset != 0 && m.count > 0)
      std::memmove(m.buf + m.offset, m.buf, static_cast<size_t>(m.count) * sizeof(float));
    pending_moves_.erase(pending_moves_.begin() + static_cast<std::ptrdiff_t>(i));
    return;
  }
}

void Communicator::allreduce_sum(float* buf, int64_t n, const char* what) {
  Request r = iallreduce_sum(buf, n, what);
  wait(r);
}

void Communicator::allreduce_sum(double* buf, int64_t n, const char* what) {
  if (size_ == 1) return;
  Request r(new MPI_Request, what);
  check_mpi(MPI_Iallreduce(MPI_IN_PLACE, buf, count_of(n, what), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, req(r)), what);
  wait(r);
}

void Communicator::allreduce_max(int64_t* buf, int64_t n, const char* what) {
  if (size_ == 1) return;
  Request r(new MPI_Request, what);
  check_mpi(MPI_Iallreduce(MPI_IN_PLACE, buf, count_of(n, what), MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD, req(r)), what);
  wait(r);
}

void Communicator::broadcast(void* buf, int64_t bytes, int root, const char* what) {
  if (size_ == 1) return;
  Request r(new MPI_Request, what);
  check_mpi(MPI_Ibcast(buf, count_of(bytes, what), MPI_BYTE, root, MPI_COMM_WORLD, req(r)), what);
  wait(r);
}

void Communicator::reduce_scatter_sum(float* buf, const std::vector<int64_t>& counts, const char* what) {
  Request r = ireduce_scatter_sum(buf, counts, what);
  wait(r);
}

void Communicator::allgather(float* buf, const std::vector<int64_t>& counts, const char* what) {
  ATTN_CHECK(static_cast<int>(counts.size()) == size_, kOp,
             what << ": " << counts.size() << " counts for " << size_ << " ranks");
  if (size_ == 1) return;
  std::vector<int> c(counts.size()), displ(counts.size());
  int64_t offset = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    c[i] = count_of(counts[i], what);
    displ[i] = count_of(offset, what);
    offset += counts[i];
  }
  Request r(new MPI_Request, what);
  check_mpi(MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, c.data(), displ.data(), MPI_FLOAT, MPI_COMM_WORLD,
                            req(r)),
            what);
  wait(r);
}

std::vector<double> Communicator::allgather_value(double value, const char* what) {
  std::vector<double> all(static_cast<size_t>(size_), value);
  if (size_ == 1) return all;
  Request r(new MPI_Request, what);
  check_mpi(MPI_Iallgather(&value, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, MPI_COMM_WORLD, req(r)), what);
  wait(r);
  return all;
}

void Communicator::barrier(const char* what) {
  if (size_ == 1) return;
  Request r(new MPI_Request, what);
  check_mpi(MPI_Ibarrier(MPI_COMM_WORLD, req(r)), what);
  wait(r);
}

void Communicator::check_same(const std::string& what, int64_t value) {
  if (size_ == 1) return;
  std::vector<int64_t> all(static_cast<size_t>(size_));
  Request r(new MPI_Request, "check_same");
  check_mpi(MPI_Iallgather(&value, 1, MPI_INT64_T, all.data(), 1, MPI_INT64_T, MPI_COMM_WORLD, req(r)), "check_same");
  wait(r);
  bool same = true;
  for (int64_t v : all) same = same && v == all[0];
  if (same) return;
  std::ostringstream m;
  m << "[dist] " << what << " differs across ranks:";
  for (size_t i = 0; i < all.size(); ++i) m << " rank " << i << " has " << all[i] << (i + 1 < all.size() ? "," : "");
  throw CollectiveError(m.str());
}

void Communicator::abort(const std::string& message, int code) {
  std::fprintf(stderr, "rank %d: %s\n", rank_, message.c_str());
  std::fflush(stderr);
  if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

void Communicator::exit_all(const std::string& message, int code) {
  std::fprintf(stderr, "rank %d: %s\n", rank_, message.c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (size_ > 1 && !finalized) MPI_Finalize();
  std::exit(code);
}

#else  // no MPI in this build: one rank, every collective a no-op

void Communicator::init() {
  ATTN_CHECK(!launched_by_mpirun(), kOp,
             "this attn was built without MPI (libopenmpi-dev was missing at configure time): install it with "
             "`bash scripts/setup.sh` and rebuild to run under mpirun");
}
Communicator::Request Communicator::iallreduce_sum(float*, int64_t, const char* what) { return Request(nullptr, what); }
Communicator::Request Communicator::ireduce_scatter_sum(float*, const std::vector<int64_t>&, const char* what) {
  return Request(nullptr, what);
}
Communicator::Request Communicator::isend(const float*, int64_t, int, int, const char* what) {
  ATTN_FAIL(kOp, what << ": point-to-point messages need several ranks (mpirun)");
}
Communicator::Request Communicator::irecv(float*, int64_t, int, int, const char* what) {
  ATTN_FAIL(kOp, what << ": point-to-point messages need several ranks (mpirun)");
}
bool Communicator::test(Request&) { return true; }
void Communicator::wait(Request&) {}
void Communicator::wait_all(std::vector<Request>&) {}
void Communicator::finish_moves(void*) {}
void Communicator::allreduce_sum(float*, int64_t, const char*) {}
void Communicator::allreduce_sum(double*, int64_t, const char*) {}
void Communicator::allreduce_max(int64_t*, int64_t, const char*) {}
void Communicator::broadcast(void*, int64_t, int, const char*) {}
void Communicator::reduce_scatter_sum(float*, const std::vector<int64_t>&, const char*) {}
void Communicator::allgather(float*, const std::vector<int64_t>&, const char*) {}
std::vector<double> Communicator::allgather_value(double value, const char*) { return {value}; }
void Communicator::barrier(const char*) {}
void Communicator::check_same(const std::string&, int64_t) {}
void Communicator::abort(const std::string& message, int code) {
  std::fprintf(stderr, "rank 0: %s\n", message.c_str());
  std::exit(code);
}
void Communicator::exit_all(const std::string& message, int code) { abort(message, code); }

#endif

}  // namespace attn::dist

// The ranks of a run and what they say to each other: a thin layer over MPI (Open MPI from Debian's
// libopenmpi-dev), the engine HPC clusters already run. Nothing here is home-made transport or launch:
// `mpirun -np N attn …` starts the processes, MPI moves the bytes.
//
//   Communicator& comm = dist::world();     size() = N ranks, rank() = 0 … N-1
//   comm.allreduce_sum(buf, n);              every rank ends with Σ_r buf_r           (gradients)
//   comm.reduce_scatter_sum(buf, counts);    rank r ends with its slice of Σ_r buf_r  (ZeRO-1)
//   comm.allgather(buf, counts);             every rank ends with every rank's slice  (ZeRO-1 parameters)
//   Request a = comm.isend(...), b = comm.irecv(...);  comm.wait(a); …               (ring attention)
//
// Launched without mpirun (no OMPI_COMM_WORLD_SIZE / PMIX_RANK / PMI_RANK in the environment) the world is one
// rank and MPI is never initialized: every collective is then a copy or nothing, so the same training code runs
// alone as it always did.
//
// No hang: every wait is MPI_Test in a loop with a deadline (`timeout_seconds`, default 600, or the environment's
// ATTN_DIST_TIMEOUT). A rank that waits past it prints which operation it was in and aborts the whole job
// (MPI_Abort): a rank that died or took a different path (an error on one rank only) ends the run with a message
// instead of leaving the others blocked forever. mpirun itself ends the job when a rank exits without finalizing
// (a crash, a kill), and `abort_on_error` does the same for an attn::Error thrown on one rank.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace attn::dist {

// True when this process was started by mpirun (Open MPI's, or any PMIx/PMI launcher).
bool launched_by_mpirun();
// Whether this build has MPI (libopenmpi-dev was present when it was configured).
bool have_mpi();

class Communicator {
 public:
  // A started operation. Move-only; wait() (or a test() that returned true) completes it.
  struct Request {
    void* handle = nullptr;  // MPI_Request, owned; null = complete
    std::string what;        // for the timeout message
    Request() = default;
    Request(void* h, std::string w) : handle(h), what(std::move(w)) {}
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;
    Request(Request&& o) noexcept : handle(o.handle), what(std::move(o.what)) { o.handle = nullptr; }
    Request& operator=(Request&& o) noexcept {
      std::swap(handle, o.handle);
      std::swap(what, o.what);
      return *this;
    }
  };

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool distributed() const { return size_ > 1; }
  double timeout_seconds() const { return timeout_s_; }
  void set_timeout_seconds(double s) { timeout_s_ = s; }

  // Blocking collectives (each one a non-blocking call waited on with the deadline). `what` names the operation
  // in a timeout message ("gradient allreduce").
  void allreduce_sum(float* buf, int64_t n, const char* what = "allreduce");
  void allreduce_sum(double* buf, int64_t n, const char* what = "allreduce");
  void allreduce_max(int64_t* buf, int64_t n, const char* what = "allreduce");
  void broadcast(void* buf, int64_t bytes, int root, const char* what = "broadcast");
  // In place on `buf` (Σ counts floats, rank r's slice at offset Σ_{i<r} counts[i]): afterwards rank r's slice
  // holds the sum over ranks of that slice; the rest of `buf` is scratch (undefined).
  void reduce_scatter_sum(float* buf, const std::vector<int64_t>& counts, const char* what = "reduce-scatter");
  // In place: rank r's slice is sent to every rank; afterwards every slice on every rank is its owner's.
  void allgather(float* buf, const std::vector<int64_t>& counts, const char* what = "allgather");
  // Every rank's `value`, in rank order.
  std::vector<double> allgather_value(double value, const char* what = "allgather");
  void barrier(const char* what = "barrier");

  // Non-blocking: start, then wait (or test). A Request must be waited on before its buffer is reused.
  Request iallreduce_sum(float* buf, int64_t n, const char* what);
  Request ireduce_scatter_sum(float* buf, const std::vector<int64_t>& counts, const char* what);
  Request isend(const float* buf, int64_t n, int dest, int tag, const char* what);
  Request irecv(float* buf, int64_t n, int source, int tag, const char* what);
  bool test(Request& r);  // true once complete (and drives MPI's progress)
  void wait(Request& r);
  void wait_all(std::vector<Request>& rs);

  // The same value on every rank, or an attn::Error on every rank naming `what` and each rank's value (mismatched
  // shapes or options across ranks would otherwise deadlock or compute nonsense). A no-op on one rank.
  void check_same(const std::string& what, int64_t value);

  // Prints "rank r: <message>" to stderr and ends every rank of the job with `code` (MPI_Abort); exits when alone.
  [[noreturn]] void abort(const std::string& message, int code = 2);
  // Prints "rank r: <message>" and leaves with `code` after MPI_Finalize: for an error that every rank reached.
  [[noreturn]] void exit_all(const std::string& message, int code = 2);

  // Seconds a rank spent inside wait()/blocking collectives since the last reset (the communication share that
  // was not hidden behind compute).
  double wait_seconds() const { return wait_s_; }
  void reset_wait_seconds() { wait_s_ = 0; }

 private:
  friend Communicator& world();
  Communicator() = default;
  void init();
  void finish_moves(void* handle);
  // An in-place reduce-scatter leaves this rank's block at the buffer's start; moved to its offset on completion.
  struct PendingMove {
    void* handle;
    float* buf;
    int64_t offset, count;
  };
  std::vector<PendingMove> pending_moves_;
  int rank_ = 0, size_ = 1;
  double timeout_s_ = 600;
  double wait_s_ = 0;
};

// An error that every rank raised at the same point (check_same): each rank can print it and leave cleanly.
class CollectiveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The world of this process: initializes MPI on first use when launched by mpirun (attn::Error when this build
// has no MPI). Finalized at exit.
Communicator& world();

// Runs `body`; an attn::Error (or any exception) on a rank of a multi-rank job is printed with the rank and ends
// the job (MPI_Abort), so that the other ranks do not wait in a collective for it forever; a CollectiveError
// (raised on every rank alike) ends each rank cleanly with exit code 2. Alone, rethrows.
template <typename F>
auto abort_on_error(Communicator& comm, F&& body) -> decltype(body());

}  // namespace attn::dist

#include <exception>
namespace attn::dist {
template <typename F>
auto abort_on_error(Communicator& comm, F&& body) -> decltype(body()) {
  if (!comm.distributed()) return body();
  try {
    return body();
  } catch (const CollectiveError& e) {
    comm.exit_all(e.what(), 2);
  } catch (const std::exception& e) {
    comm.abort(e.what(), 2);
  }
}
}  // namespace attn::dist

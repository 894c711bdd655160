// `attn explore` as a real server on 127.0.0.1 (a free port), and `attn viz`'s standalone page:
// the page and assets, the API over HTTP, what it refuses (path traversal, oversized bodies, other
// methods), and a bounded load test — 32 concurrent clients — after which it still answers.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "attn/core/rng.h"
#include "attn/data/char_tokenizer.h"
#include "attn/models/gpt.h"
#include "attn/models/gpt_config_json.h"
#include "attn/nn/checkpoint.h"
#include "test_util.h"

using json = nlohmann::json;

namespace {

std::string tiny_checkpoint() {
  const std::string dir = attn::testing::fresh_dir("explore_http_model");
  attn::data::CharTokenizer tok = attn::data::CharTokenizer::from_text("Call me Ishmael. abcdefghijklmnopqrstuvwxyz");
  attn::models::GPTConfig c;
  c.vocab_size = tok.vocab_size();
  c.n_layer = 2;
  c.n_head = 2;
  c.n_embd = 16;
  c.block_size = 32;
  attn::Generator g(3);
  attn::models::GPT m(c, g);
  attn::nn::save_checkpoint(m, dir + "/model.safetensors");
  tok.save(dir + "/tokenizer.json");
  std::ofstream(dir + "/config.json") << json{{"model", attn::models::model_config_json(c)}}.dump();
  return dir;
}

// The server as a child process; reads its "explorer: http://HOST:PORT/" line; stops it on destruction.
class ServerProcess {
 public:
  explicit ServerProcess(const std::string& model) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      const std::string bin = std::string(ATTN_BINARY_DIR) + "/bin/attn";
      execl(bin.c_str(), bin.c_str(), "explore", "--model", model.c_str(), "--port", "0", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    FILE* out = fdopen(fds[0], "r");
    char line[512] = {0};
    if (out && fgets(line, sizeof line, out)) first_line_ = line;
    std::smatch m;
    static const std::regex re(R"(explorer: http://([0-9.]+):(\d+)/)");
    if (std::regex_search(first_line_, m, re)) host_ = m[1], port_ = std::stoi(m[2]);
    out_ = out;
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (out_) fclose(out_);
  }
  bool running() const { return port_ > 0; }
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  const std::string& first_line() const { return first_line_; }
  bool alive() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::string first_line_, host_;
  int port_ = 0;
};

class ExploreHttp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new ServerProcess(tiny_checkpoint()); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static httplib::Client client() {
    httplib::Client c(server_->host(), server_->port());
    c.set_read_timeout(30);
    return c;
  }
  static ServerProcess* server_;
};
ServerProcess* ExploreHttp::server_ = nullptr;

TEST_F(ExploreHttp, ListensOnLoopbackAndServesThePageAndTheApi) {
  ASSERT_TRUE(server_->running()) << "no URL line: " << server_->first_line();
  EXPECT_EQ(server_->host(), "127.0.0.1");  // loopback unless --host says otherwise
  auto c = client();
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
  auto info = c.Get("/api/info");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->status, 200);
  EXPECT_EQ(json::parse(info->body)["model"]["block_size"], 32);
  auto a = c.Post("/api/analyze", R"({"text": "Call me Ishmael."})", "application/json");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->status, 200) << a->body;
  const std::string id = json::parse(a->body)["id"];
  auto m = c.Get("/api/attention?id=" + id + "&layer=1&head=mean");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(json::parse(m->body)["T"], 16);
}

TEST_F(ExploreHttp, RefusesTraversalOversizedBodiesAndOtherMethods) {
  ASSERT_TRUE(server_->running());
  auto c = client();
  for (const char* path : {"/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fCMakeLists.txt",
                           "/web/../CMakeLists.txt", "/etc/passwd", "/.git/config"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(r->body.find("root:"), std::string::npos) << path;
    EXPECT_EQ(r->body.find("cmake_minimum_required"), std::string::npos) << path;
  }
  auto big = c.Post("/api/analyze", std::string(70000, 'x'), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  auto put = c.Put("/api/info", "{}", "application/json");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
  auto bad = c.Post("/api/analyze", "{oops", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(json::parse(bad->body)["error"].get<std::string>().find("JSON"), std::string::npos);
}

// 32 clients at once, each: info, analyze, three attention matrices, a generation step — bounded in count
// (32 × 4 rounds) and time (each request times out at 30 s). Prints the figures.
TEST_F(ExploreHttp, StaysUpUnder32ConcurrentClients) {
  ASSERT_TRUE(server_->running());
  constexpr int kClients = 32, kRounds = 4;
  std::atomic<int> ok{0}, failed{0};
  std::vector<double> latencies_ms;
  std::vector<std::string> failures;  // the first few, for the failure message
  std::mutex mu;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t)
    threads.emplace_back([&, t] {
      auto c = client();
      auto timed = [&](auto&& request) {
        const auto s = std::chrono::steady_clock::now();
        auto r = request();
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - s).count();
        {
          std::lock_guard<std::mutex> lock(mu);
          latencies_ms.push_back(ms);
        }
        if (r && r->status == 200) {
          ++ok;
        } else {
          ++failed;
          std::lock_guard<std::mutex> lock(mu);
          if (failures.size() < 5)
            failures.push_back(r ? std::to_string(r->status) + " " + r->body : httplib::to_string(r.error()));
        }
        return r;
      };
      for (int round = 0; round < kRounds; ++round) {
        timed([&] { return c.Get("/api/info"); });
        const std::string text = std::string("Call me Ishmael ") + static_cast<char>('a' + (t + round) % 26);
        auto a = timed([&] { return c.Post("/api/analyze", json{{"text", text}}.dump(), "application/json"); });
        if (!a || a->status != 200) continue;
        const std::string id = json::parse(a->body)["id"];
        for (const char* head : {"0", "mean", "rollout"})
          timed([&] { return c.Get("/api/attention?id=" + id + "&layer=1&head=" + head); });
        auto s = timed(
            [&] { return c.Post("/api/generate/start", R"({"prompt": "Call", "seed": 1})", "application/json"); });
        if (s && s->status == 200) {
          const std::string sid = json::parse(s->body)["session"];
          auto n = c.Post("/api/generate/next", json{{"session", sid}}.dump(), "application/json");
          // A session may be evicted by the 8-session limit before its next step: 404 is the documented answer.
          if (n && (n->status == 200 || n->status == 404)) ++ok;
          else ++failed;
        }
      }
    });
  for (auto& th : threads) th.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const auto pct = [&](double p) { return latencies_ms[static_cast<size_t>(p * (latencies_ms.size() - 1))]; };
  std::printf(
      "load test: %d clients x %d rounds: %d ok, %d failed in %.2f s (%.0f requests/s); latency p50 %.1f ms, "
      "p99 %.1f ms, max %.1f ms\n",
      kClients, kRounds, ok.load(), failed.load(), secs, (ok + failed) / secs, pct(0.5), pct(0.99),
      latencies_ms.back());
  EXPECT_EQ(failed.load(), 0);
  for (const std::string& f : failures) ADD_FAILURE() << "request failed: " << f;
  EXPECT_EQ(ok.load(), kClients * kRounds * 7);
  EXPECT_TRUE(server_->alive());
  auto after = client().Get("/api/info");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

TEST(AttnViz, WritesAStandaloneOfflinePage) {
  const std::string model = tiny_checkpoint();
  const std::string out = attn::testing::fresh_dir("attn_viz") + "/page.html";
  auto r = attn::testing::run_attn("viz --model '" + model + "' --text 'Call me Ishmael.' --out '" + out + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string page = ss.str();
  EXPECT_NE(page.find("window.ATTN_STATIC = "), std::string::npos);
  EXPECT_EQ(page.find("src=\"app.js\""), std::string::npos);  // inlined
  EXPECT_EQ(page.find("href=\"style.css\""), std::string::npos);
  EXPECT_EQ(page.find("src=\"http"), std::string::npos);  // nothing fetched from anywhere
  EXPECT_EQ(page.find("href=\"http"), std::string::npos);
  // The embedded table answers the views' requests.
  const size_t at = page.find("window.ATTN_STATIC = ") + std::string("window.ATTN_STATIC = ").size();
  const size_t end = page.find(";</script>", at);
  std::string blob = page.substr(at, end - at);
  for (size_t p = 0; (p = blob.find("<\\/", p)) != std::string::npos;) blob.replace(p, 3, "</");
  const json statics = json::parse(blob);
  const json& resp = statics["responses"];
  EXPECT_TRUE(resp.contains("GET /api/info"));
  EXPECT_EQ(resp["POST /api/analyze"]["T"], 16);
  EXPECT_TRUE(resp.contains("GET /api/attention?id=a1&layer=1&head=rollout"));
  EXPECT_TRUE(resp.contains("GET /api/attention?id=a1&layer=0&head=1"));
  EXPECT_TRUE(resp.contains("GET /api/neuron?id=a1&layer=1&head=1&query=15"));
  EXPECT_TRUE(resp.contains("GET /api/head_types"));
  auto bad = attn::testing::run_attn("viz --model /no/such --text x --out '" + out + "'");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("/no/such"), std::string::npos);
}

}  // namespace

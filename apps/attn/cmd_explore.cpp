// attn explore [--model DIR] [--host 127.0.0.1] [--port 8000] — the Attention Explorer in the browser.
//
// One process: cpp-httplib serves the embedded front end (web/, see web_assets.h) and the JSON API of
// docs/explorer_api.md, answered by attn::explore::Explorer over one loaded GPT (an `attn train gpt`
// checkpoint or a Hugging Face GPT-2 folder; by default the project's word-level GPT,
// models/gpt-words, else the character-level models/gpt-moby-dick).
//
// Safety: it binds to 127.0.0.1 unless --host says otherwise; it serves only the embedded files (no file
// system access, so no path traversal); request bodies are capped (413), texts and sessions are limited
// (see /api/info), and a pool of worker threads queues concurrent clients while the model answers one
// request at a time.
#include <httplib.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>

#include "attn/core/error.h"
#include "attn/data/emoji.h"
#include "attn/data/fashion_mnist.h"
#include "attn/explore/audio_view.h"
#include "attn/explore/explorer.h"
#include "attn/explore/image_view.h"
#include "attn/explore/multimodal_view.h"
#include "attn/models/gpt_loader.h"
#include "commands.h"
#include "data_root.h"
#include "web_assets.h"

using namespace attn;
namespace fs = std::filesystem;

namespace {

httplib::Server* g_server = nullptr;
void on_signal(int) {
  if (g_server) g_server->stop();
}

// Debian's cpp-httplib 0.11 is built with a listen backlog of 5: a burst of new connections (a page
// load opens several; the load test opens 32 at once) overflows it and the kernel drops SYNs, which the
// clients resend only after a second. Linux lets listen() be called again on a listening socket to
// change its backlog, so find ours by its port and give it room for 128 pending connections.
void widen_listen_backlog(int port) {
  for (int fd = 3; fd < 1024; ++fd) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    int listening = 0;
    socklen_t optlen = sizeof listening;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) continue;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) != 0 || !listening) continue;
    int p = addr.ss_family == AF_INET    ? ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port)
            : addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                         : -1;
    if (p == port) ::listen(fd, 128);
  }
}

struct ExploreSettings {
  std::string model, translation, vit, kwt, las, clip, data = data::kFashionMnistDir, host = "127.0.0.1";
  int port = 8000;
};

const char* kNoFrontEnd =
    "<!doctype html><title>attn explore</title><p>This build has no front end (web/ was empty when it was "
    "built). The JSON API is at <a href=\"/api/info\">/api/info</a>.";

int run_explorer(const ExploreSettings& s) {
  const std::string dir = s.model.empty() ? models::default_gpt_dir(cli::data_root()) : s.model;
  if (s.model.empty() && !fs::exists(dir + "/config.json"))
    ATTN_FAIL("attn explore", "the default model " << dir << " is missing; train it with `attn train gpt --out " << dir
                                                   << "` or give --model DIR");
  std::cerr << "loading " << dir << "...\n";
  explore::Explorer ex(models::load_gpt(dir, cli::data_root()), fs::path(dir).filename().string());
  // A translation model for the encoder-decoder view: --translation, or the one scripts/translate_all.sh
  // leaves in models/ when there is one.
  std::string tdir = s.translation;
  if (tdir.empty())
    for (const char* arch : {"transformer", "bahdanau"})
      if (const std::string d = cli::data_root() + "/models/translate-" + arch; fs::exists(d + "/config.json")) {
        tdir = d;
        break;
      }
  if (!tdir.empty()) {
    std::cerr << "loading translation model " << tdir << "...\n";
    auto tm = std::make_unique<models::TranslationModel>(models::TranslationModel::load(tdir));
    std::cerr << "translation: " << tdir << " (" << tm->arch() << ")\n";
    ex.set_translation(std::move(tm), fs::path(tdir).filename().string(), tdir);
  }

  // A Vision Transformer for the Image tab: --vit, or the project's models/vit-fashion-mnist when present;
  // Fashion-MNIST's test pictures beside it when Debian's dataset-fashion-mnist is installed (else: uploads only).
  std::string vdir = s.vit;
  if (vdir.empty())
    if (const std::string d = cli::data_root() + "/models/vit-fashion-mnist"; fs::exists(d + "/config.json")) vdir = d;
  if (!vdir.empty()) {
    std::cerr << "loading Vision Transformer " << vdir << "...\n";
    models::LoadedViT vit = models::load_vit(vdir);
    data::ImageDataset test;
    std::string test_name = "Fashion-MNIST";
    const models::ImagePreprocess& pp = vit.preprocess;
    if (vit.model->config().num_channels == 1 && fs::exists(s.data + "/t10k-images-idx3-ubyte.gz"))
      test = data::load_fashion_mnist("test", s.data);
    if (test.size() > 0 && !pp.do_resize && (test.height != pp.height || test.width != pp.width)) {
      std::cerr << "the Image tab's test pictures are " << test.width << "x" << test.height << " but " << vdir
                << " reads " << pp.width << "x" << pp.height << " without resizing: it explains uploaded PNGs only\n";
      test = data::ImageDataset();
    } else if (test.size() == 0)
      std::cerr << "no test pictures for the Image tab (" << s.data << " has no Fashion-MNIST, or the model reads "
                << "colour): it explains uploaded PNGs only\n";
    ex.set_image(std::make_unique<explore::ImageExplorer>(std::move(vit), fs::path(vdir).filename().string(), vdir,
                                                          std::move(test), test_name));
  }

  // Speech models for the Audio tab: --kwt / --las, or the project's models/kwt-words and models/las-words when
  // present; KTuberling's recordings (Debian's ktuberling-data) as the test set when installed.
  auto shipped = [](const std::string& given, const char* name) {
    if (!given.empty()) return given;
    const std::string d = cli::data_root() + "/models/" + name;
    return fs::exists(d + "/config.json") ? d : std::string();
  };
  const std::string kdir = shipped(s.kwt, "kwt-words"), ldir = shipped(s.las, "las-words");
  if (!kdir.empty() || !ldir.empty()) {
    models::LoadedKWT kwt;
    models::LoadedLAS las;
    if (!kdir.empty()) {
      std::cerr << "loading Keyword Transformer " << kdir << "...\n";
      kwt = models::load_kwt(kdir);
    }
    if (!ldir.empty()) {
      std::cerr << "loading Listen, Attend and Spell " << ldir << "...\n";
      las = models::load_las(ldir);
    }
    ex.set_audio(std::make_unique<explore::AudioExplorer>(std::move(kwt), std::move(las)));
  }

  // An image+text dual encoder for the Multimodal tab: --clip, or the project's models/clip-emoji when present, over
  // the emoji of Debian's fonts-noto-color-emoji and unicode-cldr-core (without them the tab says what is missing).
  const std::string cdir = shipped(s.clip, "clip-emoji");
  if (!cdir.empty()) {
    std::cerr << "loading image+text model " << cdir << "...\n";
    models::LoadedClip clip = models::load_clip(cdir);
    data::EmojiOptions eo;
    eo.size = clip.model->config().image_size;
    // The emoji are drawn on the tab's first request; what they need is checked now.
    const std::string cldr = eo.cldr_dir + "/annotations/en.xml";
    if (fs::exists(eo.font) && fs::exists(cldr)) {
      ex.set_multimodal(std::make_unique<explore::MultimodalExplorer>(std::move(clip), fs::path(cdir).filename().string(),
                                                                      cdir, [eo] { return data::load_emoji(eo); }));
    } else {
      const std::string why = "no Multimodal tab: " + (fs::exists(eo.font) ? cldr : eo.font) +
                              " is missing (install Debian's fonts-noto-color-emoji and unicode-cldr-core: "
                              "bash scripts/setup.sh run)";
      ATTN_CHECK(s.clip.empty(), "attn explore", why);  // asked for by name: say why it cannot be shown
      std::cerr << why << "\n";
    }
  }

  httplib::Server svr;
  svr.set_payload_max_length(static_cast<size_t>(
      std::max({ex.limits().max_body_bytes, ex.limits().max_image_bytes, ex.limits().max_audio_bytes})));
  // One worker per connection for up to 48 clients (keep-alive connections hold a worker while idle); the
  // model itself still answers one request at a time (Explorer's mutex).
  svr.new_task_queue = [] { return new httplib::ThreadPool(48); };
  svr.set_keep_alive_timeout(2);
  svr.set_read_timeout(10);
  svr.set_write_timeout(60);
  auto api = [&ex](const httplib::Request& req, httplib::Response& res) {
    std::map<std::string, std::string> query;
    for (const auto& [k, v] : req.params) query.emplace(k, v);  // the first value of a repeated key
    explore::ApiResponse r = ex.handle(req.method, req.path, query, req.body);
    res.status = r.status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(r.body, "application/json");
  };
  svr.Get("/api/.*", api);
  svr.Post("/api/.*", api);
  svr.Get("/.*", [](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.path == "/" ? "index.html" : req.path.substr(1);
    const cli::WebAsset* a = cli::find_web_asset(name);  // only embedded files: nothing else is reachable
    if (a == nullptr && name == "index.html") {
      res.set_content(kNoFrontEnd, "text/html; charset=utf-8");
      return;
    }
    if (a == nullptr) {
      res.status = 404;
      res.set_content("{\"error\": \"not found (the explorer serves only its own page and /api/...)\"}",
                      "application/json");
      return;
    }
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(std::string(a->text()), a->content_type);
  });
  auto not_allowed = [](const httplib::Request& req, httplib::Response& res) {
    res.status = 405;
    res.set_content("{\"error\": \"method " + req.method + " is not allowed (GET and POST only)\"}",
                    "application/json");
  };
  svr.Put("/.*", not_allowed);
  svr.Delete("/.*", not_allowed);
  svr.Patch("/.*", not_allowed);
  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      const char* what = res.status == 413 ? "the request is too large" : "the request could not be served";
      res.set_content("{\"error\": \"" + std::string(what) + " (HTTP " + std::to_string(res.status) + ")\"}",
                      "application/json");
    }
  });

  int port = s.port;
  if (port == 0) {
    port = svr.bind_to_any_port(s.host);
    ATTN_CHECK(port > 0, "attn explore", "cannot listen on " << s.host << " (any port)");
  } else {
    ATTN_CHECK(svr.bind_to_port(s.host, port), "attn explore",
               "cannot listen on " << s.host << ":" << port << " (in use? try --port 0 for any free port)");
  }
  widen_listen_backlog(port);
  const auto& m = ex.config();
  std::cerr << "model: " << dir << " — " << m.n_layer << " layers × " << m.n_head << " heads, context " << m.block_size
            << "\n";
  if (s.host != "127.0.0.1" && s.host != "localhost" && s.host != "::1")
    std::cerr << "warning: listening on " << s.host << ", reachable from other machines\n";
  std::cout << "explorer: http://" << (s.host == "0.0.0.0" ? "127.0.0.1" : s.host) << ":" << port << "/" << std::endl;
  g_server = &svr;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  svr.listen_after_bind();
  g_server = nullptr;
  std::cerr << "explorer stopped\n";
  return 0;
}

}  // namespace

ATTN_COMMAND(explore, "The Attention Explorer: a local web UI over a GPT's attention") {
  auto s = std::make_shared<ExploreSettings>();
  sub.add_option("--model", s->model,
                 "attn train gpt checkpoint or Hugging Face GPT-2 folder (default: the project's models/gpt-words, "
                 "else models/gpt-moby-dick)");
  sub.add_option("--translation", s->translation,
                 "attn train translate folder for the Translation tab (default: models/translate-transformer or "
                 "-bahdanau when present)");
  sub.add_option("--kwt", s->kwt,
                 "Keyword Transformer folder for the Audio tab: attn train audio (default: models/kwt-words)");
  sub.add_option(
      "--las", s->las,
      "Listen, Attend and Spell folder for the Audio tab: attn train audio --arch las (default: models/las-words)");
  sub.add_option("--vit", s->vit,
                 "ViT folder for the Image tab: attn train vit or Hugging Face (default: models/vit-fashion-mnist)");
  sub.add_option("--clip", s->clip,
                 "Image+text model folder for the Multimodal tab: attn train clip (default: models/clip-emoji)");
  sub.add_option("--data", s->data, "Folder of Fashion-MNIST's files, the Image tab's test pictures")
      ->capture_default_str();
  sub.add_option("--host", s->host, "Address to listen on (loopback unless you mean otherwise)")->capture_default_str();
  sub.add_option("--port", s->port, "Port (0 = any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  return [s]() -> int { return run_explorer(*s); };
}

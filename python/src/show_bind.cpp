// The explorer's views inside a notebook: the standalone page of `attn viz` (attn/explore/static_page.h) built
// from the front end embedded in this module, for explore_attention.show to put in an <iframe srcdoc>.
#include <filesystem>

#include "attn/explore/explorer.h"
#include "attn/explore/static_page.h"
#include "attn/models/gpt_loader.h"
#include "attn/web_assets.h"
#include "convert.h"

namespace attn::python {

void bind_show(py::module_& m) {
  m.def(
      "static_page",
      [](const std::string& dir, const std::string& text, const std::string& view, int64_t max_neuron_floats,
         int64_t generate, const std::string& prompt, double temperature, int64_t top_k, double top_p, int64_t seed) {
        const std::string root = repo_root();
        const cli::WebAsset* index = cli::find_web_asset("index.html");
        const cli::WebAsset* js = cli::find_web_asset("app.js");
        const cli::WebAsset* css = cli::find_web_asset("style.css");
        if (index == nullptr || js == nullptr || css == nullptr)
          throw py::value_error("this build has no front end (web/)");
        explore::StaticPageOptions options;
        options.view = view;
        options.max_neuron_floats = max_neuron_floats;
        if (generate < 0) throw py::value_error("max_new_tokens must be >= 0, got " + std::to_string(generate));
        options.generate = {prompt, generate, temperature, top_p, top_k, seed};
        py::gil_scoped_release nogil;
        explore::Explorer ex(models::load_gpt(dir, root), std::filesystem::path(dir).filename().string());
        return explore::static_page(ex, text, dir,
                                    {std::string(index->text()), std::string(js->text()), std::string(css->text())},
                                    options)
            .html;
      },
      py::arg("dir"), py::arg("text"), py::arg("view") = "heads", py::arg("max_neuron_floats") = 250'000,
      py::arg("max_new_tokens") = 0, py::arg("prompt") = "", py::arg("temperature") = 0.0, py::arg("top_k") = 0,
      py::arg("top_p") = 1.0, py::arg("seed") = 0,
      "The explorer's page for one text, every answer embedded (what `attn viz` writes), with a recorded generation "
      "of max_new_tokens tokens for the GPT explorer tab when > 0: HTML text");
}

}  // namespace attn::python

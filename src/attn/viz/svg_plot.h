// Line plots as standalone SVG text: loss curves and other y-vs-x figures for lessons and training.
//
//   viz::LinePlot plot("Training loss", "step", "loss");
//   plot.add_series("train", xs, ys);
//   plot.save("out/loss.svg");       // atomically; throws attn::Error naming the path on failure
//
// (Heatmaps and PNG output through cairo come with the attention figures.)
#pragma once
#include <string>
#include <vector>

namespace attn::viz {

class LinePlot {
 public:
  LinePlot(std::string title, std::string x_label, std::string y_label);
  LinePlot& add_series(std::string name, std::vector<double> x, std::vector<double> y);
  LinePlot& log_y(bool on = true);
  std::string to_svg(int width = 640, int height = 400) const;
  void save(const std::string& path, int width = 640, int height = 400) const;

 private:
  struct Series {
    std::string name;
    std::vector<double> x, y;
  };
  std::string title_, x_label_, y_label_;
  std::vector<Series> series_;
  bool log_y_ = false;
};

}  // namespace attn::viz

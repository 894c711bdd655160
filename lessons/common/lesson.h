// A lesson reads like a notebook: prose, a few lines of code, what it printed, a figure.
// This tiny header gives every lesson the same shape:
//
//   int main(int argc, char** argv) {
//     Lesson L(argc, argv, "Tensors and autograd");
//     L.step("A tensor is a block of numbers with a shape");   // a numbered heading
//     L.say("...");                                             // prose
//     ... code ...; std::cout << t << "\n";                     // what it printed
//     plot.save(L.figure("loss.svg"));                          // figures go under --out
//   }
//
// Flags: --out DIR (default out/<lesson id>), --describe (print the title and exit).
#pragma once
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "attn/kernels/gemm.h"

class Lesson {
 public:
  Lesson(int argc, char** argv, std::string title) : title_(std::move(title)) {
    attn::kernels::reexec_with_blas_kernel_for_this_cpu(argv);  // a CPU newer than OpenBLAS: its AVX2/AVX-512 kernels
    std::filesystem::path exe(argv[0]);
    out_ = "out/" + exe.parent_path().filename().string() + "/" + exe.filename().string();
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--describe") {
        std::cout << title_ << "\n";
        std::exit(0);
      } else if (a == "--out" && i + 1 < argc) {
        out_ = argv[++i];
      } else {
        std::cerr << "usage: " << argv[0] << " [--out DIR] [--describe]\n  --out DIR   where figures go (default "
                  << out_ << ")\n  --describe  print the lesson's title and exit\n";
        std::exit(2);
      }
    }
    std::filesystem::create_directories(out_);
    std::cout << "# " << title_ << "\n";
  }

  void step(const std::string& heading) { std::cout << "\n## " << ++n_ << ". " << heading << "\n\n"; }
  void say(const std::string& prose) { std::cout << prose << "\n"; }
  // Path for a figure inside the output directory; also announces it.
  std::string figure(const std::string& name) {
    const std::string p = (std::filesystem::path(out_) / name).string();
    std::cout << "[figure] " << p << "\n";
    figures_.push_back(p);
    return p;
  }
  const std::string& out_dir() const { return out_; }

 private:
  std::string title_, out_;
  int n_ = 0;
  std::vector<std::string> figures_;
};

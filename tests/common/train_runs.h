// What the training-run tests compare between two checkpoint folders (a run on one process and on N ranks, a run
// stopped and resumed): the losses of metrics.jsonl and the weights of model.safetensors.
#pragma once
#include <string>
#include <vector>

namespace attn::testing {

// The "loss" of every metrics.jsonl line of `split` ("train", "val"), in order.
std::vector<double> logged_losses(const std::string& dir, const std::string& split);
// The largest |difference| between two folders' model.safetensors (every tensor in both; a missing one fails).
float max_weight_diff(const std::string& a, const std::string& b);
// Same length, and each pair within `tol` (failures name `what` and the index).
void expect_close(const std::vector<double>& a, const std::vector<double>& b, double tol, const char* what);

// A small dictionary in trans-de-en's format at `path`: `pairs` example sentences about animals ("Der Hund schläft
// heute 7 Mal. :: The dog sleeps 7 times today.", about 5% each go to validation and test), each entry with its
// headword pair as a phrase pair.
void write_animal_dictionary(const std::string& path, int pairs);

}  // namespace attn::testing

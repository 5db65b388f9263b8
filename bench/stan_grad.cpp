// Times Stan's log density + gradient as Stan's NUTS calls it: the model is built once from its data, then
// stan::model::log_prob_grad<true, true> (Jacobian adjusted, propto = true as in sampling) is called in a
// loop. Compiled by bench/bench_stan.py together with the stanc C++ of a program (MODEL_CPP) with the same
// headers, macros and -O3 flags as httpstan uses for its sampler.
//
// usage: stan_grad data.json points.txt seconds [threads]
//   points.txt: one unconstrained point per line (space separated). Prints one JSON object: microseconds per
//   call with 1 thread (and with `threads` threads each looping over the points on its own model copy),
//   and log density and gradient at every point (propto = false, to compare with PyMC's full log density).
#include MODEL_CPP

#include <stan/io/json/json_data.hpp>
#include <stan/model/log_prob_grad.hpp>

#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

static double time_loop(stan::model::model_base &model, const std::vector<std::vector<double>> &points,
                        double seconds) {
  std::vector<int> params_i;
  std::vector<double> gradient;
  long calls = 0;
  double sink = 0;
  auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < seconds) {
    for (const auto &p : points) {
      std::vector<double> x(p);
      sink += stan::model::log_prob_grad<true, true>(model, x, params_i, gradient, nullptr);
    }
    calls += points.size();
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  if (sink == 12345.678) std::cerr << sink;  // keep the loop
  return 1e6 * elapsed / calls;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    std::cerr << "usage: stan_grad data.json points.txt seconds [threads]\n";
    return 2;
  }
  std::ifstream data_stream(argv[1]);
  stan::json::json_data data(data_stream);
  std::vector<std::vector<double>> points;
  std::ifstream point_stream(argv[2]);
  std::string line;
  while (std::getline(point_stream, line)) {
    std::istringstream in(line);
    std::vector<double> p;
    double v;
    while (in >> v) p.push_back(v);
    if (!p.empty()) points.push_back(p);
  }
  double seconds = std::stod(argv[3]);
  int threads = argc > 4 ? std::stoi(argv[4]) : 1;
  stan::model::model_base &model = new_model(data, 1, &std::cerr);

  std::cout << std::setprecision(17) << "{\"num_params\": " << model.num_params_r() << ", \"values\": [";
  std::vector<int> params_i;
  for (size_t k = 0; k < points.size(); ++k) {
    std::vector<double> x(points[k]), gradient;
    double lp = stan::model::log_prob_grad<false, true>(model, x, params_i, gradient, nullptr);
    std::cout << (k ? ", " : "") << "[" << lp;
    for (double g : gradient) std::cout << ", " << g;
    std::cout << "]";
  }
  std::cout << "]";
  double one = time_loop(model, points, seconds);
  std::cout << ", \"us_per_call_1\": " << one;
  if (threads > 1) {
    std::vector<double> per(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        stan::math::ChainableStack thread_tape;  // each thread needs its own autodiff tape (STAN_THREADS)
        stan::model::model_base &own = new_model(data, 1, &std::cerr);
        per[t] = time_loop(own, points, seconds);
      });
    for (auto &th : pool) th.join();
    double mean = 0;
    for (double v : per) mean += v / threads;
    std::cout << ", \"us_per_call_threads\": " << mean << ", \"threads\": " << threads;
  }
  std::cout << "}" << std::endl;
  return 0;
}

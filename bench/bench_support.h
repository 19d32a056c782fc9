#pragma once
// Shared by the microbenchmarks: command-line handling, and a reporter that
// prints Google Benchmark's console output as usual plus keeps each aggregate's
// CPU time per iteration in ns, keyed by benchmark name then aggregate ("min",
// "median", ...), for the tables printed at the end.

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

namespace jwtgate::bench {

struct run_options {
  bool quick = false;  // --quick: a smoke run of a few seconds
  int repetitions = 10;
  double min_time = 0.1;  // seconds per repetition
};

// Google Benchmark's flags plus our --quick; false after an unknown flag.
// Repetitions run in random order across all benchmarks by default: on a shared
// machine a busy second then costs one repetition of many benchmarks, not every
// repetition of one, and the minimum stays clean on both sides of a ratio. A
// later --benchmark_enable_random_interleaving=false wins.
inline bool initialize(int argc, char** argv, run_options& out) {
  std::string interleave = "--benchmark_enable_random_interleaving=true";
  std::vector<char*> args{argv[0], interleave.data()};
  args.insert(args.end(), argv + 1, argv + argc);
  args.push_back(nullptr);
  int count = static_cast<int>(args.size()) - 1;
  benchmark::Initialize(&count, args.data());
  int rest = 1;
  for (int i = 1; i < count; ++i) {
    if (std::strcmp(args[i], "--quick") == 0) out.quick = true;
    else args[rest++] = args[i];
  }
  if (benchmark::ReportUnrecognizedArguments(rest, args.data())) return false;
  if (out.quick) {
    out.repetitions = 3;
    out.min_time = 0.02;
  }
  return true;
}

// The same statistics for every benchmark: repetitions, aggregates only, and the
// minimum, which filters out a shared machine's noise best.
inline benchmark::internal::Benchmark* configure(benchmark::internal::Benchmark* b, const run_options& o) {
  return b->Unit(benchmark::kNanosecond)
      ->Repetitions(o.repetitions)
      ->MinTime(o.min_time)
      ->ReportAggregatesOnly(true)
      ->ComputeStatistics("min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); });
}

class collecting_reporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) {
        failed = true;
        continue;
      }
      if (run.run_type != Run::RT_Aggregate || run.aggregate_unit != benchmark::kTime) continue;
      ns[run.run_name.function_name][run.aggregate_name] =
          run.GetAdjustedCPUTime() * 1e9 / benchmark::GetTimeUnitMultiplier(run.time_unit);
    }
  }

  // 0 when the benchmark did not run (filtered out).
  double get(const std::string& name, const std::string& aggregate) const {
    const auto it = ns.find(name);
    if (it == ns.end()) return 0;
    const auto agg = it->second.find(aggregate);
    return agg == it->second.end() ? 0 : agg->second;
  }

  std::map<std::string, std::map<std::string, double>> ns;
  bool failed = false;
};

}  // namespace jwtgate::bench

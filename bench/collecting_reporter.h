#pragma once
// Shared by the microbenchmarks: Google Benchmark's console output as usual,
// plus each aggregate's CPU time per iteration in ns, keyed by benchmark name
// then aggregate ("min", "median", ...), for the tables printed at the end.

#include <map>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

namespace jwtgate::bench {

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

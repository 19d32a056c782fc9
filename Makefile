# Quick start on Debian 12:  make run   |   make test
BUILD      ?= build
FUZZ_BUILD ?= build-fuzz
JOBS       ?= 2
FUZZ_SECONDS ?= 60
# Fuzzing inside `make test` (a regression run over the seeds and a little
# further); `make fuzz` alone keeps FUZZ_SECONDS. Targets run FUZZ_LANES at once.
TEST_FUZZ_SECONDS ?= 30
FUZZ_LANES ?= $(JOBS)
CMAKE_FLAGS ?=
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
SOAK_SECONDS ?= 300
SOAK_CONNECTIONS ?= 10000
PYTHON3    ?= /usr/bin/python3
# Every step of `make test` says how long it took ("time: STEP N s").
TIMED       = bash scripts/timed.sh
# Sanitizer builds: lightly optimized, line tables only, asserts on.
SANITIZER_CMAKE = -G Ninja -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1"

.PHONY: all deps deps-test build run test unit fuzz bench bench-load bench-http2 bench-revocation bench-scale check-configs clean \
        test-asan test-tsan soak

all: build

deps:
	@bash scripts/install-deps.sh build

deps-test:
	@bash scripts/install-deps.sh test

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/jwtgate demo

# Every test: unit and integration tests through ctest, the fuzz run, the same
# tests on an ASan+UBSan build, then a one-minute soak. README, "Test time",
# has the figures.
test: deps-test $(BUILD)/build.ninja
	@date +%s > $(BUILD)/.make-test-start
	$(TIMED) build cmake --build $(BUILD) -j $(JOBS)
	$(TIMED) ctest ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	$(MAKE) fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	$(MAKE) test-asan
	$(TIMED) soak $(MAKE) soak SOAK_SECONDS=60 SOAK_CONNECTIONS=2000
	@echo "time: make test total $$(( $$(date +%s) - $$(cat $(BUILD)/.make-test-start) )) s"

# The unit and integration tests against an AddressSanitizer + UBSan build
# (the harness sees JWTGATE_SANITIZER=address; a report fails the test).
test-asan: deps-test
	cmake -S . -B $(ASAN_BUILD) $(SANITIZER_CMAKE) -DJWTGATE_SANITIZE=address,undefined
	$(TIMED) asan-build cmake --build $(ASAN_BUILD) -j $(JOBS)
	$(TIMED) asan-ctest ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# The integration tests against a ThreadSanitizer build of the gateway, every
# gateway with two event loops, and the key store's threaded unit test
# (suppressions: tests/tsan.supp).
test-tsan: deps-test
	cmake -S . -B $(TSAN_BUILD) $(SANITIZER_CMAKE) -DJWTGATE_SANITIZE=thread
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target jwtgate unit_keys
	ctest --test-dir $(TSAN_BUILD) --output-on-failure -j $(JOBS) -R 'integration_|unit_keys'

# Many faults at once for SOAK_SECONDS (tests/soak/soak.py says what it checks).
soak: build deps-test
	$(PYTHON3) tests/soak/soak.py --binary $(BUILD)/jwtgate --seconds $(SOAK_SECONDS) \
	  --connections $(SOAK_CONNECTIONS) $(SOAK_ARGS)

unit: deps-test $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) -R unit_

fuzz: deps-test
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DJWTGATE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=clang++
	$(TIMED) fuzz-build cmake --build $(FUZZ_BUILD) -j $(JOBS)
	$(TIMED) fuzz-run bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_LANES)

# Microbenchmarks on Google Benchmark: verify vs bare OpenSSL, then the token
# cache. BENCH_ARGS is passed to both (e.g. --quick, --benchmark_filter=RS256).
bench: deps-test
	cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DJWTGATE_BUILD_BENCH=ON -DJWTGATE_BUILD_TESTS=OFF
	cmake --build build-bench -j $(JOBS) --target jwtgate_bench jwtgate_cache_bench jwtgate_revocation_bench
	./build-bench/bench/jwtgate_bench $(BENCH_ARGS)
	./build-bench/bench/jwtgate_cache_bench $(BENCH_ARGS)
	./build-bench/bench/jwtgate_revocation_bench $(BENCH_ARGS)

# Revocation: the check's cost and memory (Google Benchmark), then the
# propagation delay between two instances through a real redis-server.
bench-revocation: deps-test build
	cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DJWTGATE_BUILD_BENCH=ON -DJWTGATE_BUILD_TESTS=OFF
	cmake --build build-bench -j $(JOBS) --target jwtgate_revocation_bench
	./build-bench/bench/jwtgate_revocation_bench $(BENCH_ARGS)
	JWTGATE_BINARY=$(BUILD)/jwtgate /usr/bin/python3 bench/revocation_propagation.py

bench-load: build
	bash bench/load.sh

# HTTP/2: h2load against jwtgate (h2c, cached token), nginx and HAProxy (h2, no
# auth) at 1 and 2 threads; a gRPC round trip direct and through the gateway;
# RSS per idle HTTP/2 connection. JWTGATE_BINARY picks another binary (then
# nothing is built).
bench-http2:
	bash bench/http2.sh

# Cost per request against the size of the work: routes, keys, cache entries
# (Google Benchmark), then RSS per idle connection (a real gateway). BENCH_ARGS
# goes to the first (e.g. --quick).
bench-scale:
	@bash scripts/install-deps.sh bench
	cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DJWTGATE_BUILD_BENCH=ON -DJWTGATE_BUILD_TESTS=OFF
	cmake --build build-bench -j $(JOBS) --target jwtgate_scale_bench jwtgate
	./build-bench/bench/jwtgate_scale_bench $(BENCH_ARGS)
	JWTGATE_BINARY=build-bench/jwtgate /usr/bin/python3 bench/scale_idle.py

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) build-bench $(ASAN_BUILD) $(TSAN_BUILD)

# Thin wrapper over CMake. `make demo` runs the main job, `make test` the test suite; both
# install missing Debian packages first (`make deps`, a no-op when everything is present).
BUILD     ?= build
ASAN_DIR  ?= build-asan
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=
DEPS := build-essential cmake pkg-config libopenblas-openmp-dev libcjson-dev libcmocka-dev \
        zlib1g-dev libsqlite3-dev sqlite3 libsvm-dev graphviz gnuplot-nox dataset-fashion-mnist python3-torch python3-numpy
# Optional and large: the headless browser of the report's browser test (test_cli_report_browser is
# skipped without it).
DEPS_BROWSER := chromium
# Optional: OpenMPI for the distributed request and build (`make mpi`; docs/scaling.md).
DEPS_MPI := openmpi-bin libopenmpi-dev
MPI_DIR  ?= build-mpi

.PHONY: all deps deps-browser deps-mpi install-debs build test test-unit asan mpi demo bench fuzz valgrind clean help

all: build

help:
	@echo "make deps   install missing Debian packages (apt-get; idempotent)"
	@echo "make deps-browser  also install Chromium for the report's browser test (large; optional)"
	@echo "make        build library, CLI, tests and benchmarks into $(BUILD)/"
	@echo "make test   run the whole test suite (CTest + cmocka)"
	@echo "make asan   build into $(ASAN_DIR)/ with ASan+UBSan and run the unit tests"
	@echo "make mpi    install OpenMPI, build with -DUL_MPI=ON into $(MPI_DIR)/ and run the MPI test (forget/net build --mpi)"
	@echo "make demo   the main job: train and evaluate a model on Fashion-MNIST"
	@echo "make bench  training/inference, Fisher, FIUn and GEMM throughput next to PyTorch (BENCH_QUICK=1: a few minutes)"
	@echo "make fuzz   libFuzzer targets (clang) for the file, registry and text parsers, FUZZ_SECONDS each [60]"
	@echo "make valgrind  the CLI's main paths under valgrind memcheck (no errors, no leaks)"

deps:
	@$(MAKE) --no-print-directory install-debs PKGS="$(DEPS)"

deps-browser: deps
	@$(MAKE) --no-print-directory install-debs PKGS="$(DEPS_BROWSER)"

deps-mpi: deps
	@$(MAKE) --no-print-directory install-debs PKGS="$(DEPS_MPI)"

# install-debs PKGS="...": apt-get install of the packages that are not installed yet
install-debs:
	@missing=""; for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

asan: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUL_SANITIZE=ON -DUL_WERROR=ON $(CMAKE_ARGS)
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -LE 'integration|torch'

# The MPI build: its own directory, so the default build never needs MPI.
mpi: deps-mpi
	cmake -S . -B $(MPI_DIR) -DCMAKE_BUILD_TYPE=Release -DUL_MPI=ON $(CMAKE_ARGS)
	cmake --build $(MPI_DIR) -j $(JOBS)
	cd $(MPI_DIR) && ctest --output-on-failure -L mpi

demo: build
	./scripts/demo.sh $(BUILD)

bench: build
	./bench/run.sh $(BUILD)

FUZZ_SECONDS ?= 60
fuzz: deps
	@command -v clang >/dev/null || { echo "make fuzz needs clang (apt-get install clang libclang-rt-dev)"; exit 1; }
	./fuzz/build.sh build-fuzz $(FUZZ_SECONDS)

valgrind: build
	@command -v valgrind >/dev/null || { echo "make valgrind needs valgrind (apt-get install valgrind)"; exit 1; }
	./scripts/valgrind.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_DIR) $(MPI_DIR) build-fuzz

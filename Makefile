# SPDX-License-Identifier: Apache-2.0
# librisk: plain GNU Makefile.
#
#   make              build lib/librisk.so.X.Y.Z (+ .so.X and .so links) and lib/librisk.a
#   make check        install missing test tools (root) and run every test (see CHECK_STEPS)
#   make docs         Doxygen over include/, warnings as errors, into build/docs/html
#   make bench        build every bench/*.c against lib/librisk.a (-O2) and run them in order
#                     (BENCH_ARGS=... is passed to each)
#   make demo         evaluate examples/books/demo.json and print a readable report
#   make install      lib, headers and librisk.pc under $(DESTDIR)$(PREFIX)
#   make uninstall    remove what install put there
#   make fuzz         build the libFuzzer harnesses (clang) and run each, and the CLI fuzzer, for
#                     FUZZ_SECONDS (default 30) each; new inputs go to build/fuzz/corpus/
#   make check-extra  the cmocka suites under valgrind, and batch evaluation under ThreadSanitizer
#   make clean        remove build/ and lib/
#
# The version lives once, in include/risk/version.h; the soname, the .pc file and the docs
# read it from there.

VERSION_H := include/risk/version.h
MAJOR := $(shell sed -n 's/^\#define RISK_VERSION_MAJOR \([0-9]*\).*/\1/p' $(VERSION_H))
MINOR := $(shell sed -n 's/^\#define RISK_VERSION_MINOR \([0-9]*\).*/\1/p' $(VERSION_H))
PATCH := $(shell sed -n 's/^\#define RISK_VERSION_PATCH \([0-9]*\).*/\1/p' $(VERSION_H))
VERSION := $(MAJOR).$(MINOR).$(PATCH)

# ------------------------------------------------------------------ user-settable variables
CC ?= cc
CXX ?= g++
CFLAGS ?= -O2 -g
CXXFLAGS ?= -O2 -g
CPPFLAGS ?=
LDFLAGS ?=
AR ?= ar
PYTHON ?= python3
DOXYGEN ?= doxygen
PKG_CONFIG ?= pkg-config

DESTDIR ?=
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

# Sanitizer build of the library and the cmocka suites (make check).
SANITIZE ?= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# Fuzzing (docs/fuzzing.md): clang with libFuzzer. `make fuzz` runs each harness this many
# seconds (30 when unset); `make check` only replays the committed corpora when it is unset, and
# also runs each harness this long when it is set (CI: `make check FUZZ_SECONDS=60`).
FUZZ_CC ?= clang
FUZZ_SECONDS ?=
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Known defects the harnesses step around until their fix lands (fuzz/findings/README.md): none
# now; a guard goes here as -DFUZZ_KNOWN_<WHAT>, and `make fuzz FUZZ_KNOWN=` fuzzes without it.
FUZZ_KNOWN ?=
# Arguments given to every benchmark program by `make bench` (e.g. BENCH_ARGS="100000 3").
BENCH_ARGS ?=
# Parallel jobs for the build parts of `make check` (ignored when make already runs with -j).
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# ------------------------------------------------------------------ project flags
WARN_CFLAGS := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
  -Wmissing-prototypes -Werror
NUM_CFLAGS := -ffp-contract=off -fno-fast-math
PROJECT_CFLAGS := $(WARN_CFLAGS) $(NUM_CFLAGS) -fPIC -fvisibility=hidden \
  -DRISK_BUILDING_LIBRARY -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc
# Tests, benchmarks and examples see only the public headers.
CLIENT_CFLAGS := $(WARN_CFLAGS) $(NUM_CFLAGS) -D_POSIX_C_SOURCE=200809L -Iinclude
EXAMPLE_CFLAGS := -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
  -Wmissing-prototypes -Werror -Iinclude
CLIENT_CXXFLAGS := -std=c++11 -Wall -Wextra -pedantic -Werror -Iinclude
# C++ programs over include/risk.hpp (the header-only C++17 wrapper): examples and its test.
CXX17_FLAGS := -std=c++17 -Wall -Wextra -Wpedantic -Wshadow -Werror -Iinclude
LIBS := -lm -pthread
TEST_LIBS := -lcmocka -lm -pthread

# ------------------------------------------------------------------ sources and outputs
HEADERS := include/risk.h $(sort $(wildcard include/risk/*.h))
SRCS := $(sort $(wildcard src/core/*.c src/margin/*.c src/vol/*.c src/liquidation/*.c src/orders/*.c src/snapshot/*.c src/options/*.c src/rates/*.c src/portfolio/*.c src/stress/*.c))
SRC_HEADERS := $(wildcard src/*.h src/*/*.h)
OBJS := $(patsubst src/%.c,build/obj/%.o,$(SRCS))
ASAN_OBJS := $(patsubst src/%.c,build/asan/obj/%.o,$(SRCS))
SONAME := librisk.so.$(MAJOR)
REALNAME := librisk.so.$(VERSION)
LIB_OUTPUTS := lib/$(REALNAME) lib/librisk.so.$(MAJOR) lib/librisk.so lib/librisk.a

TEST_SRCS := $(sort $(filter-out tests/test_util.c,$(wildcard tests/test_*.c)))
TEST_UTIL := $(wildcard tests/test_util.c)
TEST_UTIL_H := $(wildcard tests/*.h)
TESTS := $(patsubst tests/%.c,build/tests/%,$(TEST_SRCS))
ASAN_TESTS := $(patsubst tests/%.c,build/asan/tests/%,$(TEST_SRCS))

BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCHES := $(patsubst bench/%.c,build/bench/%,$(BENCH_SRCS))

EXAMPLE_C := $(sort $(wildcard examples/*.c))
EXAMPLE_CXX := $(sort $(wildcard examples/*.cpp))
EXAMPLES := $(patsubst examples/%.c,build/examples/%,$(EXAMPLE_C)) \
            $(patsubst examples/%.cpp,build/examples/%,$(EXAMPLE_CXX))

DEMO_BOOK := examples/books/demo.json
PYENV := PYTHONPATH=bindings/python
DEPS_ENV := CXX='$(CXX)' DOXYGEN='$(DOXYGEN)' PKG_CONFIG='$(PKG_CONFIG)' FUZZ_CC='$(FUZZ_CC)'

FUZZ_NAMES := $(patsubst fuzz/fuzz_%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZERS := $(addprefix build/fuzz/fuzz_,$(FUZZ_NAMES))
FUZZ_OBJS := $(patsubst src/%.c,build/fuzz/obj/%.o,$(SRCS))
# clang accepts the project's warning flags; -O1 -g as libFuzzer recommends.
FUZZ_CFLAGS := $(WARN_CFLAGS) $(NUM_CFLAGS) -O1 -g $(FUZZ_SANITIZE)
TSAN_CFLAGS := $(WARN_CFLAGS) $(NUM_CFLAGS) -O1 -g -fsanitize=thread -D_POSIX_C_SOURCE=200809L
TSAN_OBJS := $(patsubst src/%.c,build/tsan/obj/%.o,$(SRCS))

# The steps of `make check`, run in this order after the tools and the library are in place.
# Each runs as `make check-STEP`; all run, and any failure fails `make check`.
CHECK_STEPS := spdx unit asan nosimd headers symbols install examples cpp readme python types demo docs fuzz

# The build without vector kernels (-DRISK_NO_SIMD: what every target but x86-64 compiles) of the
# sources that have one, linked with the other objects of the library; the suites of the
# vectorised paths run against it (check-nosimd).
NOSIMD_SRCS := $(shell grep -l RISK_NO_SIMD $(SRCS))
NOSIMD_OBJS := $(patsubst src/%.c,build/nosimd/obj/%.o,$(NOSIMD_SRCS))
NOSIMD_SUITES := test_sweep test_sweep_image test_stress_lanes test_scenario test_tick test_bulk
NOSIMD_TESTS := $(addprefix build/nosimd/tests/,$(filter $(NOSIMD_SUITES),$(patsubst build/tests/%,%,$(TESTS))))

# -j for the build parts of check, unless make already has a jobserver.
SUBMAKE_J = $(if $(findstring -j,$(MAKEFLAGS)),,-j$(CHECK_JOBS))

.PHONY: all check docs bench demo install uninstall clean dist distcheck \
        $(addprefix check-,$(CHECK_STEPS)) check-deps check-market tests asan-tests nosimd-tests examples \
        fuzz fuzzers check-extra check-valgrind check-tsan

# ------------------------------------------------------------------ library
all: $(LIB_OUTPUTS)

build/obj/%.o: src/%.c $(HEADERS) $(SRC_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(PROJECT_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

lib/$(REALNAME): $(OBJS) src/librisk.map
	@mkdir -p lib
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/librisk.map -Wl,--no-undefined \
	  $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

lib/librisk.so.$(MAJOR): lib/$(REALNAME)
	ln -sf $(REALNAME) $@
lib/librisk.so: lib/librisk.so.$(MAJOR)
	ln -sf $(SONAME) $@

lib/librisk.a: $(OBJS)
	@mkdir -p lib
	rm -f $@
	$(AR) rcs $@ $(OBJS)

# ------------------------------------------------------------------ sanitizer library (build/asan)
build/asan/obj/%.o: src/%.c $(HEADERS) $(SRC_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(PROJECT_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(SANITIZE) -c $< -o $@

build/asan/librisk.a: $(ASAN_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $(ASAN_OBJS)

# ------------------------------------------------------------------ no vector kernels (build/nosimd)
build/nosimd/obj/%.o: src/%.c $(HEADERS) $(SRC_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(PROJECT_CFLAGS) $(CPPFLAGS) $(CFLAGS) -DRISK_NO_SIMD -c $< -o $@

build/nosimd/librisk.a: $(NOSIMD_OBJS) $(filter-out $(patsubst src/%.c,build/obj/%.o,$(NOSIMD_SRCS)),$(OBJS))
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

# ------------------------------------------------------------------ fuzz harnesses (build/fuzz)
# The library again with coverage instrumentation and ASan + UBSan; each fuzz/fuzz_NAME.c is a
# libFuzzer program with its seed corpus in fuzz/corpus/NAME/ (docs/fuzzing.md).
build/fuzz/obj/%.o: src/%.c $(HEADERS) $(SRC_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(PROJECT_CFLAGS) $(CPPFLAGS) -O1 -g $(FUZZ_SANITIZE) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/librisk.a: $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $(FUZZ_OBJS)

build/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_util.h $(HEADERS) build/fuzz/librisk.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_KNOWN) -D_POSIX_C_SOURCE=200809L -Iinclude -Ifuzz $(CPPFLAGS) \
	  -o $@ $< \
	  build/fuzz/librisk.a -lm -pthread

fuzzers: $(FUZZERS)

# ------------------------------------------------------------------ ThreadSanitizer (build/tsan)
build/tsan/obj/%.o: src/%.c $(HEADERS) $(SRC_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(PROJECT_CFLAGS) $(CPPFLAGS) -O1 -g -fsanitize=thread -c $< -o $@

build/tsan/librisk.a: $(TSAN_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $(TSAN_OBJS)

build/tsan/tsan_batch: tests/tsan/tsan_batch.c $(HEADERS) build/tsan/librisk.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(TSAN_CFLAGS) -Iinclude $(CPPFLAGS) -o $@ $< build/tsan/librisk.a -lm -pthread

# ------------------------------------------------------------------ cmocka suites
# Each tests/test_*.c is its own program: the suite + tests/test_util.c (when present) + the
# static library.
tests: $(TESTS)
asan-tests: $(ASAN_TESTS)

build/tests/%: tests/%.c $(TEST_UTIL) $(TEST_UTIL_H) $(HEADERS) lib/librisk.a
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -Itests $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_UTIL) lib/librisk.a $(TEST_LIBS)

build/asan/tests/%: tests/%.c $(TEST_UTIL) $(TEST_UTIL_H) $(HEADERS) build/asan/librisk.a
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -Itests $(CPPFLAGS) $(CFLAGS) $(SANITIZE) $(LDFLAGS) -o $@ $< $(TEST_UTIL) \
	  build/asan/librisk.a $(TEST_LIBS)

nosimd-tests: $(NOSIMD_TESTS)

build/nosimd/tests/%: tests/%.c $(TEST_UTIL) $(TEST_UTIL_H) $(HEADERS) build/nosimd/librisk.a
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -Itests $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_UTIL) build/nosimd/librisk.a $(TEST_LIBS)

# The options suite checks against a __float128 reference: libquadmath in its link only.
build/tests/test_options build/asan/tests/test_options: TEST_LIBS += -lquadmath

# ------------------------------------------------------------------ examples (C and C++)
examples: $(EXAMPLES)

build/examples/%: examples/%.c $(HEADERS) lib/$(REALNAME) lib/librisk.so
	@mkdir -p $(dir $@)
	$(CC) $(EXAMPLE_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -Llib -lrisk $(LIBS)

build/examples/%: examples/%.cpp $(HEADERS) include/risk.hpp lib/$(REALNAME) lib/librisk.so
	@mkdir -p $(dir $@)
	$(CXX) $(CXX17_FLAGS) $(CPPFLAGS) $(CXXFLAGS) $(LDFLAGS) -o $@ $< -Llib -lrisk $(LIBS)

# ------------------------------------------------------------------ benchmarks
build/bench/%: bench/%.c $(wildcard bench/*.h) $(HEADERS) lib/librisk.a
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -Ibench $(CPPFLAGS) $(CFLAGS) -O2 $(LDFLAGS) -o $@ $< lib/librisk.a $(LIBS)

# bench_options also times QuantLib's BlackCalculator when Debian's libquantlib0-dev is installed
# (bench/ql_black.cpp; QuantLib is never a dependency of the library); otherwise it says so.
QL_HEADER := $(wildcard /usr/include/ql/pricingengines/blackcalculator.hpp)
ifneq ($(QL_HEADER),)
build/bench/ql_black.o: bench/ql_black.cpp
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -O2 -c $< -o $@

build/bench/bench_options: bench/bench_options.c build/bench/ql_black.o $(wildcard bench/*.h) $(HEADERS) lib/librisk.a
	@mkdir -p $(dir $@)
	$(CC) $(CLIENT_CFLAGS) -Ibench -DBENCH_HAVE_QUANTLIB $(CPPFLAGS) $(CFLAGS) -O2 $(LDFLAGS) -o $@ $< \
	  build/bench/ql_black.o lib/librisk.a -lQuantLib -lstdc++ $(LIBS)
endif

NUMPY_PYTHON ?= /usr/bin/python3
# The sweep's baseline (issue 13 section 2: 3x "today's" positions/s): bench_evaluate of main as it
# was when the issue was filed, built from git history and run right after today's bench_evaluate
# on the same book, so that the ratio is one of the same run (docs/performance.md). Without the
# history (a tarball) it is skipped and said so.
BASELINE_REV ?= 12729ab
build/baseline/bench_evaluate:
	@rm -rf build/baseline && mkdir -p build/baseline/src
	@if git cat-file -e $(BASELINE_REV)^{commit} 2>/dev/null && git archive $(BASELINE_REV) | tar -x -C build/baseline/src \
	  && $(MAKE) -s -C build/baseline/src build/bench/bench_evaluate >build/baseline/build.log 2>&1; then \
	  cp build/baseline/src/build/bench/bench_evaluate $@; \
	else echo "bench: no baseline: $(BASELINE_REV) is not in this clone's history or did not build (build/baseline/build.log)"; fi

bench: $(LIB_OUTPUTS) $(BENCHES) build/baseline/bench_evaluate
	@if [ -z "$(BENCHES)" ]; then echo "bench: no bench/*.c"; fi
	@echo "==> conditions"; date -u; uname -srm; uptime  # tools/bench_summary.py reads the load
	@set -e; for b in $(BENCHES); do echo "==> $$b $(BENCH_ARGS)"; ./$$b $(BENCH_ARGS); \
	  if [ $$b = build/bench/bench_evaluate ] && [ -x build/baseline/bench_evaluate ]; then \
	    echo "==> bench_evaluate_baseline ($(BASELINE_REV)) $(BENCH_ARGS)"; build/baseline/bench_evaluate $(BENCH_ARGS); fi; done
	@# the numpy baselines run under Debian's python, which has numpy (tools/ensure-deps.sh)
	@echo "==> bench/bench_columns.py $(BENCH_ARGS)"; PYTHONPATH=$(CURDIR)/bindings/python $(NUMPY_PYTHON) bench/bench_columns.py $(BENCH_ARGS)
	@echo "==> bench/bench_sweep_numpy.py $(BENCH_ARGS)"; PYTHONPATH=$(CURDIR)/bindings/python $(NUMPY_PYTHON) bench/bench_sweep_numpy.py $(BENCH_ARGS)
	@echo "==> bench/bench_cli.py"; PYTHONPATH=$(CURDIR)/bindings/python $(PYTHON) bench/bench_cli.py
	@echo "==> conditions"; date -u; uptime

# ------------------------------------------------------------------ demo
demo: $(LIB_OUTPUTS)
	$(PYENV) $(PYTHON) -m librisk report $(DEMO_BOOK)

# ------------------------------------------------------------------ docs
# The API pass is strict (every declaration documented, warnings fail); the site pass adds the
# README as the main page, docs/*.md as pages, search and man pages, and logs markdown warnings.
docs:
	@mkdir -p build/docs
	RISK_VERSION=$(VERSION) $(DOXYGEN) docs/Doxyfile
	RISK_VERSION=$(VERSION) $(DOXYGEN) docs/Doxyfile.site
	@echo "docs: build/docs/html/index.html (the README; guides under Related Pages), man pages in build/docs/man"

# ------------------------------------------------------------------ install / uninstall
# librisk.pc: libdir and includedir are written relative to ${prefix} when they lie under it.
PC_LIBDIR := $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
PC_INCLUDEDIR := $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

install: $(LIB_OUTPUTS)
	@mkdir -p build
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(PC_LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    pkgconfig/librisk.pc.in > build/librisk.pc
	install -d '$(DESTDIR)$(LIBDIR)' '$(DESTDIR)$(INCLUDEDIR)/risk' '$(DESTDIR)$(PKGCONFIGDIR)'
	install -m 0755 lib/$(REALNAME) '$(DESTDIR)$(LIBDIR)/$(REALNAME)'
	ln -sf $(REALNAME) '$(DESTDIR)$(LIBDIR)/$(SONAME)'
	ln -sf $(SONAME) '$(DESTDIR)$(LIBDIR)/librisk.so'
	install -m 0644 lib/librisk.a '$(DESTDIR)$(LIBDIR)/librisk.a'
	install -m 0644 include/risk.h '$(DESTDIR)$(INCLUDEDIR)/risk.h'
	install -m 0644 include/risk.hpp '$(DESTDIR)$(INCLUDEDIR)/risk.hpp'
	install -m 0644 $(filter include/risk/%,$(HEADERS)) '$(DESTDIR)$(INCLUDEDIR)/risk/'
	install -m 0644 build/librisk.pc '$(DESTDIR)$(PKGCONFIGDIR)/librisk.pc'
	install -d '$(DESTDIR)$(MANDIR)/man1' '$(DESTDIR)$(MANDIR)/man3'
	install -m 0644 docs/man/librisk.1 '$(DESTDIR)$(MANDIR)/man1/librisk.1'
	install -m 0644 docs/man/librisk.3 '$(DESTDIR)$(MANDIR)/man3/librisk.3'
	@# the per-header pages of `make docs`, when built, as risk_<header>.3
	@if [ -d build/docs/man/man3 ]; then for f in build/docs/man/man3/*.h.3; do \
	  install -m 0644 "$$f" '$(DESTDIR)$(MANDIR)/man3/'"risk_$$(basename $$f)"; done; fi

uninstall:
	rm -f '$(DESTDIR)$(LIBDIR)/$(REALNAME)' '$(DESTDIR)$(LIBDIR)/$(SONAME)' \
	      '$(DESTDIR)$(LIBDIR)/librisk.so' '$(DESTDIR)$(LIBDIR)/librisk.a' \
	      '$(DESTDIR)$(PKGCONFIGDIR)/librisk.pc' '$(DESTDIR)$(INCLUDEDIR)/risk.h' \
	      '$(DESTDIR)$(INCLUDEDIR)/risk.hpp' '$(DESTDIR)$(MANDIR)/man1/librisk.1' \
	      '$(DESTDIR)$(MANDIR)/man3/librisk.3' '$(DESTDIR)$(MANDIR)/man3/risk_'*.h.3
	rm -f $(patsubst include/%,'$(DESTDIR)$(INCLUDEDIR)/%',$(filter include/risk/%,$(HEADERS)))
	-rmdir '$(DESTDIR)$(INCLUDEDIR)/risk' 2>/dev/null || true

# ------------------------------------------------------------------ check
# The tools first (tools/ensure-deps.sh installs them as root, else names the apt-get command),
# then the library; both stop the check when they fail. Then every step in CHECK_STEPS runs,
# and a summary line closes the run ("check: N passed, N failed", counting steps).
check:
	@$(DEPS_ENV) sh tools/ensure-deps.sh
	@$(MAKE) --no-print-directory $(SUBMAKE_J) all
	@failed=""; passed=0; \
	for s in $(CHECK_STEPS); do \
	  echo "==> check-$$s"; \
	  if $(MAKE) --no-print-directory check-$$s; then passed=$$((passed + 1)); \
	  else failed="$$failed $$s"; echo "==> check-$$s FAILED"; fi; \
	done; \
	nfailed=$$(echo $$failed | wc -w); \
	if [ -n "$$failed" ]; then echo "==> failed steps:$$failed"; fi; \
	echo "check: $$passed passed, $$nfailed failed"; \
	test -z "$$failed"

check-spdx:
	@sh tools/check-spdx.sh

check-deps:
	@$(DEPS_ENV) sh tools/ensure-deps.sh

check-unit:
	@$(MAKE) --no-print-directory $(SUBMAKE_J) tests
	@sh tools/run-suites.sh unit $(TESTS)

check-asan:
	@$(MAKE) --no-print-directory $(SUBMAKE_J) asan-tests
	@ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 sh tools/run-suites.sh asan $(ASAN_TESTS)

check-nosimd:
	@$(MAKE) --no-print-directory $(SUBMAKE_J) nosimd-tests
	@sh tools/run-suites.sh nosimd $(NOSIMD_TESTS)

check-headers:
	@CC='$(CC)' CXX='$(CXX)' sh tests/abi/headers.sh $(HEADERS)

check-symbols: $(LIB_OUTPUTS)
	@CC='$(CC)' sh tests/abi/symbols.sh lib/$(REALNAME) lib/librisk.a $(SONAME)
	@CC='$(CC)' sh tests/abi/compat.sh lib/$(REALNAME)

check-install: $(LIB_OUTPUTS)
	@CC='$(CC)' PKG_CONFIG='$(PKG_CONFIG)' MAKE='$(MAKE)' sh tests/abi/install.sh $(VERSION)

check-examples:
	@$(MAKE) --no-print-directory $(SUBMAKE_J) examples
	@if [ -z "$(EXAMPLES)" ]; then echo "examples: none found" >&2; exit 1; fi
	@set -e; for e in $(EXAMPLES); do echo "--> $$e"; LD_LIBRARY_PATH=lib ./$$e; done

check-cpp: $(LIB_OUTPUTS) include/risk.hpp tests/cpp/test_hpp.cpp
	@mkdir -p build/tests
	$(CXX) $(CXX17_FLAGS) $(CPPFLAGS) $(CXXFLAGS) $(LDFLAGS) -o build/tests/test_hpp tests/cpp/test_hpp.cpp -Llib -lrisk $(LIBS)
	@LD_LIBRARY_PATH=lib ./build/tests/test_hpp

check-readme: build/examples/quickstart
	@$(PYENV) $(PYTHON) tools/check-readme.py README.md examples/quickstart.c build/examples/quickstart

# Two passes, and no test may be skipped: the standard-library-only pass (the bindings need
# nothing else; only the tests of optional numpy/pandas support and of the matplotlib chart may
# skip there), then the suites with those tests under Debian's python, which has numpy, pandas
# and matplotlib, with no skip at all.
check-python: $(LIB_OUTPUTS)
	@if [ ! -d tests/python ]; then echo "python: tests/python is missing" >&2; exit 1; fi
	@PYTHONPATH=$(CURDIR)/bindings/python $(PYTHON) tools/run-python-tests.py \
	  --allow-skip 'numpy not installed|matplotlib not installed|distributed not installed' tests/python
	@echo "python (numpy, pandas, scipy, matplotlib, distributed): /usr/bin/python3 test_bindings test_vol test_repr test_options test_var test_levtoken test_dask test_html_report"
	@PYTHONPATH=$(CURDIR)/bindings/python /usr/bin/python3 tools/run-python-tests.py tests/python \
	  test_bindings test_vol test_repr test_options test_var test_levtoken test_dask test_html_report

# mypy over the Python package (Debian's mypy; settings in pyproject.toml [tool.mypy]): fails
# when a function lacks annotations or when the annotations and the code disagree.
MYPY ?= mypy
check-types:
	@cd bindings/python && $(MYPY) --config-file ../../pyproject.toml -p librisk

# The optional, larger run on real market data (../shared/data/market or $$LIBRISK_MARKET_DATA):
# fails when the data is missing.
check-market: $(LIB_OUTPUTS)
	@PYTHONPATH=$(CURDIR)/bindings/python $(PYTHON) tools/run-python-tests.py tests/market

check-demo:
	@mkdir -p build
	@$(MAKE) --no-print-directory demo > build/demo.out 2>&1 || { cat build/demo.out; exit 1; }
	@head -n 20 build/demo.out; echo "... ($$(wc -l < build/demo.out) lines in build/demo.out)"

check-docs: docs

# ------------------------------------------------------------------ release tarball
# `make dist`: the committed tree (git archive of HEAD) as build/librisk-VERSION.tar.gz.
# `make distcheck`: unpacks it beside a link to ../shared and runs `make check` in it, so the
# tarball alone builds and passes every test.
DIST := librisk-$(VERSION)
dist:
	@mkdir -p build
	git archive --format=tar.gz --prefix=$(DIST)/ -o build/$(DIST).tar.gz HEAD
	@echo "dist: build/$(DIST).tar.gz"

distcheck: dist
	rm -rf build/distcheck && mkdir -p build/distcheck
	tar -xzf build/$(DIST).tar.gz -C build/distcheck
	@if [ -d ../shared ]; then ln -s "$$(cd ../shared && pwd)" build/distcheck/shared; fi
	$(MAKE) -C build/distcheck/$(DIST) check
	@echo "distcheck: build/$(DIST).tar.gz builds and passes make check"

# Replays every committed corpus (each input once), and the CLI fuzzer's seeded cases; with
# FUZZ_SECONDS set, also fuzzes each harness that long (tools/run-fuzz.sh).
check-fuzz: $(LIB_OUTPUTS)
	@$(MAKE) --no-print-directory $(SUBMAKE_J) fuzzers
	@PYTHON='$(PYTHON)' sh tools/run-fuzz.sh check '$(FUZZ_SECONDS)' $(FUZZ_NAMES)

# `make fuzz`: each harness, then the CLI fuzzer, for FUZZ_SECONDS (default 30) each.
fuzz: $(LIB_OUTPUTS)
	@$(DEPS_ENV) sh tools/ensure-deps.sh
	@$(MAKE) --no-print-directory $(SUBMAKE_J) fuzzers
	@PYTHON='$(PYTHON)' sh tools/run-fuzz.sh fuzz '$(or $(FUZZ_SECONDS),30)' $(FUZZ_NAMES)

# ------------------------------------------------------------------ check-extra
# Slower tools, not part of `make check` (docs/fuzzing.md): the cmocka suites under valgrind's
# memcheck (any error fails), and batch evaluation with several threads under ThreadSanitizer.
check-extra:
	@$(DEPS_ENV) RISK_EXTRA=1 sh tools/ensure-deps.sh
	@$(MAKE) --no-print-directory $(SUBMAKE_J) all
	@failed=""; passed=0; \
	for s in valgrind tsan; do \
	  echo "==> check-$$s"; \
	  if $(MAKE) --no-print-directory check-$$s; then passed=$$((passed + 1)); \
	  else failed="$$failed $$s"; echo "==> check-$$s FAILED"; fi; \
	done; \
	echo "check-extra: $$passed passed, $$(echo $$failed | wc -w) failed"; \
	test -z "$$failed"

check-valgrind:
	@$(MAKE) --no-print-directory $(SUBMAKE_J) tests
	@passed=0; failed=""; for t in $(TESTS); do \
	  echo "--> valgrind $$t"; \
	  if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	       --track-origins=yes ./$$t >build/valgrind-$${t##*/}.log 2>&1; \
	  then passed=$$((passed + 1)); else cat build/valgrind-$${t##*/}.log; failed="$$failed $${t##*/}"; fi; \
	done; \
	echo "valgrind suites: $$passed passed, $$(echo $$failed | wc -w) failed$${failed:+ (}$${failed# }$${failed:+)}"; \
	test -z "$$failed"

check-tsan:
	@$(MAKE) --no-print-directory $(SUBMAKE_J) build/tsan/tsan_batch
	@TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ./build/tsan/tsan_batch

# ------------------------------------------------------------------ clean
clean:
	rm -rf build lib

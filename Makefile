# `make run` starts tapebook; `make test` runs every test; `make install` puts tapebook on PATH.
# Each installs what is missing first, and builds the release binary only when its inputs changed.
SWIFT ?= swift
PREFIX ?= $(HOME)/.local
APT_PACKAGES = libopenblas-dev libedit-dev libzmq3-dev libssl-dev graphviz
BIN = .build/release/tapebook
KERNEL = .build/release/tapebook-kernel

.PHONY: run test build release deps bench install uninstall peers

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; \
	fi

# The release binary links the Swift runtime statically, and is not position-independent: the loader then
# has no relocations to apply to the Swift metadata. Both make start-up faster and smaller (measurements:
# docs/DECISIONS.md, "Measurements behind the code").
# Each function is in a section of its own, and the toolchain's lld lays out the functions that runs use
# (tools/link-order.txt, written by tools/make-link-order) together: a run then faults in a few hundred
# KiB of code instead of pages scattered over 10 MB.
ORDER = -Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -use-ld=lld \
	-Xlinker --symbol-ordering-file=$(CURDIR)/tools/link-order.txt -Xlinker --no-warn-symbol-ordering
# Where the building machine has AVX2 and FMA, the code is generated for them (`-target-cpu haswell`):
# the elementwise kernels then run 4 doubles wide instead of 2, and rounding is an instruction instead
# of a call. tapebook is built on the machine it runs on, so this is that machine's
# CPU; elsewhere (no AVX2, or not x86) the default target stays. Swift does not contract a*b+c into an
# FMA, so results are the same to the bit either way.
CPU = $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && [ "$$(uname -m)" = x86_64 ] \
	&& echo -Xswiftc -target-cpu -Xswiftc haswell)
# The C++ library that the Swift runtime needs is linked statically too: the swift driver always adds
# `-lstdc++`, and a directory searched first (.build/static-cxx) holds a `libstdc++.so` that is a linker
# script naming the static archive. A run then does not load and relocate all of libstdc++.so for the few
# functions the runtime calls.
# Without the archive (no libstdc++ development files), the shared library is used as before.
STATIC_CXX = $(shell a=$$(clang -print-file-name=libstdc++.a 2>/dev/null || gcc -print-file-name=libstdc++.a 2>/dev/null); [ -f "$$a" ] && mkdir -p .build/static-cxx \
	&& echo "INPUT($$a)" > .build/static-cxx/libstdc++.so && echo -Xlinker -L$(CURDIR)/.build/static-cxx)

# What the binary is made from (directories too: their times change when a file is added or removed).
# make compares their times with the binary's and skips `swift build`
# when none is newer: even a build with nothing to do costs SwiftPM seconds of planning (many more on
# a busy machine, or after a debug build), and the release link is the slowest step of all.
INPUTS = $(shell find Sources) Package.swift $(wildcard Package.resolved) tools/link-order.txt Makefile

# A generic type's metadata is reached through its accessor, with the witness tables the compiler already
# has, instead of by demangling its name at first use (a run paid that for each such type, with a scan of
# every conformance record for types with requirements): docs/DECISIONS.md, "Round 10".
METADATA = -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors

RELEASE_FLAGS = -Xswiftc -static-stdlib -Xlinker -no-pie $(CPU) $(STATIC_CXX) $(ORDER) $(METADATA)

# The binary is removed first so that it is linked again when only the order or the flags changed.
$(BIN): $(INPUTS) | deps
	rm -f $@
	$(SWIFT) build -c release --product tapebook $(RELEASE_FLAGS)

# The Jupyter kernel is a second executable, which `tapebook kernel` execs: the notebook's own binary links
# neither ZeroMQ nor libcrypto. Built with the same flags, so the modules they share are compiled once.
$(KERNEL): $(INPUTS) | deps
	$(SWIFT) build -c release --product tapebook-kernel $(RELEASE_FLAGS)
	touch $@

build: $(BIN) $(KERNEL)

run: $(BIN)
	@$(BIN)

# tools/export-peers makes .peers/ (TensorFlow, JAX, PyTorch for the export fidelity test) once; where it
# cannot, that test skips with a message, or fails under CI=true.
test: $(BIN) $(KERNEL)
	-tools/export-peers
	$(SWIFT) build --build-tests
	TAPEBOOK_BIN=$(CURDIR)/$(BIN) $(SWIFT) test --skip-build --disable-swift-testing
	TAPEBOOK_BIN=$(CURDIR)/$(BIN) tools/jupyter-tests

# tapebook is one file, and its Jupyter kernel another beside it: installing them is copying them to $(PREFIX)/bin.
install: $(BIN) $(KERNEL)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/tapebook
	install -m 755 $(KERNEL) $(DESTDIR)$(PREFIX)/bin/tapebook-kernel
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; \
		*) echo "$(PREFIX)/bin is not on PATH: add it with  export PATH=\"$(PREFIX)/bin:\$$PATH\"";; esac

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/tapebook $(DESTDIR)$(PREFIX)/bin/tapebook-kernel

# .peers/, the Python environment with TensorFlow, JAX and PyTorch (CPU builds) in which the export
# fidelity test runs the exported scripts; `make test` makes it too. The benchmarks' bench/.venv is
# bench/setup.
peers:
	tools/export-peers

bench: $(BIN)
	bench/run

# SPDX-License-Identifier: MIT
# zcsendd: daemon, client library, zcsendctl and tests.
# `make` builds everything, `make check` runs the tests, `make demo` runs the
# daemon on its embedded defaults and sends a payload through it.

VERSION := 0.1.0
SOVERSION := 1

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# The daemon reads /etc/zcsendd/zcsendd.conf whatever the prefix.
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/zcsendd
# The zcsend package goes where the system's python3 looks for modules of
# PREFIX: Debian's own layout (/usr/lib/python3/dist-packages for /usr, else
# PREFIX/lib/python3.X/dist-packages), or the upstream site-packages.
# Asked only by `make install`.
PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)
PYTHONDIR ?= $(or $(shell $(PYTHON) -c 'import sys, sysconfig; p = sys.argv[1]; \
	print(p + ("/lib/python3/dist-packages" if p == "/usr" else \
	"/lib/python%d.%d/dist-packages" % sys.version_info[:2]) \
	if "deb_system" in sysconfig.get_scheme_names() else \
	sysconfig.get_path("purelib", "posix_prefix", \
	vars={"base": p, "platbase": p}))' '$(PREFIX)' 2>/dev/null),\
	$(PREFIX)/lib/python3/dist-packages)
PY_PKG := $(addprefix client/python/zcsend/,__init__.py _aio.py py.typed)

PKGS := libevent_core liburing libsystemd inih
# zcsendctl metrics --listen serves HTTP with evhttp; only zcsendctl links it.
CTL_PKGS := libevent_core libevent_extra
PKG_CONFIG ?= pkg-config

CC ?= cc
CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wmissing-declarations -Wpointer-arith \
	-Wcast-qual -Wwrite-strings -Wundef -Wformat=2 -Wvla \
	-Wdeclaration-after-statement -Wno-unused-parameter -MMD -MP \
	-fstack-protector-strong -fPIC
WERROR ?= 1
ifeq ($(WERROR),1)
override CFLAGS += -Werror
endif
# A packager's own level (Debian passes -D_FORTIFY_SOURCE=2) wins; else
# ours, replacing any the compiler defines itself. Not under ASan.
ifneq ($(SANITIZE),1)
FORTIFY := $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,\
	-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3)
endif
# Each is asked once, when first used: `make deps` installs them first.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS)))$(PKG_LIBS)
CTL_LIBS = $(eval CTL_LIBS := $(shell $(PKG_CONFIG) --libs $(CTL_PKGS)))$(CTL_LIBS)
override CPPFLAGS += -D_GNU_SOURCE $(FORTIFY) \
	-DZCSD_VERSION='"$(VERSION)"' -DSYSCONFDIR='"$(SYSCONFDIR)"' \
	-Iproto -Iconf -Iclient/include $(PKG_CFLAGS)
LDFLAGS_HARD := -Wl,-z,relro,-z,now

ifeq ($(SANITIZE),1)
BUILD ?= build-san
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
else
BUILD ?= build
endif

# Goals that need no build packages: `make deps` installs them, and
# check-fresh clones the repository into a root of its own.
NODEPS_GOALS := deps deps-ci clean check-fresh
GOALS := $(or $(MAKECMDGOALS),all)
# `make deps demo` (the README's first command): the other goals are made
# by a second make, started once the packages are in, since this one could
# not find them when it read the Makefile (and, under -j, would build them
# beside deps). This make defines nothing else.
DEPS_FIRST := $(strip $(if $(filter deps deps-ci,$(GOALS)),\
	$(filter-out $(NODEPS_GOALS),$(GOALS))))
ifneq ($(DEPS_FIRST),)
$(GOALS): deps-first
	@:
deps-first:
	$(MAKE) --no-print-directory $(filter $(NODEPS_GOALS),$(GOALS))
	$(MAKE) --no-print-directory $(DEPS_FIRST)
.PHONY: $(GOALS) deps-first
else

# Without the libraries every compile would print pkg-config's errors:
# check once, before anything is built, and say what to run.
ifneq ($(filter-out $(NODEPS_GOALS),$(GOALS)),)
PKGS_MISSING := $(strip $(foreach p,$(sort $(PKGS) $(CTL_PKGS)),$(if $(shell \
	$(PKG_CONFIG) --exists $(p) 2>/dev/null && echo y),,$(p))))
ifneq ($(PKGS_MISSING),)
$(error pkg-config does not find $(PKGS_MISSING): run `make deps` (as root, \
	or with sudo) to install the build dependencies)
endif
endif

ifneq ($(V),1)
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2);
endif

PROTO_SRCS := proto/zcs_proto.c proto/zcs_spare.c
CONF_SRCS := $(wildcard conf/*.c)
# The daemon's stages may live in folders of their own under zcsendd/;
# every daemon file includes its headers by name from zcsendd/.
DAEMON_SRCS := $(wildcard zcsendd/*.c zcsendd/*/*.c) $(CONF_SRCS) $(PROTO_SRCS)
LIB_SRCS := $(wildcard client/libzcsend*.c) $(PROTO_SRCS)
# The status and metrics formatters are linked into unit tests too.
CTL_FMT_SRCS := client/ctl_status.c client/status_text.c client/status_json.c \
	client/metrics.c client/metrics_agg.c client/metrics_fmt.c \
	client/metrics_prog.c
CTL_SRCS := client/zcsendctl.c $(wildcard client/cmd_*.c) $(CTL_FMT_SRCS) \
	client/metrics_http.c client/metrics_fetch.c client/metrics_listen.c
TEST_HELPER_SRCS := $(wildcard tests/th/*.c)
TH_LIB_SRCS := tests/th/stream.c	# the helpers that call libzcsend
UNIT_SRCS := $(wildcard tests/unit/test-*.c)
ITEST_SRCS := $(wildcard tests/integration/test-*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)
BENCH_SRCS := $(wildcard tests/bench/*.c)
SOAK_SRCS := $(wildcard tests/soak/*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz-*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
pic = $(patsubst %.c,$(BUILD)/pic/%.o,$(1))

ZCSENDD := $(BUILD)/zcsendd
ZCSENDCTL := $(BUILD)/zcsendctl
LIB_SO := $(BUILD)/libzcsend.so.$(SOVERSION)
LIB_A := $(BUILD)/libzcsend.a
EXAMPLE := $(BUILD)/zcsend-example
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
ITEST_BINS := $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(ITEST_SRCS))
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tests/%,$(TOOL_SRCS))
TEST_BINS := $(UNIT_BINS) $(ITEST_BINS) $(TOOL_BINS)

all: $(ZCSENDD) $(ZCSENDCTL) $(LIB_SO) $(LIB_A) $(EXAMPLE)

# The daemon's default config path comes from SYSCONFDIR: rebuild it
# when that changes (the stamp is rewritten only then).
$(BUILD)/sysconfdir.stamp: FORCE
	$(Q)mkdir -p $(@D)
	$(Q)[ "$$(cat $@ 2>/dev/null)" = '$(SYSCONFDIR)' ] || \
		echo '$(SYSCONFDIR)' > $@
$(call obj,$(DAEMON_SRCS)): $(BUILD)/sysconfdir.stamp
$(call obj,$(filter zcsendd/%,$(DAEMON_SRCS))): override CPPFLAGS += -Izcsendd

$(BUILD)/obj/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -fPIE -c -o $@ $<

# The shared library hides all but its zcs_* symbols.
$(BUILD)/pic/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -fvisibility=hidden -c -o $@ $<

$(ZCSENDD): $(call obj,$(DAEMON_SRCS))
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $(LDFLAGS_HARD) -pie -o $@ $^ $(PKG_LIBS)

$(LIB_SO): $(call pic,$(LIB_SRCS)) client/libzcsend.map
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $(LDFLAGS_HARD) -shared -Wl,-z,defs \
		-Wl,-soname,libzcsend.so.$(SOVERSION) \
		-Wl,--version-script=client/libzcsend.map \
		-o $@ $(call pic,$(LIB_SRCS))
	$(Q)ln -sf libzcsend.so.$(SOVERSION) $(BUILD)/libzcsend.so

$(LIB_A): $(call pic,$(LIB_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# zcsendctl speaks the protocol for status itself, so it links the
# archive (which carries proto/) rather than the shared library.
$(ZCSENDCTL): $(call obj,$(CTL_SRCS)) $(LIB_A)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $(LDFLAGS_HARD) -pie -o $@ $^ $(CTL_LIBS)

$(EXAMPLE): $(call obj,client/example.c) $(LIB_SO)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $(LDFLAGS_HARD) -pie -o $@ $< \
		-L$(BUILD) -lzcsend -Wl,-rpath,'$$ORIGIN'

# Unit tests link the pieces they test; integration tests and tools link
# the shared library, as a user's program would.
$(BUILD)/tests/test-proto: $(call obj,tests/unit/test-proto.c $(PROTO_SRCS))
$(BUILD)/tests/test-state: $(call obj,tests/unit/test-state.c \
	zcsendd/handover/state_read.c $(PROTO_SRCS))
$(call obj,tests/unit/test-state.c): override CPPFLAGS += -Izcsendd
$(BUILD)/tests/test-config: $(call obj,tests/unit/test-config.c $(CONF_SRCS))
$(BUILD)/tests/test-ring: $(call obj,tests/unit/test-ring.c \
	client/libzcsend_ring.c $(PROTO_SRCS))
$(call obj,tests/unit/test-ring.c): override CPPFLAGS += -Iclient
# The exposition writer and the status formatters on hostile and made-up
# status (ctl_status.o needs the archive).
$(BUILD)/tests/test-metrics: $(call obj,tests/unit/test-metrics.c \
	$(CTL_FMT_SRCS)) $(LIB_A)
$(BUILD)/tests/test-status: $(call obj,tests/unit/test-status.c \
	$(CTL_FMT_SRCS)) $(LIB_A)
$(call obj,tests/unit/test-metrics.c tests/unit/test-status.c): \
	override CPPFLAGS += -Iclient
$(BUILD)/tests/test-%: $(call obj,tests/unit/test-%.c)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pie -o $@ $^ $(PKG_LIBS)

$(ITEST_BINS) $(TOOL_BINS): $(BUILD)/tests/%: \
		$(call obj,$(TEST_HELPER_SRCS) $(PROTO_SRCS)) $(LIB_SO)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Itests -fPIE $(LDFLAGS) -pie -o $@ \
		$(filter %.c,$^) $(filter %.o,$^) -L$(BUILD) -lzcsend \
		-Wl,-rpath,'$$ORIGIN/..' -lpthread
# The UDP GSO tests share a receiver, a matcher and a namespace setup.
GSO_SRCS := $(wildcard tests/integration/gso/*.c)
GSO_TESTS := $(BUILD)/tests/test-udp-gso $(BUILD)/tests/test-udp-gso-fallback
$(filter $(ITEST_BINS),$(GSO_TESTS)): $(call obj,$(GSO_SRCS))
$(call obj,$(GSO_SRCS)): override CPPFLAGS += -Itests -Itests/integration
$(foreach t,$(ITEST_SRCS),$(eval $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(t)): $(t)))
$(foreach t,$(TOOL_SRCS),$(eval $(patsubst tests/tools/%.c,$(BUILD)/tests/%,$(t)): $(t)))

BENCH := $(BUILD)/zcsend-bench
SOAK := $(BUILD)/zcsend-soak

# The benchmark and the soak test are programs of their own: a user's
# program, linked against the shared library, plus liburing for the
# in-process baseline rows.
$(BENCH): $(call obj,$(BENCH_SRCS) $(PROTO_SRCS)) $(LIB_SO)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -pie -o $@ $(filter %.o,$^) -L$(BUILD) -lzcsend \
		-Wl,-rpath,'$$ORIGIN' $(PKG_LIBS) -lpthread -lm
# --handover streams through the tests' checked clients and receivers.
$(BENCH): $(call obj,$(TEST_HELPER_SRCS))
$(call obj,tests/bench/handover.c): override CPPFLAGS += -Itests
$(SOAK): $(call obj,$(SOAK_SRCS) $(TEST_HELPER_SRCS) $(PROTO_SRCS)) $(LIB_SO)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -pie -o $@ $(filter %.o,$^) -L$(BUILD) -lzcsend \
		-Wl,-rpath,'$$ORIGIN' -lpthread
$(call obj,$(SOAK_SRCS)): override CPPFLAGS += -Itests

tests: all $(TEST_BINS) $(if $(BENCH_SRCS),$(BENCH)) $(if $(SOAK_SRCS),$(SOAK))

BENCH_ARGS ?=
bench: all $(BENCH)
	$(Q)$(BENCH) $(BENCH_ARGS)

# One --json run per size, drawn by tests/bench/plot.gp.
bench-plot: all $(BENCH)
	$(Q)command -v gnuplot >/dev/null || \
		{ echo "bench-plot needs gnuplot (apt-get install gnuplot-nox)"; exit 1; }
	$(Q)for s in 65435 4096 1024; do \
		$(BENCH) --size $$s --json $(BENCH_ARGS) > $(BUILD)/bench-$$s.json || exit 1; \
	done
	$(Q)gnuplot -e "dir='$(BUILD)'" tests/bench/plot.gp > tests/bench/zcsend-bench.png
	@echo "  PLOT   tests/bench/zcsend-bench.png"

# One --json --dgram run (MTU-sized datagrams, both ifb sink variants),
# drawn by tests/bench/plot_dgram.gp.
bench-plot-dgram: all $(BENCH)
	$(Q)command -v gnuplot >/dev/null || \
		{ echo "bench-plot-dgram needs gnuplot (apt-get install gnuplot-nox)"; exit 1; }
	$(Q)$(BENCH) --dgram --json $(BENCH_ARGS) > $(BUILD)/bench-dgram.json
	$(Q)gnuplot -e "dir='$(BUILD)'" tests/bench/plot_dgram.gp > tests/bench/zcsend-bench-dgram.png
	@echo "  PLOT   tests/bench/zcsend-bench-dgram.png"

SOAK_SECONDS ?= 600
# e.g. SOAK_ARGS='--churn-live 16 --churn-rate 100 --rss-slack 1024', as CI
# runs it: heavier churn, and memory must come back within 1 MiB.
SOAK_ARGS ?=
soak: all $(SOAK)
	$(Q)ZCSENDD=$(ZCSENDD) $(SOAK) --seconds $(SOAK_SECONDS) $(SOAK_ARGS)

# sockfuzz: a protocol fuzzer over the daemon's real socket, with clients
# that die at random points. `make sockfuzz-run` runs it against the ASan
# build for SOCKFUZZ_SESSIONS sessions.
SOCKFUZZ_SRCS := $(wildcard tests/sockfuzz/*.c)
SOCKFUZZ := $(BUILD)/tests/sockfuzz
SOCKFUZZ_SESSIONS ?= 100000
SOCKFUZZ_ARGS ?=
# It speaks the wire format itself: no helper that calls libzcsend.
$(SOCKFUZZ): $(call obj,$(SOCKFUZZ_SRCS) $(filter-out $(TH_LIB_SRCS), \
	$(TEST_HELPER_SRCS)) $(PROTO_SRCS))
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -pie -o $@ $^ -lpthread
$(call obj,$(SOCKFUZZ_SRCS)): override CPPFLAGS += -Itests
tests: $(if $(SOCKFUZZ_SRCS),$(SOCKFUZZ))
sockfuzz: all $(SOCKFUZZ)
sockfuzz-run:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 sockfuzz
	$(Q)BUILD=build-san build-san/tests/sockfuzz \
		--sessions $(SOCKFUZZ_SESSIONS) $(SOCKFUZZ_ARGS)
.PHONY: sockfuzz sockfuzz-run

# libFuzzer harnesses for the wire validator, the ring steps, the config
# parser and the hand-over state reader. A harness is one file plus the
# protocol code it may call; the config parser and the state reader need
# their own sources.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
	-Iproto -Iconf
$(BUILD)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(PROTO_SRCS) $(wildcard proto/*.h)
	$(Q)mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $(filter %.c,$^)
# The state reader includes its header from zcsendd/, as daemon files do.
$(BUILD)/fuzz/fuzz-state: tests/fuzz/fuzz-state.c \
		zcsendd/handover/state_read.c zcsendd/handover/state.h \
		$(PROTO_SRCS) $(wildcard proto/*.h)
	$(Q)mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -Izcsendd -o $@ $(filter %.c,$^)
$(BUILD)/fuzz/fuzz-config: tests/fuzz/fuzz-config.c $(CONF_SRCS)
	$(Q)mkdir -p $(@D)
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $^ $(PKG_LIBS)
fuzz: $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
	$(Q)for f in $^; do \
		n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/$$n.corpus; \
		echo "  RUN    $$n for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-max_len=$$((65536 + 16)) \
			$(BUILD)/fuzz/$$n.corpus tests/fuzz/corpus/$$n \
			2>$(BUILD)/fuzz/$$n.log || { tail -40 $(BUILD)/fuzz/$$n.log; exit 1; }; \
		grep -h "stat::number_of_executed_units" $(BUILD)/fuzz/$$n.log; \
	done

check: tests
	$(Q)BUILD=$(BUILD) tests/run.sh

# Not part of check: boots a Debian 12 tree under systemd-nspawn (root,
# and a debootstrap the first time) and runs the service as an admin would.
$(BUILD)/tests/boot/rlimit-probe: tests/boot/rlimit-probe.c
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -fPIE $(LDFLAGS) -pie -o $@ $<
check-boot: all $(BUILD)/tests/zcs-recv $(BUILD)/tests/zcs-stream \
		$(BUILD)/tests/zcs-hold $(BUILD)/tests/boot/rlimit-probe
	$(Q)BUILD=$(BUILD) tests/boot/check-boot.sh

# Not part of check either: root; in a Debian 12 tree without the build
# packages (check-boot's), a clone of HEAD (or ZCS_FRESH_REF) runs the
# README's first commands as written and must end "demo OK" and "0 failed".
check-fresh:
	$(Q)tests/fresh/check-fresh.sh

demo: all $(BUILD)/tests/zcs-recv
	$(Q)BUILD=$(BUILD) tests/demo.sh

# libzcsend.pc names LIBDIR and INCLUDEDIR from ${prefix} where they lie
# under PREFIX, so `pkg-config --define-prefix` finds a DESTDIR or moved tree.
pc_dir = $(if $(filter $(PREFIX)/%,$(1)),$(2)$(patsubst $(PREFIX)%,%,$(1)),$(1))
PC_LIBDIR = $(call pc_dir,$(LIBDIR),$${exec_prefix})
PC_INCLUDEDIR = $(call pc_dir,$(INCLUDEDIR),$${prefix})
# The loader finds a new library in LIBDIR only once its cache is rebuilt.
# A DESTDIR tree is not the live system: its packager runs ldconfig there.
LDCONFIG ?= ldconfig
LDCONFIG_LIVE = if [ -n "$(DESTDIR)" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then echo "$(LDCONFIG)"; $(LDCONFIG); \
	else echo "not root, so no ldconfig: run it as root unless" \
		"$(LIBDIR) is on the loader's path"; fi

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(PKGCONFIGDIR)
	install -m 0755 $(ZCSENDD) $(DESTDIR)$(SBINDIR)/zcsendd
	install -m 0755 $(ZCSENDCTL) $(DESTDIR)$(BINDIR)/zcsendctl
	install -m 0644 client/include/zcsend.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libzcsend.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libzcsend.so
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	# The paths are the ones given to this install, not to the build.
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(PC_LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		client/libzcsend.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libzcsend.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/libzcsend.pc
	install -d $(DESTDIR)$(SYSCONFDIR)/zcsendd
	@# An admin's edited config is kept; the new defaults go beside it.
	@conf=$(DESTDIR)$(SYSCONFDIR)/zcsendd/zcsendd.conf; \
	if [ ! -e "$$conf" ]; then \
		echo "install -m 0644 conf/zcsendd.conf $$conf"; \
		install -m 0644 conf/zcsendd.conf "$$conf"; \
	elif cmp -s conf/zcsendd.conf "$$conf"; then :; else \
		install -m 0644 conf/zcsendd.conf "$$conf.dist"; \
		echo "kept $$conf as it is; the shipped defaults are in $$conf.dist"; \
	fi
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	sed -e 's|/usr/sbin/zcsendd|$(SBINDIR)/zcsendd|' \
		-e 's|/usr/bin/zcsendctl|$(BINDIR)/zcsendctl|' systemd/zcsendd.service \
		> $(DESTDIR)$(UNITDIR)/zcsendd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/zcsendd.service
	install -m 0644 systemd/zcsendd.socket $(DESTDIR)$(UNITDIR)/
	sed -e 's|/usr/bin/zcsendctl|$(BINDIR)/zcsendctl|' \
		systemd/zcsendd-exporter.service \
		> $(DESTDIR)$(UNITDIR)/zcsendd-exporter.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/zcsendd-exporter.service
	install -m 0644 systemd/zcsendd.sysusers \
		$(DESTDIR)$(SYSUSERSDIR)/zcsendd.conf
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 client/zcsendctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 client/libzcsend.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 0644 conf/zcsendd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 zcsendd/zcsendd.8 $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(DOCDIR)
	install -m 0644 LICENSE $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(PYTHONDIR)/zcsend
	install -m 0644 $(PY_PKG) $(DESTDIR)$(PYTHONDIR)/zcsend/
	# The single module an older install put there (the package wins).
	rm -f $(DESTDIR)$(PYTHONDIR)/zcsend.py
	@$(LDCONFIG_LIVE)

# Exactly what install put there; an admin's edited zcsendd.conf stays.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/zcsendd $(DESTDIR)$(BINDIR)/zcsendctl \
		$(DESTDIR)$(INCLUDEDIR)/zcsend.h \
		$(DESTDIR)$(LIBDIR)/libzcsend.so.$(SOVERSION) \
		$(DESTDIR)$(LIBDIR)/libzcsend.so $(DESTDIR)$(LIBDIR)/libzcsend.a \
		$(DESTDIR)$(PKGCONFIGDIR)/libzcsend.pc \
		$(DESTDIR)$(UNITDIR)/zcsendd.service \
		$(DESTDIR)$(UNITDIR)/zcsendd.socket \
		$(DESTDIR)$(UNITDIR)/zcsendd-exporter.service \
		$(DESTDIR)$(SYSUSERSDIR)/zcsendd.conf \
		$(DESTDIR)$(MANDIR)/man1/zcsendctl.1 \
		$(DESTDIR)$(MANDIR)/man3/libzcsend.3 \
		$(DESTDIR)$(MANDIR)/man5/zcsendd.conf.5 \
		$(DESTDIR)$(MANDIR)/man8/zcsendd.8 \
		$(DESTDIR)$(DOCDIR)/LICENSE \
		$(addprefix $(DESTDIR)$(PYTHONDIR)/zcsend/,$(notdir $(PY_PKG))) \
		$(DESTDIR)$(PYTHONDIR)/zcsend/__pycache__/*.pyc \
		$(DESTDIR)$(PYTHONDIR)/zcsend.py \
		$(DESTDIR)$(PYTHONDIR)/__pycache__/zcsend.*.pyc
	@conf=$(DESTDIR)$(SYSCONFDIR)/zcsendd/zcsendd.conf; \
	if [ ! -e "$$conf" ]; then :; \
	elif cmp -s conf/zcsendd.conf "$$conf"; then \
		echo "rm -f $$conf"; rm -f "$$conf"; \
	else \
		echo "kept $$conf: it differs from the shipped one"; \
	fi; \
	rm -f "$$conf.dist"; \
	rmdir $(DESTDIR)$(SYSCONFDIR)/zcsendd $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(PYTHONDIR)/__pycache__ \
		$(DESTDIR)$(PYTHONDIR)/zcsend/__pycache__ \
		$(DESTDIR)$(PYTHONDIR)/zcsend 2>/dev/null || :
	@$(LDCONFIG_LIVE)

# The Debian packages (debian/), built by dpkg-buildpackage in a copy of
# this tree (uncommitted edits included; no build/ nor .git), so the tree
# itself is not written to; the .debs land in DEB_DIR and lintian must
# find nothing to warn about. DEB_VERSION_SUFFIX=+2 builds a newer version
# (0.1.0+2) with a changelog entry of its own, and DEB_CONF_NOTE a line
# added to its zcsendd.conf: check-boot's upgrade, with dpkg's prompt.
DEB_DIR ?= build/deb
DEB_VERSION_SUFFIX ?=
DEB_CONF_NOTE ?=
DEB_SRC = $(DEB_DIR)/zcsendd-$(VERSION)$(DEB_VERSION_SUFFIX)
DEB_CHANGELOG_ENTRY = zcsendd ($(VERSION)$(DEB_VERSION_SUFFIX)) bookworm; urgency=medium\n\n  * Built from the tree with DEB_VERSION_SUFFIX=$(DEB_VERSION_SUFFIX).\n\n -- $(shell sed -n 's/^Maintainer: //p' debian/control)  $(shell date -R)\n\n
deb:
	$(Q)v=$$(dpkg-parsechangelog -S Version); [ "$$v" = '$(VERSION)' ] || \
		{ echo "debian/changelog says $$v, the Makefile $(VERSION)"; exit 1; }
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_SRC)
	$(Q)tar -c --exclude=./.git --exclude=./build --exclude='./build-*' . | \
		tar -x -C $(DEB_SRC)
	$(Q)if [ -n '$(DEB_VERSION_SUFFIX)' ]; then \
		{ printf '$(DEB_CHANGELOG_ENTRY)'; cat debian/changelog; } \
			> $(DEB_SRC)/debian/changelog; fi
	$(Q)if [ -n '$(DEB_CONF_NOTE)' ]; then \
		echo '$(DEB_CONF_NOTE)' >> $(DEB_SRC)/conf/zcsendd.conf; fi
	$(Q)cd $(DEB_SRC) && DEB_BUILD_OPTIONS="$(DEB_BUILD_OPTIONS) noautodbgsym" \
		dpkg-buildpackage -us -uc -b > ../build.log 2>&1 || \
		{ tail -30 ../build.log; exit 1; }
	$(Q)rm -rf $(DEB_SRC)
	$(Q)lintian --info --fail-on error,warning $(DEB_DIR)/*.changes
	@ls $(DEB_DIR)/*.deb

# Debian 12 packages to build and test; sudo only when not root.
# mypy checks the Python binding's hints (python-mypy); python3-venv and
# the wheel's wheel let python-venv pip-install it offline; debhelper,
# dh-python and lintian are for `make deb`.
DEBS := build-essential pkg-config liburing-dev libevent-dev libsystemd-dev \
	libinih-dev iproute2 python3 systemd man-db mypy python3-venv \
	python3-wheel-whl debhelper dh-python lintian
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# What CI adds: clang's libFuzzer for `make fuzz`, and promtool for the
# metrics test (without it, that test checks the format by itself only).
DEBS_CI := clang libclang-rt-14-dev prometheus

deps:
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $(DEBS)

# promtool comes with the Prometheus server, whose package enables and
# starts it: one that was not installed before is stopped and disabled.
deps-ci: deps
	@had=$$(dpkg-query -W -f='$${Status}' prometheus 2>/dev/null); \
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $(DEBS_CI) || exit 1; \
	case $$had in *" installed") ;; *) \
		if [ -d /run/systemd/system ]; then \
			$(SUDO) systemctl disable --now -q prometheus.service; \
		else \
			$(SUDO) invoke-rc.d prometheus stop >/dev/null 2>&1; \
			$(SUDO) update-rc.d prometheus disable >/dev/null 2>&1 || :; \
		fi ;; \
	esac

clean:
	rm -rf build build-san

.PHONY: all tests check check-boot check-fresh deb demo install uninstall deps deps-ci clean bench bench-plot bench-plot-dgram soak fuzz FORCE

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

endif # DEPS_FIRST

# scalelua -- one non-recursive GNU Makefile.  Outputs go to build/.
#   make            library, runner, Lua module
#   make check      build and run every test (last line: N passed, N failed)
#   make sanitize   the same under ASan + UBSan, in build-san/
#   make bench      benchmarks against the peers (scripts/bench/all)
#   make install    PREFIX=/usr/local DESTDIR=
# Missing Debian packages: scripts/install-deps

PREFIX  ?= /usr/local
DESTDIR ?=
B       ?= build
CC      ?= cc
CFLAGS  ?= -O2 -g
LDFLAGS ?=
# Line editing for the REPL: edit (libedit, BSD), readline (GPL) or none.
LINEEDIT ?= edit

VERSION := 0.1.0
SOMAJOR := 0

PKGS := lua5.4 plplot libpng cminpack liblbfgs libcjson
HAVE_PKGS := $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo yes)
HAVE_CSV  := $(shell test -f /usr/include/csv.h && echo yes)
ifneq ($(MAKECMDGOALS),clean)
ifneq ($(HAVE_PKGS)$(HAVE_CSV),yesyes)
$(info scalelua needs: liblua5.4-dev libplplot-dev plplot-driver-cairo libcsv-dev)
$(info                 libpng-dev libcminpack-dev liblbfgs-dev libcjson-dev libedit-dev pkg-config)
$(info missing now:$(foreach p,$(PKGS),$(if $(shell pkg-config --exists $(p) 2>/dev/null && echo y),, $(p)))$(if $(HAVE_CSV),, libcsv))
$(error run scripts/install-deps (as root) to install them)
endif
endif

DEP_CFLAGS := $(shell pkg-config --cflags $(PKGS))
# No -lplplot: PLplot is opened with dlopen on the first render
# (core/src/plload.c), so programs that never draw do not load it.
LIB_LIBS   := $(shell pkg-config --libs libpng cminpack liblbfgs libcjson) -lcsv -lm -lpthread -ldl
LUA_CFLAGS := $(shell pkg-config --cflags lua5.4)
LUA_LIBS   := $(shell pkg-config --libs lua5.4)
ifeq ($(LINEEDIT),edit)
  EDIT_CFLAGS := -DSCL_LINEEDIT=1 $(shell pkg-config --cflags libedit)
  EDIT_LIBS   := $(shell pkg-config --libs libedit)
else ifeq ($(LINEEDIT),readline)
  EDIT_CFLAGS := -DSCL_LINEEDIT=2
  EDIT_LIBS   := -lreadline
endif

WARN   := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE
ALL_CFLAGS = $(WARN) -Icore/include -Icore/src $(DEP_CFLAGS) -MMD -MP $(CFLAGS)

LIB_SRC  := $(wildcard core/src/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
BIND_SRC := $(filter-out core/bind/main.c,$(wildcard core/bind/*.c))
BIND_OBJ := $(BIND_SRC:%.c=$(B)/obj/%.o)
LUA_SRC  := $(sort $(wildcard lua/scalelua/*.lua))
EMBED_C  := $(B)/gen/lua_embed.c
EMBED_OBJ:= $(B)/obj/gen/lua_embed.o

SO      := $(B)/libscalelua.so
SONAME  := libscalelua.so.$(SOMAJOR)
A       := $(B)/libscalelua.a
EXE     := $(B)/scalelua
LUAMOD  := $(B)/lua/scalelua/core.so
# The binding as a library for C programs that embed Lua (luaopen_scalelua).
LUALIB  := $(B)/libscalelua-lua.so
LUASONAME := libscalelua-lua.so.$(SOMAJOR)

TEST_SRC := $(wildcard tests/c/test_*.c)
TEST_BIN := $(TEST_SRC:tests/c/%.c=$(B)/tests/%)
TEST_HELP:= $(filter-out $(TEST_SRC),$(wildcard tests/c/*.c))

.PHONY: all check sanitize bench install uninstall clean tests
all: $(A) $(SO) $(EXE) $(LUAMOD) $(LUALIB) $(B)/scalelua.pc $(B)/scalelua-lua.pc

$(B)/obj/core/src/%.o: core/src/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -DSCL_BUILDING -c $< -o $@

# The name plload.c opens is the SONAME of the libplplot.so compiled
# against (not a guess), and the message for a missing library names the
# Debian package owning it when dpkg knows.  Worked out only when plload.o
# is compiled (target-specific values are expanded then); plload.o is
# compiled again when that library changes.
PLPLOT_SO     := $(shell pkg-config --variable=libdir plplot 2>/dev/null)/libplplot.so
PLPLOT_SONAME  = $(shell objdump -p $(PLPLOT_SO) 2>/dev/null | sed -n 's/^ *SONAME *//p')
PLPLOT_PKG     = $(shell dpkg-query -S $(realpath $(PLPLOT_SO)) 2>/dev/null | sed -n '1s/:.*//p')
PLPLOT_DEFS    = $(if $(PLPLOT_SONAME),,$(error cannot read the SONAME of $(PLPLOT_SO) with objdump -p)) \
  -DSCL_PLPLOT_SONAME='"$(PLPLOT_SONAME)"' $(if $(PLPLOT_PKG),-DSCL_PLPLOT_PKG='"$(PLPLOT_PKG)"')
$(B)/obj/core/src/plload.o: ALL_CFLAGS += $(PLPLOT_DEFS)
$(B)/obj/core/src/plload.o: $(wildcard $(PLPLOT_SO))

$(B)/obj/core/bind/%.o: core/bind/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LUA_CFLAGS) $(EDIT_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(A): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(SO): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) $(LDFLAGS) $(CFLAGS) -o $@.$(VERSION) $^ $(LIB_LIBS)
	ln -sf libscalelua.so.$(VERSION) $(B)/$(SONAME)
	ln -sf $(SONAME) $@

# The Lua sources are compiled into the binary (see core/tools/embed.c).
$(B)/tools/embed: core/tools/embed.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(LUA_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LUA_LIBS)

$(EMBED_C): $(B)/tools/embed $(LUA_SRC)
	@mkdir -p $(@D)
	$(B)/tools/embed $@ $(LUA_SRC)

$(EMBED_OBJ): $(EMBED_C)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(EXE): $(B)/obj/core/bind/main.o $(BIND_OBJ) $(EMBED_OBJ) $(A)
	$(CC) $(LDFLAGS) $(CFLAGS) -o $@ $^ $(LUA_LIBS) $(EDIT_LIBS) $(LIB_LIBS) -ldl

# A C module for the stock lua5.4 interpreter: require "scalelua".
$(LUAMOD): $(BIND_OBJ) $(EMBED_OBJ) $(A)
	@mkdir -p $(@D)
	$(CC) -shared $(LDFLAGS) $(CFLAGS) -o $@ $(BIND_OBJ) $(EMBED_OBJ) $(A) $(LIB_LIBS)

# For C programs embedding Lua: luaopen_scalelua, linked to libscalelua.so.
$(LUALIB): $(BIND_OBJ) $(EMBED_OBJ) $(SO)
	$(CC) -shared -Wl,-soname,$(LUASONAME) $(LDFLAGS) $(CFLAGS) -o $@.$(VERSION) \
	  $(BIND_OBJ) $(EMBED_OBJ) -L$(B) -lscalelua $(LUA_LIBS) $(LIB_LIBS)
	ln -sf libscalelua-lua.so.$(VERSION) $(B)/$(LUASONAME)
	ln -sf $(LUASONAME) $@

# The .pc files are made again by install, for the PREFIX given there.
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@LIBS@|$(LIB_LIBS)|g'
$(B)/scalelua.pc: scalelua.pc.in Makefile
	$(PC_SED) $< > $@

$(B)/scalelua-lua.pc: scalelua-lua.pc.in Makefile
	$(PC_SED) $< > $@

$(B)/tests/%: tests/c/%.c $(TEST_HELP) $(A)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/c -o $@ $< $(TEST_HELP) $(A) $(LIB_LIBS)

tests: all $(TEST_BIN)

check: tests
	@B=$(B) sh tests/run.sh

sanitize:
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp $(MAKE) B=build-san CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" check

bench: all
	sh scripts/bench/all

# $(PREFIX)/lib, not a multiarch directory: the same layout everywhere.
LIBDIR := $(PREFIX)/lib
INCDIR := $(PREFIX)/include
BINDIR := $(PREFIX)/bin
MANDIR := $(PREFIX)/share/man
LMODDIR:= $(PREFIX)/share/lua/5.4/scalelua
CMODDIR:= $(LIBDIR)/lua/5.4/scalelua
# Every file install adds (uninstall removes exactly these).
INSTALLED := $(LIBDIR)/libscalelua.a $(LIBDIR)/libscalelua.so.$(VERSION) \
  $(LIBDIR)/$(SONAME) $(LIBDIR)/libscalelua.so \
  $(LIBDIR)/libscalelua-lua.so.$(VERSION) $(LIBDIR)/$(LUASONAME) \
  $(LIBDIR)/libscalelua-lua.so $(INCDIR)/scalelua.h \
  $(LIBDIR)/pkgconfig/scalelua.pc $(LIBDIR)/pkgconfig/scalelua-lua.pc \
  $(BINDIR)/scalelua $(MANDIR)/man1/scalelua.1 $(MANDIR)/man3/scalelua.3 \
  $(CMODDIR)/core.so $(addprefix $(LMODDIR)/,$(notdir $(LUA_SRC)))

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR) \
	  $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
	  $(DESTDIR)$(CMODDIR) $(DESTDIR)$(LMODDIR)
	install -m 644 $(A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SO).$(VERSION) $(LUALIB).$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libscalelua.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libscalelua.so
	ln -sf libscalelua-lua.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(LUASONAME)
	ln -sf $(LUASONAME) $(DESTDIR)$(LIBDIR)/libscalelua-lua.so
	install -m 644 core/include/scalelua.h $(DESTDIR)$(INCDIR)/
	$(PC_SED) scalelua.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/scalelua.pc
	$(PC_SED) scalelua-lua.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/scalelua-lua.pc
	install -m 755 $(EXE) $(DESTDIR)$(BINDIR)/
	install -m 644 man/scalelua.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/scalelua.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 755 $(LUAMOD) $(DESTDIR)$(CMODDIR)/
	install -m 644 $(LUA_SRC) $(DESTDIR)$(LMODDIR)/

# Removes the files above and the two scalelua directories, nothing else.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	rmdir $(DESTDIR)$(CMODDIR) $(DESTDIR)$(LMODDIR) 2>/dev/null || true

clean:
	rm -rf build build-san

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# ---- fuzzing: make fuzz [FUZZ_SECONDS=60]
# libFuzzer targets (fuzz/*_fuzz.c) built with clang, ASan and UBSan in
# build-fuzz/, each run for FUZZ_SECONDS on a copy of its seed corpus
# (fuzz/corpus/<target>); findings are written to build-fuzz/findings/.
FUZZ_B       := build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := csv num ticks recipe
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -O1 -g \
  -fno-omit-frame-pointer -fsanitize=address,undefined \
  -fno-sanitize-recover=all -Icore/include -Icore/src -Icore/bind \
  $(DEP_CFLAGS) $(LUA_CFLAGS)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_B)/obj/%.o)
FUZZ_LUA_OBJ := $(BIND_SRC:%.c=$(FUZZ_B)/obj/%.o) $(FUZZ_B)/obj/gen/lua_embed.o
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_B)/%_fuzz)

$(FUZZ_B)/obj/core/src/plload.o: FUZZ_CFLAGS += $(PLPLOT_DEFS)
$(FUZZ_B)/obj/core/src/plload.o: $(wildcard $(PLPLOT_SO))
$(FUZZ_B)/obj/core/%.o: core/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_B)/obj/gen/lua_embed.o: $(EMBED_C)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@
$(FUZZ_B)/recipe_fuzz: fuzz/recipe_fuzz.c $(FUZZ_LIB_OBJ) $(FUZZ_LUA_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.o,$^) \
	  $(LUA_LIBS) $(LIB_LIBS)
$(FUZZ_B)/%_fuzz: fuzz/%_fuzz.c $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.o,$^) \
	  $(LIB_LIBS)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BIN)
fuzz: fuzz-build
	@sh fuzz/run.sh $(FUZZ_B) $(FUZZ_SECONDS) $(FUZZ_TARGETS)
clean: fuzz-clean
.PHONY: fuzz-clean
fuzz-clean:
	rm -rf $(FUZZ_B)
-include $(shell find $(FUZZ_B) -name '*.d' 2>/dev/null)

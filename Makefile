# librisk: plain GNU Makefile. Targets: all check docs bench demo install uninstall clean.
VERSION_H := include/risk/version.h
MAJOR := $(shell sed -n 's/^\#define RISK_VERSION_MAJOR \([0-9]*\).*/\1/p' $(VERSION_H))
MINOR := $(shell sed -n 's/^\#define RISK_VERSION_MINOR \([0-9]*\).*/\1/p' $(VERSION_H))
PATCH := $(shell sed -n 's/^\#define RISK_VERSION_PATCH \([0-9]*\).*/\1/p' $(VERSION_H))
VERSION := $(MAJOR).$(MINOR).$(PATCH)

CC ?= cc
CFLAGS ?= -O2 -g
LDFLAGS ?=
PROJECT_CFLAGS := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
  -Wmissing-prototypes -Werror -ffp-contract=off -fno-fast-math -fPIC -fvisibility=hidden \
  -DRISK_BUILDING_LIBRARY -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc
LIBS := -lm -pthread

SRCS := $(sort $(wildcard src/core/*.c src/margin/*.c src/liquidation/*.c))
OBJS := $(patsubst src/%.c,build/obj/%.o,$(SRCS))
SONAME := librisk.so.$(MAJOR)
REALNAME := librisk.so.$(VERSION)

.PHONY: all clean
all: lib/$(REALNAME) lib/librisk.so.$(MAJOR) lib/librisk.so lib/librisk.a

build/obj/%.o: src/%.c $(wildcard include/*.h include/risk/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(PROJECT_CFLAGS) $(CFLAGS) -c $< -o $@

lib/$(REALNAME): $(OBJS) src/librisk.map
	@mkdir -p lib
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/librisk.map -Wl,--no-undefined \
	  $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

lib/librisk.so.$(MAJOR): lib/$(REALNAME)
	ln -sf $(REALNAME) $@
lib/librisk.so: lib/librisk.so.$(MAJOR)
	ln -sf $(SONAME) $@

lib/librisk.a: $(OBJS)
	@mkdir -p lib
	rm -f $@
	ar rcs $@ $(OBJS)

clean:
	rm -rf build lib

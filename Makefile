# Makefile for the sandbox extension (PGXS)

EXTENSION = sandbox
MODULE_big = sandbox
OBJS = \
	src/sandbox.o \
	src/cache.o \
	src/guard.o \
	src/objects.o \
	src/utility.o \
	src/functions.o \
	src/stats.o \
	src/worker.o

DATA = sandbox--1.0.sql
PGFILEDESC = "sandbox - scratch schemas and a write guard for untrusted agents"

# The test command (test/run-all) runs these against its own preloaded
# cluster; "make installcheck" works too against a server that preloads
# the library.
REGRESS = lifecycle lifecycle_errors promotion guard_attacks guard_allowed clone synthesize
REGRESS_OPTS = --inputdir=. --load-extension=sandbox
ISOLATION = create_race promote_race promote_writer approve_race cache_inval
ISOLATION_OPTS = --load-extension=sandbox

PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

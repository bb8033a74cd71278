/* SPDX-License-Identifier: MIT */
/*
 * zcsendd: send network data for local programs with io_uring zerocopy.
 * main() reads the command line and config, sets up the ring and the
 * control socket, runs the event loop (loop.c), and tears down.
 */
#include <sys/stat.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zcsd.h"
#include "service/limits.h"
#include "service/loop.h"
#include "service/probe.h"
#include "sched/sched.h"

struct args {
	const char *config;
	const char *socket;
	int verbose;
	bool check_only;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: zcsendd [-c FILE] [-s PATH] [-v] [--check-config] "
		   "[--version] [--help]\n"
		   "  -c, --config FILE   config file (default %s if present)\n"
		   "  -s, --socket PATH   control socket path\n"
		   "  -v, --verbose       debug logging\n"
		   "      --check-config  validate the config and exit\n",
		CONFIG_DEFAULT_FILE);
}

static void parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "c:s:vh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': a->config = optarg; break;
		case 's': a->socket = optarg; break;
		case 'v': a->verbose = 1; break;
		case 'C': a->check_only = true; break;
		case 'V': printf("zcsendd %s\n", ZCSD_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
}

static void load_config(struct zcsd *d, const struct args *a)
{
	const char *path = a->config;
	int err = 0;

	config_defaults(&d->cfg);
	if (!path && access(CONFIG_DEFAULT_FILE, F_OK) == 0)
		path = CONFIG_DEFAULT_FILE;
	err = path ? config_load(&d->cfg, path)
		   : config_check(&d->cfg, "embedded defaults", NULL);
	if (err) {
		/* Every error, one "FILE:LINE: why" a line, as a compiler. */
		fputs(d->cfg.errors, stderr);
		exit(1);
	}
	if (path && snprintf(d->config_path, sizeof(d->config_path), "%s",
			     path) >= (int)sizeof(d->config_path))
		fatalx("config path too long");
	if (a->check_only) {
		printf("%s: OK\n", path ? path : "embedded defaults");
		exit(0);
	}
}

/*
 * -s, then $ZCSENDD_SOCKET, then the config, then the per-user default.
 * With no path at all we can still run on a socket systemd passes us;
 * listener_open() says so if there is none.
 */
static void pick_socket(struct zcsd *d, const struct args *a)
{
	const char *p = a->socket ? a->socket : getenv("ZCSENDD_SOCKET");
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char path[sizeof(d->listener.path)] = "";
	int n = 0;

	if (!p && d->cfg.socket_path[0])
		p = d->cfg.socket_path;
	if (p)
		n = snprintf(path, sizeof(path), "%s", p);
	else if (geteuid() == 0)
		n = snprintf(path, sizeof(path), "/run/zcsendd/zcsendd.sock");
	else if (rt)
		n = snprintf(path, sizeof(path), "%s/zcsendd.sock", rt);
	if (n < 0 || (size_t)n >= sizeof(path))
		fatalx("socket path too long: %s", p ? p : rt);
	if (!p && geteuid() == 0)
		mkdir("/run/zcsendd", 0755);
	listener_init(d, path);
}

static void setup(struct zcsd *d, char **argv)
{
	d->start_ms = now_ms();
	d->uid = geteuid();
	TAILQ_INIT(&d->clients);
	TAILQ_INIT(&d->ring_clients);
	TAILQ_INIT(&d->ring_hot);
	TAILQ_INIT(&d->ring_due);
	TAILQ_INIT(&d->dests);
	TAILQ_INIT(&d->sq_waiters);
	d->base = event_base_new();
	if (!d->base)
		fatalx("event_base_new failed");
	limits_memlock_raise(d);
	limits_nofile_raise();
	limits_nofile_check(d);
	if (fdstore_init(d) || handover_init(d, argv))
		fatalx("out of memory");
	handover_take(d);	/* a state to resume, or clients told why not */
	if (!d->handover.adopted)	/* a crash: clients the store kept */
		fdstore_answer_orphans(d, "the previous process ended "
				       "without handing over");
	if (ring_init(d) || cqe_init(d))
		fatalx("cannot set up io_uring");
	probe_log(d->ring.features, d->ring.gso_max_segs);
	if (flow_table_init(d) || signals_init(d) || drain_init(d) ||
	    reap_init(d) || sched_init(d))
		fatalx("out of memory");
	handover_listener(d);	/* a hand-over's, before the config's */
	handover_dests(d);
	if (dest_apply_config(d))
		fatalx("cannot set up the configured destinations");
	if (listener_open(d))
		fatalx("cannot open the control socket");
}

/*
 * Frees everything, whatever the drain left: conn_free_all() ends what the
 * kernel still holds and closes the ring before any pool goes.
 */
static void teardown(struct zcsd *d)
{
	notify_stop(d);
	handover_fini(d);
	fdstore_fini(d);
	listener_close(d);
	conn_free_all(d);
	hello_deadline_fini(d);
	dest_free_all(d);
	reap_fini(d);
	sched_fini(d);
	signals_fini(d);
	drain_fini(d);
	ring_fini(d);
	free(d->flow_table);
	event_base_free(d->base);
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	struct zcsd *d = calloc(1, sizeof(*d));
	int status;

	if (!d)
		fatalx("out of memory");
	parse_args(argc, argv, &a);
	log_init(a.verbose);
	load_config(d, &a);
	pick_socket(d, &a);
	setup(d, argv);
	handover_resume(d);	/* what a hand-over carried, if one did */
	log_info("zcsendd %s ready", ZCSD_VERSION);
	if (notify_start(d))
		fatalx("out of memory");
	if (loop_run(d) < 0) {
		log_warnx("event loop failed");
		d->exit_status = ZCSD_EXIT_ERROR;
	}
	teardown(d);
	status = d->exit_status;
	if (status == ZCSD_EXIT_ABANDONED)
		log_info("stopped, sends in flight abandoned (exit status %d)",
			 status);
	else
		log_info("stopped");
	free(d);
	return status;
}

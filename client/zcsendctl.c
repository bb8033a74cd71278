/* SPDX-License-Identifier: MIT */
/*
 * zcsendctl: the command-line front end of zcsendd. A table of subcommands
 * (send, status, metrics, reload, policy, upgrade, help), global options
 * (-s PATH, --help, --version), each command's --help, and the small
 * parsing and error helpers the subcommands share.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libzcsend_int.h"
#include "zcsendctl.h"

static int cmd_help(int argc, char **argv, const char *sock);

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv, const char *sock);
	const char *args;
	const char *desc;
} cmds[] = {
	{ "send", cmd_send,
	  "DEST [FILE|-] [--chunk BYTES] [--inflight N] [--no-segment]\n"
	  "          [--quiet]",
	  "send a file or stdin to DEST through the daemon" },
	{ "status", cmd_status, "[--json] [--watch]",
	  "show the daemon's state (--watch: every second)" },
	{ "metrics", cmd_metrics, "[--listen ADDR:PORT]",
	  "print the daemon's counters for Prometheus, or serve them\n"
	  "          at http://ADDR:PORT/metrics" },
	{ "reload", cmd_reload, "", "re-read the daemon's config file" },
	{ "policy", cmd_policy, "DEST key=value ...",
	  "change a destination's policy now (flush, batch_max, batch_usec,\n"
	  "          zerocopy, zerocopy_min_bytes, udp_segment)" },
	{ "upgrade", cmd_upgrade, "[--timeout SEC]",
	  "hand the daemon's clients over to a new process of its\n"
	  "          installed binary, and wait until it has them" },
	{ "help", cmd_help, "", "show this help" },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

/* ctl_err - "zcsendctl: WHAT: strerror" for a negative errno @err. */
void ctl_err(const char *what, int err)
{
	fprintf(stderr, "zcsendctl: %s: %s\n", what, strerror(-err));
}

void ctl_errx(const char *fmt, ...)
{
	va_list ap;

	fputs("zcsendctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * ctl_no_dest - say that @dest, which the daemon did not find (-ENOENT),
 * names no configured destination and is not an address either, as its
 * missing "://" shows; one wording for `send` and `policy`, since a bare
 * "No such file or directory" reads as a missing input file.
 */
void ctl_no_dest(const char *what, const char *dest)
{
	if (strstr(dest, "://"))
		ctl_errx("%s: no destination '%s'", what, dest);
	else
		ctl_errx("%s: no destination '%s' is configured, and it is not "
			 "an address (udp://HOST:PORT or tcp://HOST:PORT)",
			 what, dest);
}

/*
 * ctl_sock_name - the socket a connection goes to, for error messages: @sock
 * or the library's default, as far as it can be resolved.
 */
const char *ctl_sock_name(const char *sock, char *buf, size_t size)
{
	if (sock)
		return sock;
	return zcsi_socket_path(buf, size) ? "default socket" : buf;
}

/*
 * ctl_connect_err - say why connecting to @sock (NULL: the default socket)
 * failed with @err: the library's own @reason when it did not try (a bad
 * ZCSEND_TRANSPORT), the daemon's when it refused us, else the path tried,
 * with a hint when nothing listens there.
 */
void ctl_connect_err(const char *sock, int err, const char *reason)
{
	char path[ZCSI_PATH_MAX];
	const char *hint = "";
	int dflt = !sock && !secure_getenv("ZCSENDD_SOCKET");

	if (reason && !strncmp(reason, ZCSI_OWN_REASON,
			       strlen(ZCSI_OWN_REASON))) {
		ctl_errx("cannot connect: %s", reason);
		return;
	}
	if (reason && *reason) {
		ctl_errx("zcsendd refused the connection: %s (%s)", reason,
			 strerror(-err));
		return;
	}
	if (!sock && zcsi_socket_path(path, sizeof(path)) == -ENOENT) {
		ctl_errx("cannot connect: no socket path (XDG_RUNTIME_DIR is "
			 "unset; use -s SOCKET or set ZCSENDD_SOCKET)");
		return;
	}
	if (err == -ENOENT || err == -ECONNREFUSED)
		hint = dflt ? " (is zcsendd running? set ZCSENDD_SOCKET)" :
			      " (is zcsendd running?)";
	else if (err == -ETIMEDOUT)
		hint = " (no answer from the daemon)";
	ctl_errx("cannot connect to %s: %s%s",
		 ctl_sock_name(sock, path, sizeof(path)), strerror(-err), hint);
}

/*
 * ctl_open - a control-only connection (no pool) for status and the admin
 * requests. Returns 0, or -errno after saying why.
 */
int ctl_open(const char *sock, struct zcs_client **c)
{
	char reason[ZCS_ERRBUF_SIZE];
	int err;

	err = zcsi_open(sock, 0, c, reason, sizeof(reason));
	if (err)
		ctl_connect_err(sock, err, reason);
	return err;
}

/*
 * ctl_opt - does argv[*@i] name option @name, as "NAME VALUE" or
 * "NAME=VALUE"? Returns 1 with *@val set (and *@i past a separate value),
 * 0 if it is another argument, -EINVAL (reported) if the value is missing.
 */
int ctl_opt(int argc, char **argv, int *i, const char *name,
	    const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		ctl_errx("option %s needs a value", name);
		return -EINVAL;
	}
	*val = argv[++*i];
	return 1;
}

/*
 * ctl_parse_u64 - a positive count with an optional binary k/m/g suffix.
 * Returns 0, -EINVAL for junk or 0, -ERANGE above @max.
 */
int ctl_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end != '\0' || v == 0)
		return -EINVAL;
	if (v > (max >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: zcsendctl [-s SOCKET] COMMAND [ARGS...]\n"
		"       zcsendctl --help | --version\n\ncommands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-7s %s\n          %s\n", cmds[i].name,
			cmds[i].args, cmds[i].desc);
	fprintf(f, "\n-s SOCKET may also follow the command. Without it:\n"
		"$ZCSENDD_SOCKET, else /run/zcsendd/zcsendd.sock as root,\n"
		"else $XDG_RUNTIME_DIR/zcsendd.sock.\n");
}

static int cmd_help(int argc, char **argv, const char *sock)
{
	usage(stdout);
	return CTL_OK;
}

/*
 * wants_help - is --help or -h among a command's arguments? Then the
 * command prints its own usage and does nothing else, whatever the other
 * arguments say; checked here, once, so no subcommand can forget it.
 */
static int wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}

static int cmd_usage(size_t k)
{
	if (cmds[k].fn == cmd_help) {
		usage(stdout);
		return CTL_OK;
	}
	printf("usage: zcsendctl [-s SOCKET] %s%s%s\n\n  %s\n", cmds[k].name,
	       *cmds[k].args ? " " : "", cmds[k].args, cmds[k].desc);
	printf("\nSee zcsendctl(1).\n");
	return CTL_OK;
}

/* Global options before the command; returns the command's index in argv,
 * or a negative CTL_* code to exit with. */
static int global_opts(int argc, char **argv, const char **sock)
{
	int i, r;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return -CTL_OK;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("zcsendctl %s (libzcsend %s)\n", ZCSD_VERSION,
			       zcs_version());
			return -CTL_OK;
		}
		r = ctl_opt(argc, argv, &i, "-s", sock);
		if (r == 0)
			ctl_errx("unknown option %s", argv[i]);
		if (r <= 0)
			return -CTL_USAGE;
	}
	if (i >= argc) {
		usage(stderr);
		return -CTL_USAGE;
	}
	return i;
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	size_t k;
	int i;

	i = global_opts(argc, argv, &sock);
	if (i <= 0)
		return -i;
	for (k = 0; k < NCMDS; k++)
		if (!strcmp(argv[i], cmds[k].name))
			return wants_help(argc - i, argv + i) ? cmd_usage(k) :
			       cmds[k].fn(argc - i, argv + i, sock);
	ctl_errx("unknown command '%s' (try zcsendctl help)", argv[i]);
	return CTL_USAGE;
}

/* SPDX-License-Identifier: MIT */
/*
 * The pieces of the Prometheus text format (0.0.4) every part of the
 * exposition uses: the counters every object carries, family headers,
 * escaped label values and exact seconds. Label values come from other
 * programs (client names, destination names): they are escaped and made
 * valid UTF-8, so one line stays one sample.
 */
#include <stdio.h>
#include <string.h>

#include "ctl_status.h"
#include "metrics.h"

#define U(x)	((unsigned long long)(x))

#define CNT(name, field, help) \
	{ name, help, offsetof(struct zcs_counters, field), 0, 0 }

const struct metrics_counter metrics_counters[] = {
	CNT("sends_total", sends, "Send requests completed."),
	CNT("sent_bytes_total", bytes, "Bytes the kernel took."),
	CNT("send_errors_total", errors, "Send requests that failed."),
	CNT("zerocopy_sends_total", zc_sends,
	    "Send requests that succeeded as zerocopy sends."),
	CNT("zerocopy_copied_sends_total", zc_copied,
	    "Zerocopy sends the kernel copied anyway."),
	CNT("completions_total", completions,
	    "Completion records written to clients, by socket or ring."),
	CNT("completion_messages_total", completion_msgs,
	    "COMPLETE messages written to socket clients."),
	CNT("datagrams_total", datagrams, "UDP datagrams sent."),
	CNT("gso_sends_total", gso_sends,
	    "Sends cut into several UDP datagrams by the kernel (UDP GSO)."),
	CNT("wakeups_total", wakeups,
	    "Times a sleeping ring client was woken for completions."),
};

const size_t metrics_ncounters =
	sizeof(metrics_counters) / sizeof(metrics_counters[0]);

#define RING(name, help, field, ns, daemon_only) \
	{ name, help, offsetof(struct zcs_ring_counters, field), ns, \
	  daemon_only }

/* A client's poll time is the daemon's since it connected: summed over
 * clients it would count the same time many times. */
const struct metrics_counter metrics_ring[] = {
	RING("ring_records_total",
	     "SEND records taken from shared-memory rings.", records, 0, 0),
	RING("ring_wakeups_in_total", "Times a ring client woke the daemon.",
	     wakeups_in, 0, 0),
	RING("ring_wakeups_out_total", "Times the daemon woke a ring client.",
	     wakeups_out, 0, 0),
	RING("ring_poll_seconds_total", "Time the daemon spent polling rings.",
	     poll_ns, 1, 1),
};

const size_t metrics_nring = sizeof(metrics_ring) / sizeof(metrics_ring[0]);

/* metrics_field - the uint64_t at @off in @base, which may be unaligned. */
uint64_t metrics_field(const void *base, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

/* metrics_family - the HELP and TYPE lines of family @prefix@name. */
void metrics_family(FILE *f, const char *prefix, const char *name,
		    const char *type, const char *help)
{
	fprintf(f, "# HELP %s%s %s\n# TYPE %s%s %s\n", prefix, name, help,
		prefix, name, type);
}

/*
 * metrics_label - one label, after a comma if @comma, its value escaped
 * as the format says (backslash, double quote, line feed). Other control
 * bytes become '?', and bytes that are not UTF-8 U+FFFD, so every line
 * parses; metrics_clean() makes the same value without the escapes.
 */
void metrics_label(FILE *f, const char *key, const char *val, int comma)
{
	const unsigned char *s = (const unsigned char *)val;
	size_t n;

	fprintf(f, "%s%s=\"", comma ? "," : "", key);
	while (*s) {
		n = ctl_utf8_seq(s);
		if (n == 0)
			fputs("\xef\xbf\xbd", f);
		else if (n > 1)
			fwrite(s, 1, n, f);
		else if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s < 0x20 || *s == 0x7f ? '?' : *s, f);
		s += n ? n : 1;
	}
	fputc('"', f);
}

/* metrics_str - a bounded copy of a fixed-size string field into @buf
 * (@size bytes): the daemon ends them with a NUL, but nothing here
 * relies on it. */
const char *metrics_str(const char *field, size_t size, char *buf)
{
	memcpy(buf, field, size);
	buf[size - 1] = '\0';
	return buf;
}

/* metrics_secs - " SECONDS\n" for @ns nanoseconds, exactly. */
void metrics_secs(FILE *f, uint64_t ns)
{
	fprintf(f, " %llu.%09llu\n", U(ns / 1000000000u),
		U(ns % 1000000000u));
}

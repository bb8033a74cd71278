# SPDX-License-Identifier: MIT
# Draw a zcsend-bench --dgram run: per row, datagrams/s and CPU s/GB on
# both sink variants (ifb0 taking GSO packets whole, and segmenting in
# software with gso_max_segs 1), from DIR/bench-dgram.json as written by
# `make bench-plot-dgram`.
# Usage: gnuplot -e "dir='build'" tests/bench/plot_dgram.gp > zcsend-bench-dgram.png
# gnuplot cannot read JSON, so python3 turns it into
# "name whole_dgrams software_dgrams whole_cpu software_cpu" lines (in the
# bench's row order; a failed row shows as 0) read through a pipe.

if (!exists("dir")) dir = "build"
file = dir . "/bench-dgram.json"
py = "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
json2cols = py . "w,s=(x[\"rows\"] for x in d[\"sinks\"]); " \
	. "[print(a[\"name\"], a[\"dgrams_s\"]/1e6, b[\"dgrams_s\"]/1e6, " \
	. "a[\"cpu_s_per_gb\"], b[\"cpu_s_per_gb\"]) for a,b in zip(w,s)]' "
json2info = py . "print(d[\"size\"], d[\"gso_segs\"], d[\"seconds\"], " \
	. "d[\"rounds\"])' "
info = system(json2info . file)
data = "< " . json2cols . file

set terminal pngcairo size 1200,600 noenhanced font "sans,9"
set output
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set xtics rotate by 30 right scale 0 nomirror
set ytics nomirror
set yrange [0:*]
set key top right
set bmargin 7
set multiplot layout 1,2 title sprintf("zcsend-bench --dgram: %s-byte datagrams (%s per GSO send), counted at the ifb sink, MTU 1500 (%s s per row x %s rounds, median)", word(info, 1), word(info, 2), word(info, 3), word(info, 4)) font "sans,12"
set title "datagrams per second (higher is better)"
set ylabel "million datagrams/s"
plot data using 2:xtic(1) title "GSO packet whole (like UDP offload)", \
	'' using 3 title "segmented in software (gso_max_segs 1)"
set title "CPU s/GB of payload, bench + daemon (lower is better)"
set ylabel "CPU s/GB"
plot data using 4:xtic(1) title "GSO packet whole (like UDP offload)", \
	'' using 5 title "segmented in software (gso_max_segs 1)"
unset multiplot

# SPDX-License-Identifier: MIT
# Draw zcsend-bench results: one panel per datagram size, one bar per row
# (MB/s, median over rounds), from DIR/bench-{65435,4096,1024}.json as
# written by `make bench-plot`.
# Usage: gnuplot -e "dir='build'" tests/bench/plot.gp > zcsend-bench.png
# gnuplot cannot read JSON, so python3 turns each file into "name mb_s"
# lines (in the bench's row order) that gnuplot reads through a pipe.

if (!exists("dir")) dir = "build"
sizes = "65435 4096 1024"
py = "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
json2cols = py . "[print(r[\"name\"], r[\"mb_s\"]) for r in d[\"rows\"]]' "
json2sink = py . "print(d[\"sink\"], d[\"seconds\"], d[\"rounds\"])' "
file(s) = dir . "/bench-" . s . ".json"
info = system(json2sink . file(word(sizes, 1)))

set terminal pngcairo size 1200,700 noenhanced font "sans,9"
set output
set style fill solid 0.85 border -1
set boxwidth 0.75
set grid ytics
set xtics rotate by 90 right scale 0 nomirror
set ytics nomirror
set yrange [0:*]
set key off
set lmargin 10
set bmargin 12
set multiplot layout 1,3 title sprintf("zcsendd benchmark: UDP payload MB/s per row (%s sink, %s s per row x %s rounds, median)", word(info, 1), word(info, 2), word(info, 3)) font "sans,12"
do for [i=1:words(sizes)] {
	set title sprintf("%s-byte datagrams", word(sizes, i))
	set ylabel (i == 1 ? "MB/s (payload bytes / wall s / 1e6)" : "")
	set xlabel "row"
	plot "< " . json2cols . file(word(sizes, i)) \
		using 0:2:($0 + 1):xtic(1) with boxes lc variable
}
unset multiplot

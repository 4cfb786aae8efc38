// Command benchsummary reads `go test -bench` output and prints, for each
// benchmark, the median of its records/s and records/cpu-s metrics, and the
// 2-core/1-core ratio.
package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

var metrics = []string{"records/s", "records/cpu-s"}

func main() {
	runs := map[string]map[string][]float64{}
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		for i := 2; i+1 < len(f); i++ {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			for _, m := range metrics {
				if f[i+1] != m {
					continue
				}
				if runs[f[0]] == nil {
					runs[f[0]] = map[string][]float64{}
					order = append(order, f[0])
				}
				runs[f[0]][m] = append(runs[f[0]][m], v)
			}
		}
	}
	med := map[string]float64{}
	for _, name := range order {
		line := fmt.Sprintf("%-34s", name)
		for _, m := range metrics {
			v := runs[name][m]
			if len(v) == 0 {
				continue
			}
			md := median(v)
			if m == "records/s" {
				med[name] = md
			}
			line += fmt.Sprintf("  median %9.0f %s", md, m)
		}
		fmt.Printf("%s  (%d runs)\n", line, len(runs[name]["records/s"]))
	}
	for _, name := range order {
		if one, ok := strings.CutSuffix(name, "-2"); ok && med[one] > 0 {
			fmt.Printf("%-34s  scaling 2 cores / 1 core: %.2fx\n", one, med[name]/med[one])
		}
	}
}

func median(v []float64) float64 {
	sort.Float64s(v)
	if len(v)%2 == 0 {
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return v[len(v)/2]
}
